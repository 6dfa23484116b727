package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mitchellh/cli"
)

func TestJobStatusJSONAndTemplate(t *testing.T) {
	_, addr := testCluster(t)
	code, out, errOut := runCmd(t, jobStatus, "", "-address="+addr, "-json", jobID)
	if code != 0 {
		t.Fatalf("job status -json exit = %d, stderr %q", code, errOut)
	}
	var job struct{ ID string }
	if err := json.Unmarshal([]byte(out), &job); err != nil || job.ID != jobID {
		t.Errorf("job status -json = %q (%v), want the job as JSON", out, err)
	}
	code, out, _ = runCmd(t, jobStatus, "", "-address="+addr, "-t", "{{ .ID }}:{{ .Type }}", jobID)
	if code != 0 || strings.TrimSpace(out) != jobID+":service" {
		t.Errorf("job status -t = %d %q, want %q", code, out, jobID+":service")
	}
	code, out, _ = runCmd(t, jobStatus, "", "-address="+addr, "-json")
	var list []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &list); code != 0 || err != nil || len(list) == 0 {
		t.Errorf("job status -json (list) = %d %q (%v)", code, out, err)
	}
}

func TestJobHistoryJSONAndTemplate(t *testing.T) {
	jobHistory := func(ui cli.Ui) cli.Command { return &JobHistoryCommand{Meta: metaFor(ui)} }
	_, addr := testCluster(t)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"template over the versions", []string{"-t", "{{range .}}v{{.Version}} {{.ID}}{{end}}", jobID}, 0, "v0 example\n"},
		{"template over one version", []string{"-version", "0", "-t", "{{.Version}}:{{.Type}}", jobID}, 0, "0:service\n"},
		{"missing version", []string{"-version", "7", "-json", jobID}, 1, ""},
		{"bad template", []string{"-t", "{{.Nope", jobID}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, jobHistory, "", append([]string{"-address=" + addr}, tc.args...)...)
			if code != tc.code || out != tc.want {
				t.Errorf("job history %v = %d %q (stderr %q), want %d %q", tc.args, code, out, errOut, tc.code, tc.want)
			}
		})
	}
	code, out, _ := runCmd(t, jobHistory, "", "-address="+addr, "-json", jobID)
	var versions []struct{ ID string }
	if err := json.Unmarshal([]byte(out), &versions); code != 0 || err != nil || len(versions) != 1 || versions[0].ID != jobID {
		t.Errorf("job history -json = %d %q (%v), want the one version as a JSON list", code, out, err)
	}
}

// nomadOutputCommands are the commands whose Nomad counterparts document
// -json and -t.
var nomadOutputCommands = []string{
	"alloc status", "deployment list", "deployment status", "eval list", "eval status",
	"job history", "job inspect", "job status", "node status", "operator scheduler get-config",
	"server members", "service info", "service list",
}

func TestOutputFlagsOnNomadCommands(t *testing.T) {
	all := Commands(cli.NewMockUi(), nil)
	for _, name := range nomadOutputCommands {
		t.Run(name, func(t *testing.T) {
			factory, ok := all[name]
			if !ok {
				t.Fatalf("no command %q", name)
			}
			c, err := factory()
			if err != nil {
				t.Fatal(err)
			}
			help := c.Help()
			if !strings.Contains(help, "\n  -json\n") || !strings.Contains(help, "\n  -t <template>\n") {
				t.Errorf("%s -help does not document -json and -t <template>", name)
			}
			// The flags parse; the command then fails only on the agent
			// it cannot reach or the argument it lacks.
			code, _, errOut := runCmd(t, func(ui cli.Ui) cli.Command {
				c, _ := Commands(ui, nil)[name]()
				return c
			}, "", "-address=http://127.0.0.1:1", "-json", "-t", "{{.}}")
			if code == 0 || strings.Contains(errOut, "flag provided but not defined") {
				t.Errorf("%s -json -t = %d %q, want the flags accepted", name, code, errOut)
			}
		})
	}
}
