package scheduler

import (
	"fmt"
	"math/rand"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestInvariantsUnderChurn runs many evaluations against a changing
// cluster (scaling, job updates, failed allocs, nodes going down) with
// plans applied, and checks after each one that no node is overcommitted,
// live alloc names are unique, and a group is short only when the eval
// says so.
func TestInvariantsUnderChurn(t *testing.T) {
	for _, seed := range []int64{1, 2, 3, 4} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewSource(seed))
			h := newHarness(t)
			for i := 0; i < 30; i++ {
				n := testNode(nodeName(i), int64(2000+rng.Intn(6000)), int64(2048+rng.Intn(8192)))
				n.Datacenter = fmt.Sprintf("dc%d", 1+i%3)
				n.ComputedClass = n.Datacenter
				h.state.upsertNode(n)
			}
			job := testJob("churn", 5, 500, 512)
			job.TaskGroups = append(job.TaskGroups, &structs.TaskGroup{
				Name:     "ports",
				Count:    3,
				Networks: []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}, ReservedPorts: []structs.Port{{Label: "admin", Value: 9000}}}},
				Tasks:    []*structs.Task{{Name: "t", Driver: "exec", Resources: &structs.Resources{CPU: 200, MemoryMB: 256}}},
			})
			for step := 0; step < 40; step++ {
				job = mutate(t, h, rng, job)
				h.updates = h.updates[:0]
				if err := h.process(job, &structs.Evaluation{}); err != nil {
					t.Fatalf("step %d: Process() = %v", step, err)
				}
				checkInvariants(t, h, job, step)
				h.now = h.now.Add(time.Minute)
			}
			t.Logf("allocs in state = %d, plans = %d", len(h.state.allocs), len(h.plans))
		})
	}
}

// mutate changes the world a little and returns the job to evaluate.
func mutate(t *testing.T, h *harness, rng *rand.Rand, job *structs.Job) *structs.Job {
	t.Helper()
	switch rng.Intn(5) {
	case 0: // scale
		c := *job
		c.TaskGroups = append([]*structs.TaskGroup(nil), job.TaskGroups...)
		tg := *c.TaskGroups[0]
		tg.Count = rng.Intn(40)
		c.TaskGroups[0] = &tg
		c.Version++
		job = &c
	case 1: // change resources: destructive
		c := *job
		c.TaskGroups = append([]*structs.TaskGroup(nil), job.TaskGroups...)
		tg := *c.TaskGroups[0]
		tg.Tasks = []*structs.Task{{Name: "server", Driver: "exec", Resources: &structs.Resources{CPU: 100 + rng.Intn(900), MemoryMB: 128 + rng.Intn(900)}}}
		c.TaskGroups[0] = &tg
		c.Version++
		job = &c
	case 2: // fail a live alloc
		for _, a := range h.state.allocs {
			if !a.TerminalStatus() {
				f := a.Copy()
				f.ClientStatus = structs.AllocClientStatusFailed
				f.ModifyTime = h.now.Add(-time.Hour).UnixNano()
				h.state.upsertAlloc(f)
				break
			}
		}
	case 3: // take a node down or bring one back
		n := *h.state.nodes[rng.Intn(len(h.state.nodes))]
		if n.Status == structs.NodeStatusReady {
			n.Status = structs.NodeStatusDown
		} else {
			n.Status = structs.NodeStatusReady
		}
		h.state.upsertNode(&n)
	}
	h.state.upsertJob(job)
	return job
}

func checkInvariants(t *testing.T, h *harness, job *structs.Job, step int) {
	t.Helper()
	for _, n := range h.state.nodes {
		if fit, dim, _, err := structs.AllocsFit(n, h.state.byNode[n.ID]); err != nil || !fit {
			t.Fatalf("step %d: AllocsFit(%s) = %v %q %v, want fit", step, n.ID, fit, dim, err)
		}
	}
	ev := h.lastEval()
	for _, tg := range job.TaskGroups {
		names := map[string]string{}
		live := 0
		for _, a := range h.state.byJob[job.NamespacedID()] {
			if a.TaskGroup != tg.Name || a.TerminalStatus() {
				continue
			}
			live++
			if other, dup := names[a.Name]; dup {
				t.Fatalf("step %d: name %s held by %s and %s", step, a.Name, other, a.ID)
			}
			names[a.Name] = a.ID
			if n := h.state.nodeBy[a.NodeID]; n.Status == structs.NodeStatusDown {
				t.Fatalf("step %d: live alloc %s on down node", step, a.ID)
			}
		}
		if live > tg.Count {
			t.Fatalf("step %d: group %s has %d live allocs, want <= %d", step, tg.Name, live, tg.Count)
		}
		if live < tg.Count && ev.FailedTGAllocs[tg.Name] == nil && !hasFailed(h, job, tg.Name) {
			t.Fatalf("step %d: group %s has %d live allocs, want %d or a failure reported", step, tg.Name, live, tg.Count)
		}
	}
}

// hasFailed reports failed allocs still holding a slot (not yet due for
// rescheduling), which legitimately leave a group short.
func hasFailed(h *harness, job *structs.Job, tg string) bool {
	for _, a := range h.state.byJob[job.NamespacedID()] {
		if a.TaskGroup == tg && a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusFailed {
			return true
		}
	}
	return false
}
