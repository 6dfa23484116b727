package scheduler

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

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

func TestDynamicPortsExhaust(t *testing.T) {
	h := newHarness(t)
	n := testNode("small-range", 4000, 8192)
	n.NodeResources.MinDynamicPort, n.NodeResources.MaxDynamicPort = 20000, 20003
	n.ReservedResources = &structs.NodeReservedResources{Networks: structs.NodeReservedNetworkResources{ReservedHostPorts: "20001"}}
	h.state.upsertNode(n)
	job := testJob("web", 4, 10, 10)
	job.TaskGroups[0].Networks = []*structs.NetworkResource{{DynamicPorts: []structs.Port{{Label: "http"}}}}
	h.state.upsertJob(job)
	if err := h.process(job, &structs.Evaluation{}); err != nil {
		t.Fatalf("Process() = %v, want nil", err)
	}
	seen := map[int]bool{}
	for _, a := range h.placed() {
		p := a.AllocatedResources.Shared.Ports[0].Value
		if seen[p] || p == 20001 || p < 20000 || p > 20003 {
			t.Errorf("port = %d, want a free port in 20000-20003 other than 20001, used once", p)
		}
		seen[p] = true
		if got := a.AllocatedResources.Shared.Networks[0].DynamicPorts[0].Value; got != p {
			t.Errorf("network port = %d, want %d", got, p)
		}
	}
	if got, want := len(seen), 3; got != want {
		t.Errorf("placed = %d, want %d", got, want)
	}
	m := h.lastEval().FailedTGAllocs["web"]
	if m == nil || m.DimensionExhausted[structs.DimensionDynamicPorts] != 1 {
		t.Errorf("FailedTGAllocs[web] = %+v, want dynamic port exhaustion", m)
	}
}

func TestNewSchedulerTypes(t *testing.T) {
	cases := []struct {
		typ     string
		wantErr bool
	}{
		{structs.JobTypeService, false},
		{structs.JobTypeBatch, false},
		{structs.JobTypeSystem, false},
		{structs.JobTypeSysBatch, false},
		{"cron", true},
	}
	for _, tc := range cases {
		t.Run(tc.typ, func(t *testing.T) {
			_, err := NewScheduler(tc.typ, nil, newMemState(), newHarness(t), h0)
			if (err != nil) != tc.wantErr {
				t.Errorf("NewScheduler(%q) error = %v, want error %v", tc.typ, err, tc.wantErr)
			}
		})
	}
}

func h0() time.Time { return time.Unix(0, 0) }

func TestReservedCores(t *testing.T) {
	h := newHarness(t)
	n := testNode("cores", 4000, 8192)
	n.NodeResources.Cpu.TotalCpuCores = 4
	n.NodeResources.Cpu.ReservableCpuCores = []uint16{0, 1, 2, 3}
	h.state.upsertNode(n)
	job := testJob("web", 3, 0, 100)
	job.TaskGroups[0].Tasks[0].Resources.Cores = 2
	h.state.upsertJob(job)
	if err := h.process(job, &structs.Evaluation{}); err != nil {
		t.Fatalf("Process() = %v, want nil", err)
	}
	placed := h.placed()
	if got, want := len(placed), 2; got != want {
		t.Fatalf("placed = %d, want %d", got, want)
	}
	seen := map[uint16]bool{}
	for _, a := range placed {
		cpu := a.AllocatedResources.Tasks["server"].Cpu
		if got, want := cpu.CpuShares, int64(2000); got != want || len(cpu.ReservedCores) != 2 {
			t.Errorf("cpu = %+v, want 2 cores and %d MHz", cpu, want)
		}
		for _, id := range cpu.ReservedCores {
			if seen[id] {
				t.Errorf("core %d reserved twice", id)
			}
			seen[id] = true
		}
	}
	if h.lastEval().FailedTGAllocs["web"] == nil {
		t.Errorf("FailedTGAllocs[web] = nil, want the third alloc to fail")
	}
}

// The allocations one evaluation places share the first byte of their IDs
// (and stay version 4 UUIDs); evaluations choose their own.
func TestPlacementsOfAnEvaluationShareTheirIDLead(t *testing.T) {
	uuidV4 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	leads := map[string]bool{}
	for j := 0; j < 8; j++ {
		h := newHarness(t)
		for i := 0; i < 4; i++ {
			h.state.upsertNode(testNode(nodeName(i), 8000, 16384))
		}
		job := testJob(fmt.Sprintf("web%d", j), 20, 100, 128)
		h.state.upsertJob(job)
		if err := h.process(job, &structs.Evaluation{}); err != nil {
			t.Fatal(err)
		}
		placed := h.placed()
		if len(placed) != 20 {
			t.Fatalf("placed %d, want 20", len(placed))
		}
		seen := map[string]bool{}
		for _, a := range placed {
			if !uuidV4.MatchString(a.ID) || seen[a.ID] {
				t.Fatalf("ID %q is not a fresh version 4 UUID", a.ID)
			}
			seen[a.ID] = true
			if a.ID[:2] != placed[0].ID[:2] {
				t.Fatalf("IDs %s and %s of one evaluation lead differently", placed[0].ID, a.ID)
			}
		}
		leads[placed[0].ID[:2]] = true
	}
	if len(leads) < 2 {
		t.Errorf("eight evaluations all led their IDs with %v", leads)
	}
}

// A job in the built-in pool "all" may run on nodes of every pool; one in a
// named pool only on that pool's nodes, and an unnamed node pool is the
// default one.
func TestNodePoolAllAndNamed(t *testing.T) {
	for _, tc := range []struct {
		pool string
		want []string
	}{
		{"all", []string{"n0", "n1", "n2"}},
		{"gpu", []string{"n1"}},
		{"", []string{"n0", "n2"}},
	} {
		h := newHarness(t)
		for i, pool := range []string{structs.DefaultNodePool, "gpu", ""} {
			n := testNode(nodeName(i), 4000, 8192)
			n.ID, n.NodePool = fmt.Sprintf("n%d", i), pool
			h.state.upsertNode(n)
		}
		job := testJob("web", 6, 100, 128)
		job.NodePool = tc.pool
		h.state.upsertJob(job)
		if err := h.process(job, &structs.Evaluation{}); err != nil {
			t.Fatal(err)
		}
		used := map[string]bool{}
		for _, a := range h.placed() {
			used[a.NodeID] = true
		}
		var got []string
		for id := range used {
			got = append(got, id)
		}
		slices.Sort(got)
		if !slices.Equal(got, tc.want) {
			t.Errorf("pool %q: placed on %v, want %v", tc.pool, got, tc.want)
		}
	}
}
