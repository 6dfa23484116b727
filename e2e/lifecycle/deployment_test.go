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

// TestFailedDeploymentAutoReverts rolls out a version whose task exits at
// once: its first replacement never turns healthy, the deployment fails,
// and auto_revert registers the last stable version, whose allocations
// then all run.
func TestFailedDeploymentAutoReverts(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	if out, errOut, code := a.CLI("job", "run", "-detach", input("rolling.nomad.hcl")); code != 0 {
		t.Fatalf("job run exit = %d\n%s\n%s", code, out, errOut)
	}
	waitDeployment(t, a, 0, "successful")
	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "command=/bin/false", "-var", "healthy_deadline=4s", input("rolling.nomad.hcl")); code != 0 {
		t.Fatalf("job run bad version exit = %d\n%s\n%s", code, out, errOut)
	}
	var failed deploymentStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var ds []deploymentStub
		if err := a.GetJSON("/v1/job/roll/deployments", &ds); err != nil {
			return err
		}
		for _, d := range ds {
			if d.JobVersion == 1 && d.Status == "failed" {
				failed = d
				return nil
			}
		}
		return fmt.Errorf("no failed deployment of version 1 in %+v", ds)
	})
	if !strings.Contains(failed.StatusDescription, "rolling back to job version 0") {
		t.Errorf("failed deployment description = %q, want a rollback to version 0", failed.StatusDescription)
	}
	waitDeployment(t, a, 2, "successful")
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		healthy, byVersion := healthyRunning(rollAllocs(t, a))
		if byVersion[2] != 4 || healthy != 4 {
			return fmt.Errorf("running by version %v, %d healthy; want 4 healthy of version 2", byVersion, healthy)
		}
		return nil
	})
	var job struct {
		Version    uint64
		Stable     bool
		TaskGroups []struct {
			Tasks []struct{ Config map[string]interface{} }
		}
	}
	if err := a.GetJSON("/v1/job/roll", &job); err != nil {
		t.Fatal(err)
	}
	if job.Version != 2 || !job.Stable || job.TaskGroups[0].Tasks[0].Config["command"] != "/bin/sleep" {
		t.Errorf("job after revert = version %d stable %v config %v, want version 2 (version 0's spec), stable", job.Version, job.Stable, job.TaskGroups[0].Tasks[0].Config)
	}
}

// TestCanaryPromoted rolls out a version with one canary: the canary runs
// beside the four old allocations until promoted by the CLI, then the
// rollout replaces the rest.
func TestCanaryPromoted(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "canary=1", input("rolling.nomad.hcl")); code != 0 {
		t.Fatalf("job run exit = %d\n%s\n%s", code, out, errOut)
	}
	waitDeployment(t, a, 0, "successful")
	if out, errOut, code := a.CLI("job", "run", "-detach", "-var", "canary=1", "-var", "sleep=301", input("rolling.nomad.hcl")); code != 0 {
		t.Fatalf("job run v1 exit = %d\n%s\n%s", code, out, errOut)
	}
	var d deploymentStub
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		d = latestDeployment(t, a)
		if d.JobVersion != 1 || d.StatusDescription != "Deployment is running but requires manual promotion" {
			return fmt.Errorf("deployment = %+v, want version 1 waiting for promotion", d)
		}
		return nil
	})
	healthy, byVersion := healthyRunning(rollAllocs(t, a))
	if byVersion[0] != 4 || byVersion[1] != 1 || healthy != 5 {
		t.Fatalf("before promotion: running by version %v, %d healthy; want 4 old and 1 canary, all healthy", byVersion, healthy)
	}
	if out, errOut, code := a.CLI("deployment", "promote", d.ID[:8]); code != 0 || !strings.Contains(out, "promoted") {
		t.Fatalf("deployment promote exit = %d\n%s\n%s", code, out, errOut)
	}
	waitDeployment(t, a, 1, "successful")
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		healthy, byVersion := healthyRunning(rollAllocs(t, a))
		if byVersion[1] != 4 || byVersion[0] != 0 || healthy != 4 {
			return fmt.Errorf("running by version %v, %d healthy; want 4 healthy of version 1", byVersion, healthy)
		}
		return nil
	})
}
