package command

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/mitchellh/cli"
)

func TestFmt(t *testing.T) {
	const messy = "job \"x\" {\ntype=\"batch\"\n  datacenters = [\"dc1\"]\n}\n"
	const tidy = "job \"x\" {\n  type        = \"batch\"\n  datacenters = [\"dc1\"]\n}\n"
	tests := []struct {
		name      string
		content   string
		flags     []string
		stdin     string
		wantCode  int
		wantFile  string
		wantList  bool
		wantOut   string
		wantErrIn string
	}{
		{name: "rewrites", content: messy, wantFile: tidy, wantList: true},
		{name: "already tidy", content: tidy, wantFile: tidy},
		{name: "check fails and keeps the file", content: messy, flags: []string{"-check"}, wantCode: 1, wantFile: messy, wantList: true},
		{name: "check passes", content: tidy, flags: []string{"-check"}, wantFile: tidy},
		{name: "check quiet", content: messy, flags: []string{"-check", "-list=false"}, wantCode: 1, wantFile: messy},
		{name: "syntax error", content: "job \"x\" {\n", wantCode: 1, wantFile: "job \"x\" {\n", wantErrIn: ":1,9-10: Unclosed configuration block"},
		{name: "stdin", stdin: messy, wantOut: tidy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var path string
			args := append([]string{}, tc.flags...)
			if tc.stdin == "" {
				path = writeFile(t, "job.nomad.hcl", tc.content)
				args = append(args, path)
			} else {
				args = append(args, "-")
			}
			var stdout bytes.Buffer
			code, out, errOut := runCmd(t, func(ui cli.Ui) cli.Command {
				return &FormatCommand{Meta: metaFor(ui), Stdin: strings.NewReader(tc.stdin), Stdout: &stdout}
			}, "", args...)
			if code != tc.wantCode {
				t.Errorf("exit = %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			if path != "" {
				got, _ := os.ReadFile(path)
				if string(got) != tc.wantFile {
					t.Errorf("file = %q, want %q", got, tc.wantFile)
				}
				if listed := out == path+"\n"; listed != tc.wantList {
					t.Errorf("listed = %q, want listed %v", out, tc.wantList)
				}
			}
			if stdout.String() != tc.wantOut {
				t.Errorf("stdout = %q, want %q", stdout.String(), tc.wantOut)
			}
			if !strings.Contains(errOut, tc.wantErrIn) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tc.wantErrIn)
			}
		})
	}
}
