package command

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestJobRunTemplates(t *testing.T) {
	periodic := writeFile(t, "periodic.nomad.hcl", `job "report" {
  type = "batch"
  periodic {
    crons = ["*/15 * * * *"]
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`)
	param := writeFile(t, "param.nomad.hcl", `job "render" {
  type = "batch"
  parameterized {
    payload = "required"
  }
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
    }
  }
}
`)
	tests := []struct {
		name       string
		file       string
		wantPrefix string
	}{
		{"periodic is not monitored", periodic, "Job registration successful\nApproximate next launch time: "},
		{"parameterized is not monitored", param, "Job registration successful\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := testCluster(t)
			code, out, errOut := runCmd(t, jobRun, "", "-address="+addr, tc.file)
			if code != 0 || !strings.HasPrefix(out, tc.wantPrefix) || strings.Contains(out, "Monitoring") {
				t.Errorf("job run = %d, %q, %q, want 0 and %q without monitoring", code, out, errOut, tc.wantPrefix)
			}
		})
	}
}

func TestNextLaunch(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name string
		p    *structs.PeriodicConfig
		want string
	}{
		{"every 15 minutes", &structs.PeriodicConfig{Enabled: true, Spec: "*/15 * * * *", SpecType: "cron"},
			"Approximate next launch time: 2026-01-02T03:15:00Z (10m55s from now)"},
		{"earliest of several", &structs.PeriodicConfig{Enabled: true, Specs: []string{"0 4 * * *", "30 3 * * *"}},
			"Approximate next launch time: 2026-01-02T03:30:00Z (25m55s from now)"},
		{"time zone", &structs.PeriodicConfig{Enabled: true, Spec: "0 9 * * *", TimeZone: "Europe/Paris"},
			"Approximate next launch time: 2026-01-02T09:00:00+01:00 (4h55m from now)"},
		{"bad spec", &structs.PeriodicConfig{Enabled: true, Spec: "nope"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextLaunch(tc.p, now); got != tc.want {
				t.Errorf("nextLaunch() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestJobStatusTemplates(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(j *structs.Job)
		child   *structs.Job
		wantIn  []string
		wantOut []string
	}{
		{
			name: "periodic",
			mutate: func(j *structs.Job) {
				j.Type = "batch"
				j.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "*/5 * * * *", SpecType: "cron"}
			},
			child:   &structs.Job{ID: "example/periodic-1767323045", ParentID: "example", Type: "batch", Status: "dead"},
			wantIn:  []string{"Periodic             = true\n", "Next Periodic Launch = 2026-01-02T03:05:00Z (55s from now)\n", "\nPreviously Launched Jobs\nID                           Status\nexample/periodic-1767323045  dead\n"},
			wantOut: []string{"\nSummary\n", "\nAllocations\n"},
		},
		{
			name: "parameterized",
			mutate: func(j *structs.Job) {
				j.Type = "batch"
				j.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"a", "b"}}
			},
			wantIn: []string{"Parameterized = true\n", "\nParameterized Job\nPayload           = required\nRequired Metadata = a, b\nOptional Metadata =\n",
				"\nNo dispatched instances of parameterized job found\n"},
			wantOut: []string{"\nAllocations\n"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, addr := testCluster(t)
			tc.mutate(f.jobs[jobID])
			f.summaries[jobID].Children = &structs.JobChildrenSummary{Dead: 1}
			if tc.child != nil {
				f.jobs[tc.child.ID] = tc.child
			}
			code, out, errOut := runCmd(t, jobStatus, "", "-address="+addr, jobID)
			if code != 0 {
				t.Fatalf("exit = %d, stderr %q", code, errOut)
			}
			for _, w := range tc.wantIn {
				if !strings.Contains(out, w) {
					t.Errorf("job status output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.wantOut {
				if strings.Contains(out, w) {
					t.Errorf("job status output has %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestJobSummaryUnknownColumn(t *testing.T) {
	s := &structs.JobSummary{Summary: map[string]structs.TaskGroupSummary{
		"b": {Running: 2, Unknown: 1},
		"a": {Queued: 1},
	}}
	want := "Task Group  Queued  Starting  Running  Failed  Complete  Lost  Unknown\n" +
		"a           1       0         0        0       0         0     0\n" +
		"b           0       0         2        0       0         0     1"
	if got := formatJobSummary(s); got != want {
		t.Errorf("formatJobSummary() =\n%s\nwant\n%s", got, want)
	}
}

func TestJobInspect(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		check    func(t *testing.T, out string)
	}{
		{"json", []string{"exam"}, 0, func(t *testing.T, out string) {
			var got struct{ Job *structs.Job }
			if err := json.Unmarshal([]byte(out), &got); err != nil || got.Job.ID != jobID {
				t.Errorf("output %q (%v), want {\"Job\": example}", out, err)
			}
		}},
		{"template", []string{"-t", "{{.ID}} v{{.Version}}", jobID}, 0, func(t *testing.T, out string) {
			if out != "example v0\n" {
				t.Errorf("output = %q, want %q", out, "example v0\n")
			}
		}},
		{"bad template", []string{"-t", "{{.Nope", jobID}, 1, func(t *testing.T, out string) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, addr := testCluster(t)
			code, out, errOut := runCmd(t, func(ui cli.Ui) cli.Command { return &JobInspectCommand{Meta: metaFor(ui)} }, "",
				append([]string{"-address=" + addr}, tc.args...)...)
			if code != tc.wantCode {
				t.Errorf("exit = %d, want %d; stderr %q", code, tc.wantCode, errOut)
			}
			tc.check(t, out)
		})
	}
}

func TestEvalStatusMonitor(t *testing.T) {
	f, addr := testCluster(t)
	f.evals[evalID] = testEval("pending")
	next := testEval("complete")
	next.ID = blockID
	done := testEval("complete")
	done.NextEval = blockID
	f.evalSteps[evalID] = []*structs.Evaluation{done}
	f.evals[blockID] = next
	code, out, errOut := runCmd(t, evalStatus, "", "-address="+addr, "-monitor", "5744")
	want := `==> <time>: Monitoring evaluation "5744eb15"
    <time>: Evaluation triggered by job "example"
    <time>: Allocation "0af996ed" created: node "f7476465", group "cache"
    <time>: Evaluation status changed: "pending" -> "complete"
==> <time>: Evaluation "5744eb15" finished with status "complete"
==> <time>: Monitoring evaluation "9b8a7c6d"
    <time>: Evaluation triggered by job "example"
    <time>: Evaluation status changed: "pending" -> "complete"
==> <time>: Evaluation "9b8a7c6d" finished with status "complete"
`
	if code != 0 || stamps(out) != want {
		t.Errorf("eval status -monitor = %d, stderr %q, stdout\n%s\nwant\n%s", code, errOut, stamps(out), want)
	}
}
