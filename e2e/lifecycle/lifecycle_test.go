//go:build e2e

// Package lifecycle tests periodic and parameterized jobs, scaling and
// versions against a real dev agent running raw_exec tasks.
package lifecycle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

func input(name string) string { return filepath.Join("input", name) }

type jobStub struct {
	ID       string
	ParentID string
	Status   string
}

type allocStub struct {
	ID           string
	ClientStatus string
}

func children(t *testing.T, a *e2eutil.Agent, prefix string) []jobStub {
	t.Helper()
	var jobs []jobStub
	if err := a.GetJSON("/v1/jobs?prefix="+prefix, &jobs); err != nil {
		t.Fatalf("list jobs: %v", err)
	}
	return jobs
}

func TestPeriodicFiresOnSchedule(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	out, errOut, code := a.CLI("job", "run", input("periodic.nomad.hcl"))
	if code != 0 {
		t.Fatalf("job run periodic exit = %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	// At least two children launched on schedule, and both ran to completion.
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		done := 0
		for _, c := range children(t, a, "tick/periodic-") {
			if c.ParentID != "tick" {
				return fmt.Errorf("child %s has parent %q", c.ID, c.ParentID)
			}
			if c.Status == "dead" {
				done++
			}
		}
		if done < 2 {
			return fmt.Errorf("%d finished periodic children, want at least 2", done)
		}
		return nil
	})
	status, _, code := a.CLI("job", "status", "tick")
	if code != 0 || !strings.Contains(status, "Previously Launched Jobs") || !strings.Contains(status, "tick/periodic-") {
		t.Errorf("job status tick (exit %d) does not list the children:\n%s", code, status)
	}
	out, errOut, code = a.CLI("job", "periodic", "force", "-detach", "tick")
	if code != 0 || !strings.Contains(out, "Evaluation ID") {
		t.Errorf("job periodic force exit = %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
}

func TestDispatchWithPayload(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	out, errOut, code := a.CLI("job", "run", input("dispatch.nomad.hcl"))
	if code != 0 {
		t.Fatalf("job run dispatch exit = %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	payload := filepath.Join(t.TempDir(), "payload.txt")
	if err := os.WriteFile(payload, []byte("hello payload"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = a.CLI("job", "dispatch", "-detach", "greet", payload)
	if code == 0 || !strings.Contains(errOut, "greeting") {
		t.Errorf("dispatch without required meta: exit %d, stderr %q; want a failure naming the key", code, errOut)
	}
	out, errOut, code = a.CLI("job", "dispatch", "-detach", "-meta", "greeting=hi", "greet", payload)
	if code != 0 {
		t.Fatalf("job dispatch exit = %d\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	var childID string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Dispatched Job ID = "); ok {
			childID = strings.TrimSpace(v)
		}
	}
	if !strings.HasPrefix(childID, "greet/dispatch-") {
		t.Fatalf("dispatched job ID = %q, want greet/dispatch-...\n%s", childID, out)
	}
	var alloc allocStub
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/"+strings.ReplaceAll(childID, "/", "%2F")+"/allocations", &allocs); err != nil {
			return err
		}
		if len(allocs) != 1 || allocs[0].ClientStatus != "complete" {
			return fmt.Errorf("allocations of %s = %+v, want one complete", childID, allocs)
		}
		alloc = allocs[0]
		return nil
	})
	code, body, err := a.Get("/v1/client/fs/logs/" + alloc.ID + "?task=greet&type=stdout&plain=true")
	if err != nil || code != 200 {
		t.Fatalf("logs: %d %v", code, err)
	}
	if !strings.Contains(body, "hello payload") || !strings.Contains(body, "meta=hi") {
		t.Errorf("task output = %q, want the payload and the meta value", body)
	}
	status, _, _ := a.CLI("job", "status", "greet")
	if !strings.Contains(status, childID) {
		t.Errorf("job status greet does not list %s:\n%s", childID, status)
	}
}

func TestScaleHistoryRevert(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	job := filepath.Join(t.TempDir(), "svc.nomad.hcl")
	spec := `job "svc" {
  group "web" {
    count = 1
    scaling {
      enabled = true
      min     = 1
      max     = 3
    }
    task "web" {
      driver = "raw_exec"
      config {
        command = "/bin/sleep"
        args    = ["300"]
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`
	if err := os.WriteFile(job, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := a.CLI("job", "run", "-detach", job); code != 0 {
		t.Fatalf("job run exit = %d\n%s\n%s", code, out, errOut)
	}
	if out, errOut, code := a.CLI("job", "scale", "-detach", "svc", "web", "3"); code != 0 {
		t.Fatalf("job scale exit = %d\n%s\n%s", code, out, errOut)
	}
	if _, errOut, code := a.CLI("job", "scale", "-detach", "svc", "4"); code == 0 || !strings.Contains(errOut, "maximum") {
		t.Errorf("scale above max: exit %d stderr %q, want the policy maximum named", code, errOut)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/svc/allocations", &allocs); err != nil {
			return err
		}
		running := 0
		for _, al := range allocs {
			if al.ClientStatus == "running" {
				running++
			}
		}
		if running != 3 {
			return fmt.Errorf("%d running, want 3", running)
		}
		return nil
	})
	out, _, code := a.CLI("job", "history", "-p", "svc")
	if code != 0 || !strings.Contains(out, "Version     = 1") || !strings.Contains(out, `Count: "1" => "3"`) {
		t.Errorf("job history -p (exit %d) lacks version 1 and the count change:\n%s", code, out)
	}
	if out, errOut, code := a.CLI("job", "revert", "-detach", "svc", "0"); code != 0 {
		t.Fatalf("job revert exit = %d\n%s\n%s", code, out, errOut)
	}
	var j struct {
		Version    uint64
		TaskGroups []struct{ Count int }
	}
	if err := a.GetJSON("/v1/job/svc", &j); err != nil {
		t.Fatal(err)
	}
	if j.Version != 2 || j.TaskGroups[0].Count != 1 {
		t.Errorf("after revert: version %d count %d, want 2 and 1", j.Version, j.TaskGroups[0].Count)
	}

	// Plan: the same file changes nothing (exit 0); a new count creates
	// allocations (exit 1) and names the index for -check-index.
	out, errOut, code := a.CLI("job", "plan", job)
	if code != 0 || !strings.Contains(out, "Job Modify Index:") {
		t.Errorf("job plan (unchanged) exit = %d, want 0\n%s\n%s", code, out, errOut)
	}
	bigger := filepath.Join(t.TempDir(), "svc2.nomad.hcl")
	if err := os.WriteFile(bigger, []byte(strings.Replace(spec, "count = 1", "count = 2", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = a.CLI("job", "plan", bigger)
	if code != 1 || !strings.Contains(out, `+/- Count: "1" => "2"`) || !strings.Contains(out, "1 create") {
		t.Errorf("job plan (count 2) exit = %d, want 1 with the count diff and one create\n%s\n%s", code, out, errOut)
	}
	var index string
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, "Job Modify Index: "); ok {
			index = strings.TrimSpace(v)
		}
	}
	if _, errOut, code := a.CLI("job", "run", "-detach", "-check-index", "1", bigger); code == 0 {
		t.Errorf("job run -check-index with a stale index succeeded; stderr %q", errOut)
	}
	if out, errOut, code := a.CLI("job", "run", "-detach", "-check-index", index, bigger); code != 0 {
		t.Errorf("job run -check-index %s exit = %d\n%s\n%s", index, code, out, errOut)
	}
}

func errorf(format string, args ...interface{}) error { return fmt.Errorf(format, args...) }
