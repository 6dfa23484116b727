//go:build e2e

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

// TestSystemGC: `system gc` removes a finished batch job, its evaluations
// and allocations at once, and keeps a running service job.
func TestSystemGC(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	dir := t.TempDir()
	write := func(name, spec string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(spec), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	batch := write("once.nomad.hcl", `job "once" {
  type = "batch"
  group "g" {
    task "t" {
      driver = "raw_exec"
      config {
        command = "/bin/true"
      }
      resources {
        cpu    = 50
        memory = 32
      }
    }
  }
}
`)
	svc := write("svc.nomad.hcl", `job "svc" {
  group "g" {
    task "t" {
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
`)
	for _, f := range []string{batch, svc} {
		if out, errOut, code := a.CLI("job", "run", "-detach", f); code != 0 {
			t.Fatalf("job run %s exit = %d\n%s\n%s", f, code, out, errOut)
		}
	}
	var allocIDs []string
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var j struct{ Status string }
		if err := a.GetJSON("/v1/job/once", &j); err != nil {
			return err
		}
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/once/allocations", &allocs); err != nil {
			return err
		}
		if j.Status != "dead" || len(allocs) != 1 || allocs[0].ClientStatus != "complete" {
			return fmt.Errorf("job once %s, allocs %+v; want dead with one complete alloc", j.Status, allocs)
		}
		allocIDs = []string{allocs[0].ID}
		var running []allocStub
		if err := a.GetJSON("/v1/job/svc/allocations", &running); err != nil {
			return err
		}
		if len(running) != 1 || running[0].ClientStatus != "running" {
			return fmt.Errorf("svc allocs %+v, want one running", running)
		}
		return nil
	})

	out, errOut, code := a.CLI("system", "gc")
	if code != 0 || out != "" {
		t.Fatalf("system gc exit = %d, stdout %q, stderr %q; want 0 and no output", code, out, errOut)
	}
	if code, _, _ := a.Get("/v1/job/once"); code != 404 {
		t.Errorf("GET /v1/job/once after system gc = %d, want 404", code)
	}
	if code, _, _ := a.Get("/v1/allocation/" + allocIDs[0]); code != 404 {
		t.Errorf("GET /v1/allocation/%s after system gc = %d, want 404", allocIDs[0], code)
	}
	status, _, code := a.CLI("job", "status", "svc")
	if code != 0 || !strings.Contains(status, "running") {
		t.Errorf("job status svc after system gc (exit %d):\n%s", code, status)
	}
}
