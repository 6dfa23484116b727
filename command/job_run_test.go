package command

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func jobRun(ui cli.Ui) cli.Command { return &JobRunCommand{Meta: metaFor(ui)} }

func TestJobRunOutput(t *testing.T) {
	path := writeFile(t, "example.nomad.hcl", exampleHCL)
	code, out, errOut := runCmd(t, jobRun, "", "-output", "-address=http://127.0.0.1:1", path)
	if code != 0 {
		t.Fatalf("job run -output exit = %d, want 0; stderr %q", code, errOut)
	}
	var got struct{ Job *structs.Job }
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("job run -output printed %q: %v", out, err)
	}
	if got.Job == nil || got.Job.ID != jobID || got.Job.TaskGroups[0].Tasks[0].Driver != "docker" {
		t.Errorf("job run -output job = %+v, want the example job", got.Job)
	}
	if !strings.HasPrefix(out, "{\n    \"Job\": {") {
		t.Errorf("job run -output = %.40q..., want 4-space indented {\"Job\": ...}", out)
	}
}

func TestJobRun(t *testing.T) {
	path := writeFile(t, "example.nomad.hcl", exampleHCL)
	badPath := writeFile(t, "bad.nomad.hcl", "job \"x\" {\n  group \"g\" {\n    count = \n  }\n}\n")
	invalidPath := writeFile(t, "invalid.nomad.hcl", "job \"x\" {\n  type = \"nope\"\n}\n")
	badConfigPath := writeFile(t, "badconfig.nomad.hcl", strings.Replace(exampleHCL, `image = "redis:7"`, `image = 7`, 1))
	failed := testEval("complete")
	failed.FailedTGAllocs = map[string]*structs.AllocMetric{"cache": {
		NodesEvaluated: 1, NodesExhausted: 1, DimensionExhausted: map[string]int{"memory": 1}, CoalescedFailures: 2,
	}}
	failed.BlockedEval = blockID

	tests := []struct {
		name      string
		args      []string
		steps     []*structs.Evaluation
		regErr    string
		wantCode  int
		wantOut   string
		wantErr   string
		wantNoReq bool
	}{
		{
			name:     "monitor to completion",
			args:     []string{path},
			steps:    []*structs.Evaluation{testEval("pending"), testEval("complete")},
			wantCode: 0,
			wantOut: `==> <time>: Monitoring evaluation "5744eb15"
    <time>: Evaluation triggered by job "example"
    <time>: Allocation "0af996ed" created: node "f7476465", group "cache"
    <time>: Evaluation status changed: "pending" -> "complete"
==> <time>: Evaluation "5744eb15" finished with status "complete"
`,
		},
		{
			name:     "placement failure exits 2",
			args:     []string{path},
			steps:    []*structs.Evaluation{failed},
			wantCode: 2,
			wantOut: `==> <time>: Monitoring evaluation "5744eb15"
    <time>: Evaluation triggered by job "example"
    <time>: Allocation "0af996ed" created: node "f7476465", group "cache"
    <time>: Evaluation status changed: "pending" -> "complete"
==> <time>: Evaluation "5744eb15" finished with status "complete" but failed to place all allocations:
    <time>: Task Group "cache" (failed to place 3 allocations):
      * Resources exhausted on 1 nodes
      * Dimension "memory" exhausted on 1 nodes
    <time>: Evaluation "9b8a7c6d" waiting for additional capacity to place remainder
`,
		},
		{
			name:     "detach",
			args:     []string{"-detach", path},
			wantCode: 0,
			wantOut:  "Job registration successful\nEvaluation ID: " + evalID + "\n",
		},
		{
			name:     "verbose ids",
			args:     []string{"-verbose", path},
			steps:    []*structs.Evaluation{testEval("complete")},
			wantCode: 0,
			wantOut: `==> <time>: Monitoring evaluation "` + evalID + `"
    <time>: Evaluation triggered by job "example"
    <time>: Allocation "` + allocID + `" created: node "` + nodeID + `", group "cache"
    <time>: Evaluation status changed: "pending" -> "complete"
==> <time>: Evaluation "` + evalID + `" finished with status "complete"
`,
		},
		{
			name:     "server rejects",
			args:     []string{path},
			regErr:   "1 error occurred:\n\t* group \"cache\": bad",
			wantCode: 1,
			wantErr:  "Error submitting job: Unexpected response code: 500 (1 error occurred:\n\t* group \"cache\": bad)\n",
		},
		{
			name:     "check-index lost",
			args:     []string{"-check-index=3", path},
			regErr:   "Enforcing job modify index 3: job exists with conflicting job modify index: 9",
			wantCode: 1,
			wantErr:  "Enforcing job modify index 3: job exists with conflicting job modify index: 9\nJob not updated\n",
		},
		{
			name:      "syntax error names the position",
			args:      []string{badPath},
			wantCode:  1,
			wantErr:   badPath + ":3:",
			wantNoReq: true,
		},
		{
			name:      "invalid job",
			args:      []string{invalidPath},
			wantCode:  1,
			wantErr:   "Job validation errors:\n",
			wantNoReq: true,
		},
		{
			name:      "bad driver config is not sent",
			args:      []string{badConfigPath},
			wantCode:  1,
			wantErr:   `group "cache" -> task "redis": config.image: want string, got number`,
			wantNoReq: true,
		},
		{
			name:      "no file",
			args:      []string{},
			wantCode:  1,
			wantErr:   "This command takes one argument: <path>\nFor additional help try 'nomadish job run -help'\n",
			wantNoReq: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := testCluster(t)
			f.registerErr = tc.regErr
			if tc.steps != nil {
				f.evals[evalID] = testEval("pending")
				f.evalSteps[evalID] = tc.steps
			}
			code, out, errOut := runCmd(t, jobRun, "", append([]string{"-address=" + addr}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit = %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			if tc.wantOut != "" && stamps(out) != tc.wantOut {
				t.Errorf("stdout =\n%s\nwant\n%s", stamps(out), tc.wantOut)
			}
			if tc.wantErr != "" && !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr = %q, want it to contain %q", errOut, tc.wantErr)
			}
			if tc.wantNoReq && len(f.registered) != 0 {
				t.Errorf("registered %d jobs, want none", len(f.registered))
			}
		})
	}
}

func TestJobRunSendsJob(t *testing.T) {
	path := writeFile(t, "example.nomad.hcl", exampleHCL)
	f, addr := testCluster(t)
	code, _, errOut := runCmd(t, jobRun, "", "-address="+addr, "-detach", "-check-index=0", path)
	if code != 0 {
		t.Fatalf("exit = %d, want 0; stderr %q", code, errOut)
	}
	var body struct {
		Job          *structs.Job
		EnforceIndex bool
	}
	if err := json.Unmarshal([]byte(f.registered[0]), &body); err != nil {
		t.Fatal(err)
	}
	if body.Job.ID != jobID || !body.EnforceIndex {
		t.Errorf("register body = %+v, want job example with EnforceIndex", body)
	}
}

func TestJobValidate(t *testing.T) {
	valid := writeFile(t, "example.nomad.hcl", exampleHCL)
	invalid := writeFile(t, "invalid.nomad.hcl", "job \"x\" {\n  type = \"nope\"\n}\n")
	badType := writeFile(t, "type.nomad.hcl", strings.Replace(exampleHCL, `image = "redis:7"`, `image = 7`, 1))
	unknownField := writeFile(t, "field.nomad.hcl", strings.Replace(exampleHCL, `image = "redis:7"`, `image = "redis:7"
        imagee = "redis:8"`, 1))
	thirdParty := writeFile(t, "ext.nomad.hcl", strings.Replace(exampleHCL, `driver = "docker"`, `driver = "ext"`, 1))
	deprecated := writeFile(t, "old.nomad.hcl", strings.Replace(exampleHCL, "datacenters", "consul_token = \"abc\"\n  datacenters", 1))
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"valid", []string{valid}, 0, "Job validation successful\n", ""},
		{"deprecated field warns", []string{deprecated}, 0, "Job validation successful\n",
			"Warning: \"consul_token\" is deprecated: Nomad removed it from the job specification in 1.10"},
		{"invalid", []string{invalid}, 1, "", "Job validation errors:\n"},
		{"wrong config type", []string{badType}, 1, "", `group "cache" -> task "redis": config.image: want string, got number`},
		{"unknown config field", []string{unknownField}, 1, "", `group "cache" -> task "redis": config.imagee: unknown field`},
		{"driver not built in warns", []string{thirdParty}, 0, "Job validation successful\n",
			`Warning: group "cache" -> task "redis": driver "ext" is not built in`},
		{"missing file", []string{valid + ".nope"}, 1, "", "Error getting job struct"},
		{"no args", nil, 1, "", "This command takes one argument: <path>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, func(ui cli.Ui) cli.Command { return &JobValidateCommand{Meta: metaFor(ui)} }, "", tc.args...)
			if code != tc.wantCode || out != tc.wantOut || !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("job validate = %d, %q, %q, want %d, %q, containing %q", code, out, errOut, tc.wantCode, tc.wantOut, tc.wantErr)
			}
		})
	}
}
