//go:build e2e

// Package scheduler runs the scheduler end to end: one server and several
// client agents on this machine, each sized with client
// { cpu_total_compute, memory_total_mb, meta }, and raw_exec tasks.
package scheduler

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/e2e/e2eutil"
)

type allocStub struct {
	ID            string
	NodeID        string
	ClientStatus  string
	DesiredStatus string
}

type evalStub struct {
	ID             string
	Status         string
	FailedTGAllocs map[string]interface{}
}

type nodeStub struct {
	ID     string
	Name   string
	Status string
}

func startServer(t *testing.T) *e2eutil.Agent {
	t.Helper()
	return e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: `name = "sched-server"
server {
  enabled          = true
  bootstrap_expect = 1
}
`})
}

// startClient starts a client agent of the given size and meta and waits
// until the server lists it ready.
func startClient(t *testing.T, srv *e2eutil.Agent, name string, cpu, memMB int, meta map[string]string) *e2eutil.Agent {
	t.Helper()
	var m strings.Builder
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&m, "    %s = %q\n", k, meta[k])
	}
	a := e2eutil.StartAgent(t, e2eutil.AgentOptions{Config: fmt.Sprintf(`name = %q
client {
  enabled           = true
  servers           = ["127.0.0.1:%d"]
  cpu_total_compute = %d
  memory_total_mb   = %d
  meta {
%s  }
}
plugin "raw_exec" {
  config {
    enabled = true
  }
}
`, name, srv.Ports[1], cpu, memMB, m.String())})
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		if _, ok := readyNodes(t, srv)[name]; !ok {
			return fmt.Errorf("node %s not ready yet", name)
		}
		return nil
	})
	return a
}

// readyNodes maps the names of ready nodes to their IDs.
func readyNodes(t *testing.T, srv *e2eutil.Agent) map[string]string {
	t.Helper()
	var nodes []nodeStub
	if err := srv.GetJSON("/v1/nodes", &nodes); err != nil {
		return nil
	}
	out := map[string]string{}
	for _, n := range nodes {
		if n.Status == "ready" {
			out[n.Name] = n.ID
		}
	}
	return out
}

// allocsByNode counts a job's allocations that are meant to run, by node
// ID, keeping those whose client status is one of statuses.
func allocsByNode(srv *e2eutil.Agent, job string, statuses ...string) (map[string]int, error) {
	var allocs []allocStub
	if err := srv.GetJSON("/v1/job/"+job+"/allocations", &allocs); err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, a := range allocs {
		for _, s := range statuses {
			if a.ClientStatus == s {
				out[a.NodeID]++
			}
		}
	}
	return out, nil
}

func run(t *testing.T, srv *e2eutil.Agent, args ...string) {
	t.Helper()
	out, errOut, code := srv.CLI(append([]string{"job", "run"}, args...)...)
	if code != 0 {
		t.Fatalf("job run %v = %d, want 0\n%s\n%s", args, code, out, errOut)
	}
}

// waitRunning waits until the job has want running allocations and
// returns them by node.
func waitRunning(t *testing.T, srv *e2eutil.Agent, job string, want int) map[string]int {
	t.Helper()
	var got map[string]int
	e2eutil.WaitFor(t, 60*time.Second, func() error {
		var err error
		got, err = allocsByNode(srv, job, "running")
		if err != nil {
			return err
		}
		n := 0
		for _, c := range got {
			n += c
		}
		if n != want {
			return fmt.Errorf("job %s running allocations = %v, want %d", job, got, want)
		}
		return nil
	})
	return got
}

// TestBinPackFillsOneNodeFirst runs 300 MHz allocations on two 1000 MHz
// clients: the first three share a node, the fourth opens the other; then
// a job constrained to ${meta.rack} = r2 lands only on the r2 client.
func TestBinPackFillsOneNodeFirst(t *testing.T) {
	srv := startServer(t)
	startClient(t, srv, "pack-r1", 1000, 2048, map[string]string{"rack": "r1"})
	startClient(t, srv, "pack-r2", 1000, 2048, map[string]string{"rack": "r2"})
	nodes := readyNodes(t, srv)

	src, err := os.ReadFile("input/pack.nomad.hcl")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	for i := 1; i <= 4; i++ {
		job := fmt.Sprintf("pack-%d", i)
		file := filepath.Join(t.TempDir(), job+".nomad.hcl")
		if err := os.WriteFile(file, bytes.Replace(src, []byte(`job "pack"`), []byte(`job "`+job+`"`), 1), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, srv, file)
		on := waitRunning(t, srv, job, 1)
		var node string
		for n := range on {
			node = n
		}
		switch {
		case i == 1:
			first = node
		case i <= 3 && node != first:
			t.Errorf("allocation %d on node %s, want %s (the node being filled)", i, node, first)
		case i == 4 && node == first:
			t.Errorf("allocation 4 on the full node %s, want the other one", node)
		}
	}

	run(t, srv, "input/rack.nomad.hcl")
	on := waitRunning(t, srv, "rack", 2)
	if on[nodes["pack-r2"]] != 2 {
		t.Errorf("rack allocations by node = %v, want both on pack-r2 (%s)", on, nodes["pack-r2"])
	}
}

// TestPlacementFailureBlocksUntilCapacity submits a job too big for the
// only client: job run exits 2, job status and eval status explain the
// failure, and the blocked evaluation places the job by itself once a
// bigger client joins.
func TestPlacementFailureBlocksUntilCapacity(t *testing.T) {
	srv := startServer(t)
	startClient(t, srv, "small", 1000, 2048, nil)

	out, errOut, code := srv.CLI("job", "run", "input/big.nomad.hcl")
	if code != 2 {
		t.Fatalf("job run big = %d, want 2\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "Dimension \"cpu\" exhausted") {
		t.Errorf("job run output does not name the exhausted dimension:\n%s", out)
	}

	out, _, code = srv.CLI("job", "status", "big")
	if code != 0 || !strings.Contains(out, "Placement Failure") || !strings.Contains(out, "Resources exhausted on 1 nodes") {
		t.Errorf("job status big = %d, want a placement failure with 1 node exhausted:\n%s", code, out)
	}
	var evals []evalStub
	if err := srv.GetJSON("/v1/job/big/evaluations", &evals); err != nil {
		t.Fatal(err)
	}
	var failed, blocked string
	for _, e := range evals {
		if len(e.FailedTGAllocs) > 0 {
			failed = e.ID
		}
		if e.Status == "blocked" {
			blocked = e.ID
		}
	}
	if failed == "" || blocked == "" {
		t.Fatalf("evaluations of big = %+v, want one with failed allocations and a blocked one", evals)
	}
	out, _, code = srv.CLI("eval", "status", failed)
	if code != 0 || !strings.Contains(out, "Failed Placements") || !strings.Contains(out, "Dimension \"cpu\" exhausted on 1 nodes") {
		t.Errorf("eval status %s = %d, want the failed placements:\n%s", failed, code, out)
	}

	startClient(t, srv, "large", 4000, 4096, nil)
	on := waitRunning(t, srv, "big", 1)
	if on[readyNodes(t, srv)["large"]] != 1 {
		t.Errorf("big runs on %v, want the large client", on)
	}
	e2eutil.WaitFor(t, 30*time.Second, func() error {
		var e evalStub
		if err := srv.GetJSON("/v1/evaluation/"+blocked, &e); err != nil {
			return err
		}
		if e.Status != "complete" {
			return fmt.Errorf("blocked eval %s status = %s, want complete", blocked, e.Status)
		}
		return nil
	})
}

// TestSystemAndSysbatchJobs runs a system job, which also lands on a
// client that joins later, and a sysbatch job, which completes once on
// every client and is not run again.
func TestSystemAndSysbatchJobs(t *testing.T) {
	srv := startServer(t)
	startClient(t, srv, "sys-1", 1000, 2048, nil)
	startClient(t, srv, "sys-2", 1000, 2048, nil)

	run(t, srv, "input/everywhere.nomad.hcl")
	waitRunning(t, srv, "everywhere", 2)

	run(t, srv, "input/once.nomad.hcl")
	complete := func() map[string]int {
		var got map[string]int
		e2eutil.WaitFor(t, 60*time.Second, func() error {
			var err error
			got, err = allocsByNode(srv, "once", "complete")
			if err != nil {
				return err
			}
			if len(got) != 2 {
				return fmt.Errorf("once completed on nodes %v, want 2 nodes", got)
			}
			return nil
		})
		return got
	}
	complete()

	startClient(t, srv, "sys-3", 1000, 2048, nil)
	on := waitRunning(t, srv, "everywhere", 3)
	if got := on[readyNodes(t, srv)["sys-3"]]; got != 1 {
		t.Errorf("everywhere on the late client = %d allocations, want 1 (all: %v)", got, on)
	}
	all, err := allocsByNode(srv, "once", "pending", "running", "complete", "failed")
	if err != nil {
		t.Fatal(err)
	}
	for node, n := range all {
		if n != 1 {
			t.Errorf("once ran %d times on node %s, want once", n, node)
		}
	}
}
