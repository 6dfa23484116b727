package scheduler

import (
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestServiceSkeleton(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.state.upsertNode(testNode(nodeName(i), 4000, 8192))
	}
	job := testJob("web", 5, 1000, 1024)
	job.TaskGroups[0].Networks = []*structs.NetworkResource{{
		DynamicPorts:  []structs.Port{{Label: "http"}},
		ReservedPorts: []structs.Port{{Label: "admin", Value: 9000}},
	}}
	h.state.upsertJob(job)
	if err := h.process(job, &structs.Evaluation{}); err != nil {
		t.Fatalf("Process() = %v, want nil", err)
	}
	placed := h.placed()
	if got, want := len(placed), 4; got != want {
		t.Fatalf("placed = %d, want %d", got, want)
	}
	for i, a := range placed {
		if got, want := a.Name, structs.AllocName("web", "web", i); got != want {
			t.Errorf("name = %q, want %q", got, want)
		}
		ports := a.AllocatedResources.Shared.Ports
		if len(ports) != 2 || ports[1].Value < 20000 || ports[1].Value > 32000 || ports[0].Value != 9000 {
			t.Errorf("ports = %+v, want admin 9000 and a dynamic http", ports)
		}
	}
	perNode := map[string]int{}
	for _, a := range placed {
		perNode[a.NodeID]++
	}
	for n, c := range perNode {
		if c > 1 {
			t.Errorf("node %s has %d allocs with static port 9000, want at most 1", n, c)
		}
	}
	ev := h.lastEval()
	if got, want := ev.Status, structs.EvalStatusComplete; got != want {
		t.Errorf("eval status = %q, want %q", got, want)
	}
	if got, want := len(ev.FailedTGAllocs), 1; got != want {
		t.Fatalf("FailedTGAllocs = %d, want %d", got, want)
	}
	m := ev.FailedTGAllocs["web"]
	if got, want := m.DimensionExhausted[structs.DimensionPortCollides], 4; got != want {
		t.Errorf("port collisions = %d, want %d (%+v)", got, want, m)
	}
	if got, want := ev.QueuedAllocations["web"], 1; got != want {
		t.Errorf("queued = %d, want %d", got, want)
	}
	if ev.BlockedEval == "" || len(h.created) != 1 || h.created[0].Status != structs.EvalStatusBlocked {
		t.Errorf("blocked eval = %q, created %d, want one blocked eval", ev.BlockedEval, len(h.created))
	}
}
