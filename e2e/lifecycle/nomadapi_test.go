//go:build e2e

package lifecycle

import (
	"testing"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

// TestLifecycleWithNomadAPI drives the lifecycle endpoints with Nomad's own
// Go API client, so their JSON is checked against a client nomadish did
// not write.
func TestLifecycleWithNomadAPI(t *testing.T) {
	a := e2eutil.StartDevAgent(t, "")
	conf := nomad.DefaultConfig()
	conf.Address = a.Addr
	c, err := nomad.NewClient(conf)
	if err != nil {
		t.Fatal(err)
	}
	// Jobs are registered with the nomadish CLI: Nomad's client sends job
	// fields newer than nomadish's job decoder knows (LogConfig.Enabled,
	// Secrets), which are not under test here.
	run := func(file string) {
		t.Helper()
		if out, errOut, code := a.CLI("job", "run", "-detach", input(file)); code != 0 {
			t.Fatalf("job run %s exit = %d\n%s\n%s", file, code, out, errOut)
		}
	}

	// Parameterized: dispatch with meta and payload.
	run("dispatch.nomad.hcl")
	d, _, err := c.Jobs().Dispatch("greet", map[string]string{"greeting": "hi"}, []byte("payload"), "", nil)
	if err != nil || d.DispatchedJobID == "" || d.EvalID == "" {
		t.Fatalf("Dispatch = %+v, %v", d, err)
	}
	child, _, err := c.Jobs().Info(d.DispatchedJobID, nil)
	if err != nil || *child.ParentID != "greet" || string(child.Payload) != "payload" {
		t.Fatalf("Info(dispatched) = %+v, %v", child, err)
	}

	// Periodic: force a launch.
	run("periodic.nomad.hcl")
	evalID, _, err := c.Jobs().PeriodicForce("tick", nil)
	if err != nil || evalID == "" {
		t.Fatalf("PeriodicForce = %q, %v", evalID, err)
	}

	// Service: scale, versions with diffs, deployments, revert.
	run("rolling.nomad.hcl")
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		dep, _, err := c.Jobs().LatestDeployment("roll", nil)
		if err != nil {
			return err
		}
		if dep == nil || dep.Status != "successful" {
			return errorf("latest deployment = %+v", dep)
		}
		return nil
	})
	five := 5
	if _, _, err := c.Jobs().Scale("roll", "web", &five, "more", false, nil, nil); err != nil {
		t.Fatalf("Scale: %v", err)
	}
	versions, diffs, _, err := c.Jobs().Versions("roll", true, nil)
	if err != nil || len(versions) != 2 || len(diffs) != 1 || diffs[0].TaskGroups[0].Fields[0].Name != "Count" {
		t.Fatalf("Versions = %d versions, %+v diffs, %v; want 2 and a count diff", len(versions), diffs, err)
	}
	deps, _, err := c.Deployments().List(nil)
	if err != nil || len(deps) != 2 {
		t.Fatalf("Deployments().List = %d, %v; want 2", len(deps), err)
	}
	if _, _, err := c.Deployments().Info(deps[0].ID, nil); err != nil {
		t.Fatalf("Deployments().Info: %v", err)
	}
	if _, _, err := c.Jobs().Revert("roll", 0, nil, nil, "", ""); err != nil {
		t.Fatalf("Revert: %v", err)
	}
	job, _, err := c.Jobs().Info("roll", nil)
	if err != nil || *job.Version != 2 || *job.TaskGroups[0].Count != 4 {
		t.Fatalf("after revert Info = %+v, %v; want version 2 with count 4", job, err)
	}
}
