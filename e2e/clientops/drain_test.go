//go:build e2e

package clientops

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

const rawExec = `
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`

type nodeStub struct {
	ID                    string
	Name                  string
	Status                string
	Drain                 bool
	SchedulingEligibility string
}

// TestDrainMigratesWithMaxParallel drains a node running three allocations
// of a group with migrate { max_parallel = 1 } onto a second node: never
// more than one allocation is away at a time, all end up on the other
// node, each replacement is up for min_healthy_time before the next move,
// and the drained node stays ineligible.
func TestDrainMigratesWithMaxParallel(t *testing.T) {
	a := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: `name = "drain-a"
server {
  enabled          = true
  bootstrap_expect = 1
}
client {
  enabled = true
}
` + rawExec})
	if out, errOut, code := a.CLI("job", "run", "-detach", "input/mig.nomad.hcl"); code != 0 {
		t.Fatalf("job run = %d\n%s\n%s", code, out, errOut)
	}
	running := func() (map[string]int, error) {
		var allocs []allocStub
		if err := a.GetJSON("/v1/job/mig/allocations", &allocs); err != nil {
			return nil, err
		}
		out := map[string]int{}
		for _, al := range allocs {
			if al.DesiredStatus == "run" && al.ClientStatus == "running" {
				out[al.NodeID]++
			}
		}
		return out, nil
	}
	var nodeA string
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		r, err := running()
		if err != nil {
			return err
		}
		for id, n := range r {
			if n == 3 {
				nodeA = id
				return nil
			}
		}
		return fmt.Errorf("running = %v, want 3 on one node", r)
	})

	e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: fmt.Sprintf(`name = "drain-b"
client {
  enabled = true
  servers = ["127.0.0.1:%d"]
}
`, a.Ports[1]) + rawExec})
	var nodeB string
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var nodes []nodeStub
		if err := a.GetJSON("/v1/nodes", &nodes); err != nil {
			return err
		}
		for _, n := range nodes {
			if n.ID != nodeA && n.Status == "ready" {
				nodeB = n.ID
				return nil
			}
		}
		return fmt.Errorf("nodes = %+v", nodes)
	})

	if out, errOut, code := a.CLI("node", "drain", "-enable", "-yes", "-detach", "-deadline", "3m", nodeA); code != 0 {
		t.Fatalf("node drain = %d %q %q", code, out, errOut)
	}
	minRunning := 3
	started := time.Now()
	deadline := started.Add(2 * time.Minute)
	for {
		r, err := running()
		if err != nil {
			t.Fatal(err)
		}
		minRunning = min(minRunning, r[nodeA]+r[nodeB])
		var n nodeStub
		if err := a.GetJSON("/v1/node/"+nodeA, &n); err != nil {
			t.Fatal(err)
		}
		if !n.Drain && r[nodeB] == 3 {
			if n.SchedulingEligibility != "ineligible" {
				t.Errorf("drained node eligibility = %s, want ineligible", n.SchedulingEligibility)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("drain not done: running %v, node %+v", r, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Three moves, the first two each waiting 2s for their replacement.
	if took := time.Since(started); took < 4*time.Second {
		t.Errorf("drain took %s, want at least 4s of min_healthy_time", took)
	}
	if minRunning < 2 {
		t.Errorf("fewest running allocations during the drain = %d, want at least 2 (max_parallel 1)", minRunning)
	}
	// Agent A no longer runs the job: its client endpoints are served by
	// node B through it.
	var allocs []allocStub
	if err := a.GetJSON("/v1/job/mig/allocations", &allocs); err != nil {
		t.Fatal(err)
	}
	for _, al := range allocs {
		if al.NodeID != nodeB || al.ClientStatus != "running" {
			continue
		}
		if out, errOut, code := a.CLI("alloc", "fs", al.ID, "alloc"); code != 0 || !strings.Contains(out, "logs/") {
			t.Errorf("alloc fs through agent A = %d %q %q, want the alloc dir of node B", code, out, errOut)
		}
		if out, errOut, code := a.CLI("alloc", "exec", "-i=false", al.ID, "/bin/echo", "via-a"); code != 0 || !strings.Contains(out, "via-a") {
			t.Errorf("alloc exec through agent A = %d %q %q", code, out, errOut)
		}
		break
	}
	out, _, code := a.CLI("node", "status", nodeA)
	if code != 0 {
		t.Errorf("node status exit = %d", code)
	}
	t.Logf("node status after drain:\n%s", out)
}
