package command

import (
	"strings"
	"testing"

	"github.com/mitchellh/cli"
)

func jobStop(ui cli.Ui) cli.Command { return &JobStopCommand{Meta: metaFor(ui)} }

func TestJobStop(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		input       string
		noEval      bool
		wantCode    int
		wantOut     string
		wantErr     string
		wantDeletes []string
	}{
		{
			name:        "monitor",
			args:        []string{"example"},
			wantOut:     "==> <time>: Monitoring evaluation \"5744eb15\"\n",
			wantDeletes: []string{"/v1/job/example?"},
		},
		{
			name:        "detach and purge",
			args:        []string{"-detach", "-purge", "example"},
			wantOut:     evalID + "\n",
			wantDeletes: []string{"/v1/job/example?purge=true"},
		},
		{
			name:        "prefix asks, no",
			args:        []string{"exa"},
			input:       "n\n",
			wantOut:     "Are you sure you want to stop job \"example\"? [y/N]Cancelling job stop\n",
			wantDeletes: nil,
		},
		{
			name:        "prefix asks, yes",
			args:        []string{"-detach", "exa"},
			input:       "y\n",
			wantOut:     "Are you sure you want to stop job \"example\"? [y/N]" + evalID + "\n",
			wantDeletes: []string{"/v1/job/example?"},
		},
		{
			name:        "prefix with -yes",
			args:        []string{"-detach", "-yes", "exa"},
			wantOut:     evalID + "\n",
			wantDeletes: []string{"/v1/job/example?"},
		},
		{
			name:        "no evaluation",
			args:        []string{"example"},
			noEval:      true,
			wantDeletes: []string{"/v1/job/example?"},
		},
		{
			name:     "missing job",
			args:     []string{"nope"},
			wantCode: 1,
			wantErr:  "No job(s) with prefix or id \"nope\" found\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := testCluster(t)
			if tc.noEval {
				f.deregisterResp = map[string]any{"EvalID": ""}
			}
			code, out, errOut := runCmd(t, jobStop, tc.input, append([]string{"-address=" + addr}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit = %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			if got := stamps(out); !strings.HasPrefix(got, tc.wantOut) || (tc.wantOut == "" && got != "") {
				t.Errorf("stdout =\n%s\nwant prefix\n%s", got, tc.wantOut)
			}
			if errOut != tc.wantErr {
				t.Errorf("stderr = %q, want %q", errOut, tc.wantErr)
			}
			if strings.Join(f.deleted, " ") != strings.Join(tc.wantDeletes, " ") {
				t.Errorf("deletes = %q, want %q", f.deleted, tc.wantDeletes)
			}
		})
	}
}
