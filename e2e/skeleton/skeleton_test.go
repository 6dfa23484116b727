//go:build e2e

package skeleton

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

func jobspec(name string) string {
	return filepath.Join("..", "..", "jobspecs", name)
}

type allocStub struct {
	ID            string
	ClientStatus  string
	DesiredStatus string
	TaskGroup     string
}

func jobAllocs(t *testing.T, a *e2eutil.Agent, job string) []allocStub {
	t.Helper()
	var out []allocStub
	if err := a.GetJSON("/v1/job/"+job+"/allocations", &out); err != nil {
		t.Fatalf("list allocations of %s: %v", job, err)
	}
	return out
}

// TestWalkingSkeleton runs both example jobs through a real dev agent, end
// to end: CLI → HTTP → Raft → scheduler → plan applier → client → raw_exec
// plugin process → task, and back.
func TestWalkingSkeleton(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")

	// hello: a batch job that prints a line and completes.
	out, errOut, code := a.CLI("job", "run", jobspec("hello.nomad.hcl"))
	if code != 0 {
		t.Fatalf("job run hello exit = %d, want 0\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if !strings.Contains(out, "Monitoring evaluation") || !strings.Contains(out, "Allocation") {
		t.Errorf("job run hello output lacks the evaluation monitor:\n%s", out)
	}
	var hello allocStub
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		allocs := jobAllocs(t, a, "hello")
		if len(allocs) != 1 || allocs[0].ClientStatus != "complete" {
			return fmt.Errorf("hello allocations = %+v, want one complete", allocs)
		}
		hello = allocs[0]
		return nil
	})
	code, body, err := a.Get("/v1/client/fs/logs/" + hello.ID + "?task=hello&type=stdout&plain=true")
	if err != nil || code != 200 || !strings.Contains(body, "hello from nomadish") {
		t.Errorf("logs over the API = %d %q (%v), want 200 with the task's line", code, body, err)
	}
	out, errOut, code = a.CLI("alloc", "logs", hello.ID[:8], "hello")
	if code != 0 || !strings.Contains(out, "hello from nomadish") {
		t.Errorf("alloc logs = %d %q %q, want the task's line", code, out, errOut)
	}
	out, _, code = a.CLI("job", "status", "hello")
	if code != 0 || !strings.Contains(out, "hello") || !strings.Contains(out, "complete") {
		t.Errorf("job status hello = %d:\n%s", code, out)
	}
	if _, _, code = a.CLI("alloc", "status", hello.ID[:8]); code != 0 {
		t.Errorf("alloc status exit = %d, want 0", code)
	}
	if out, _, code = a.CLI("node", "status"); code != 0 || !strings.Contains(out, "ready") {
		t.Errorf("node status = %d:\n%s", code, out)
	}
	if out, _, code = a.CLI("status"); code != 0 || !strings.Contains(out, "hello") {
		t.Errorf("status = %d:\n%s", code, out)
	}

	// isolated: the same path through the exec driver (namespaces, chroot,
	// cgroups): the task lists its own task dir, /local inside the chroot.
	if out, errOut, code = a.CLI("job", "run", jobspec("exec.nomad.hcl")); code != 0 {
		t.Fatalf("job run exec exit = %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var isolated allocStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		allocs := jobAllocs(t, a, "isolated")
		if len(allocs) != 1 || allocs[0].ClientStatus != "complete" {
			return fmt.Errorf("isolated allocations = %+v, want one complete", allocs)
		}
		isolated = allocs[0]
		return nil
	})
	code, body, err = a.Get("/v1/client/fs/logs/" + isolated.ID + "?task=ls&type=stdout&plain=true")
	if err != nil || code != 200 || !strings.Contains(body, "total") {
		t.Errorf("exec task output = %d %q (%v), want a directory listing", code, body, err)
	}

	// web: a service job with three allocations that keep running.
	if out, errOut, code = a.CLI("job", "run", jobspec("web.nomad.hcl")); code != 0 {
		t.Fatalf("job run web exit = %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var web []allocStub
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		web = jobAllocs(t, a, "web")
		running := 0
		for _, al := range web {
			if al.ClientStatus == "running" {
				running++
			}
		}
		if running != 3 {
			return fmt.Errorf("web allocations = %+v, want 3 running", web)
		}
		return nil
	})
	for _, al := range web {
		if pids := e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + al.ID); len(pids) == 0 {
			t.Errorf("no task process found for web allocation %s", al.ID)
		}
	}

	// Stop web: its allocations stop and their processes go away.
	if out, errOut, code = a.CLI("job", "stop", "web"); code != 0 {
		t.Fatalf("job stop web exit = %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		for _, al := range jobAllocs(t, a, "web") {
			if al.ClientStatus == "running" || al.ClientStatus == "pending" {
				return fmt.Errorf("allocation %s still %s", al.ID, al.ClientStatus)
			}
			if pids := e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + al.ID); len(pids) > 0 {
				return fmt.Errorf("allocation %s still has processes %v", al.ID, pids)
			}
		}
		return nil
	})

	// Run web again and shut the agent down: it must exit cleanly and
	// leave no task process behind (dev mode stops its tasks).
	if _, errOut, code = a.CLI("job", "run", "-detach", jobspec("web.nomad.hcl")); code != 0 {
		t.Fatalf("job run -detach web exit = %d: %s", code, errOut)
	}
	var again []allocStub
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		again = nil
		for _, al := range jobAllocs(t, a, "web") {
			if al.ClientStatus == "running" && al.DesiredStatus == "run" {
				again = append(again, al)
			}
		}
		if len(again) != 3 {
			return fmt.Errorf("%d web allocations running, want 3", len(again))
		}
		return nil
	})
	if !a.Stop(30 * time.Second) {
		t.Fatalf("agent did not exit cleanly on SIGTERM\n%s", a.Output())
	}
	for _, al := range again {
		if pids := e2eutil.ProcessesWithEnv("NOMAD_ALLOC_ID=" + al.ID); len(pids) > 0 {
			t.Errorf("allocation %s left processes %v after shutdown", al.ID, pids)
		}
	}
}

// TestBadInput checks that malformed job files and request bodies get
// clear errors and leave the agent running.
func TestBadInput(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.nomad.hcl")
	if err := os.WriteFile(bad, []byte("job \"x\" {\n  group \"g\" {\n    task \"t\" {\n      driver = \n    }\n  }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := a.CLI("job", "run", bad)
	if code == 0 {
		t.Errorf("job run of a malformed file exit = 0, want non-zero")
	}
	if !regexp.MustCompile(regexp.QuoteMeta(bad)+`:\d+,\d+`).MatchString(errOut) && !regexp.MustCompile(regexp.QuoteMeta(bad)+`:\d+:\d+`).MatchString(errOut) {
		t.Errorf("job run error = %q, want it to name %s:line:col", errOut, bad)
	}

	cases := []struct {
		name, body string
		want       int
		contains   string
	}{
		{"not json", `{"Job": `, 400, ""},
		{"wrong type", `{"Job": {"ID": "x", "TaskGroups": [{"Name": "g", "Count": "three"}]}}`, 400, "Count"},
		{"no job", `{}`, 400, "Job"},
		{"invalid job", `{"Job": {"ID": "x", "Type": "nonsense"}}`, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body, err := a.Do("PUT", "/v1/jobs", tc.body)
			if err != nil {
				t.Fatalf("PUT /v1/jobs: %v", err)
			}
			if code != tc.want || !strings.Contains(body, tc.contains) {
				t.Errorf("PUT /v1/jobs %s = %d %q, want %d containing %q", tc.name, code, body, tc.want, tc.contains)
			}
		})
	}
	var jobs []map[string]interface{}
	if err := a.GetJSON("/v1/jobs", &jobs); err != nil {
		t.Fatalf("agent not answering after bad input: %v", err)
	}
	if len(jobs) != 0 {
		t.Errorf("jobs after bad input = %v, want none", jobs)
	}
}
