//go:build e2e

package lifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type deploymentStub struct {
	ID                string
	JobVersion        uint64
	Status            string
	StatusDescription string
}

type healthStub struct {
	ID               string
	ClientStatus     string
	DesiredStatus    string
	JobVersion       uint64
	DeploymentStatus *struct{ Healthy *bool }
}

func rollAllocs(t *testing.T, a *e2eutil.Agent) []healthStub {
	t.Helper()
	var allocs []healthStub
	if err := a.GetJSON("/v1/job/roll/allocations", &allocs); err != nil {
		t.Fatalf("allocations: %v", err)
	}
	return allocs
}

// healthyRunning counts allocations that run and were judged healthy.
func healthyRunning(allocs []healthStub) (healthy int, byVersion map[uint64]int) {
	byVersion = map[uint64]int{}
	for _, al := range allocs {
		if al.ClientStatus != "running" || al.DesiredStatus != "run" {
			continue
		}
		byVersion[al.JobVersion]++
		if al.DeploymentStatus != nil && al.DeploymentStatus.Healthy != nil && *al.DeploymentStatus.Healthy {
			healthy++
		}
	}
	return healthy, byVersion
}

func latestDeployment(t *testing.T, a *e2eutil.Agent) deploymentStub {
	t.Helper()
	var d deploymentStub
	if err := a.GetJSON("/v1/job/roll/deployment", &d); err != nil {
		t.Fatalf("latest deployment: %v", err)
	}
	return d
}

func waitDeployment(t *testing.T, a *e2eutil.Agent, version uint64, status string) deploymentStub {
	t.Helper()
	var d deploymentStub
	e2eutil.WaitFor(t, 90*time.Second, func() error {
		d = latestDeployment(t, a)
		if d.JobVersion != version || d.Status != status {
			return fmt.Errorf("latest deployment = %+v, want version %d %s", d, version, status)
		}
		return nil
	})
	return d
}

// TestRollingUpdateKeepsCapacity updates a 4-allocation service with
// max_parallel 1: at every moment at least 3 allocations run healthy,
// and at the end all 4 run the new version.
func TestRollingUpdateKeepsCapacity(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	if out, errOut, code := a.CLI("job", "run", "-detach", input("rolling.nomad.hcl")); code != 0 {
		t.Fatalf("job run exit = %d\n%s\n%s", code, out, errOut)
	}
	d0 := waitDeployment(t, a, 0, "successful")

	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "sleep=301", input("rolling.nomad.hcl")); code != 0 {
		t.Fatalf("job run v1 exit = %d\n%s\n%s", code, out, errOut)
	}
	deadline := time.Now().Add(90 * time.Second)
	maxNew := 0
	for {
		allocs := rollAllocs(t, a)
		healthy, byVersion := healthyRunning(allocs)
		if healthy < 3 {
			t.Fatalf("%d healthy running allocations, want at least 3 (count 4, max_parallel 1): %+v", healthy, allocs)
		}
		if n := len(allocs) - 4; n > maxNew {
			maxNew = n
		}
		d := latestDeployment(t, a)
		if d.JobVersion == 1 && d.Status == "successful" && byVersion[1] == 4 && healthy == 4 {
			break
		}
		if d.Status == "failed" {
			t.Fatalf("deployment failed: %+v", d)
		}
		if time.Now().After(deadline) {
			t.Fatalf("rollout did not finish: deployment %+v, running by version %v", d, byVersion)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if maxNew != 4 {
		t.Errorf("replaced %d allocations, want 4", maxNew)
	}

	out, _, code := a.CLI("deployment", "list")
	if code != 0 || !strings.Contains(out, "successful") || !strings.Contains(out, d0.ID[:8]) {
		t.Errorf("deployment list (exit %d):\n%s", code, out)
	}
	d1 := latestDeployment(t, a)
	out, _, code = a.CLI("deployment", "status", d1.ID[:8])
	if code != 0 || !strings.Contains(out, "Deployment completed successfully") || !strings.Contains(out, "web         4        4       4") {
		t.Errorf("deployment status (exit %d):\n%s", code, out)
	}
	hist, _, _ := a.CLI("job", "history", "roll")
	if !strings.Contains(hist, "Stable      = true") {
		t.Errorf("job history shows no stable version:\n%s", hist)
	}
}
