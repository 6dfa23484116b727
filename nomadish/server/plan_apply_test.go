package server

import (
	"fmt"
	"math/rand"
	"testing"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func planTestAlloc(id, node string, job *structs.Job, cpu, mem int64, ports ...int) *structs.Allocation {
	a := &structs.Allocation{
		ID: id, EvalID: "e", Namespace: job.Namespace, JobID: job.ID, Job: job, TaskGroup: "web", NodeID: node,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		AllocatedResources: &structs.AllocatedResources{
			Tasks: map[string]*structs.AllocatedTaskResources{"t": {
				Cpu:    structs.AllocatedCpuResources{CpuShares: cpu},
				Memory: structs.AllocatedMemoryResources{MemoryMB: mem},
			}},
		},
	}
	for _, p := range ports {
		a.AllocatedResources.Shared.Ports = append(a.AllocatedResources.Shared.Ports, structs.AllocatedPortMapping{Label: fmt.Sprint(p), Value: p})
	}
	return a
}

// TestNodeFitsByUsageAgreesWithList checks the plan applier's fast check,
// which reads the node usage the store keeps, against the full check over
// every allocation of the node, on random plans of placements, stops and
// in-place updates; and that plans placing ports take the full check.
func TestNodeFitsByUsageAgreesWithList(t *testing.T) {
	st := state.NewStateStore()
	job := &structs.Job{ID: "web", Namespace: "default", Type: structs.JobTypeService,
		TaskGroups: []*structs.TaskGroup{{Name: "web", Count: 1, Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec"}}}}}
	if err := st.UpsertJob(1, job); err != nil {
		t.Fatal(err)
	}
	node := &structs.Node{ID: "n1", Status: structs.NodeStatusReady, NodeResources: &structs.NodeResources{
		Cpu: structs.NodeCpuResources{CpuShares: 4000}, Memory: structs.NodeMemoryResources{MemoryMB: 4096},
	}}
	if err := st.UpsertNode(2, node); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	var live []*structs.Allocation
	for i := 0; i < 12; i++ {
		live = append(live, planTestAlloc(fmt.Sprintf("x%02d", i), "n1", job, int64(100+rng.Intn(200)), int64(100+rng.Intn(200))))
	}
	live[0].ClientStatus = structs.AllocClientStatusComplete // terminal: holds nothing
	if err := st.UpsertPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, Allocs: live}); err != nil {
		t.Fatal(err)
	}
	snap := st.Snapshot()
	n, _ := snap.NodeByID(nil, "n1")
	// Stops and in-place updates are copies of the stored allocations.
	for i, a := range live {
		if live[i], _ = snap.AllocByID(nil, a.ID); live[i] == nil || live[i].CreateIndex == 0 {
			t.Fatalf("stored %s = %+v", a.ID, live[i])
		}
	}

	fits, rejects := 0, 0
	for i := 0; i < 300; i++ {
		plan := &structs.Plan{NodeUpdate: map[string][]*structs.Allocation{}, NodeAllocation: map[string][]*structs.Allocation{}}
		for j := rng.Intn(4); j > 0; j-- {
			stop := live[rng.Intn(len(live))].Copy()
			stop.DesiredStatus = structs.AllocDesiredStatusStop
			plan.NodeUpdate["n1"] = append(plan.NodeUpdate["n1"], stop)
		}
		for j := rng.Intn(3); j > 0; j-- {
			up := live[rng.Intn(len(live))].Copy()
			up.EvalID = "e2"
			plan.NodeAllocation["n1"] = append(plan.NodeAllocation["n1"], up)
		}
		for j := 1 + rng.Intn(4); j > 0; j-- {
			plan.NodeAllocation["n1"] = append(plan.NodeAllocation["n1"],
				planTestAlloc(fmt.Sprintf("p%d-%d", i, j), "n1", job, int64(100+rng.Intn(900)), int64(100+rng.Intn(900))))
		}
		fast, decided, err := nodeFitsByUsage(snap, plan, n)
		if err != nil || !decided {
			t.Fatalf("plan %d: nodeFitsByUsage() = %v, decided %v, %v; want decided", i, fast, decided, err)
		}
		full, err := nodeFitsByList(snap, plan, n)
		if err != nil {
			t.Fatal(err)
		}
		if fast != full {
			t.Fatalf("plan %d: nodeFitsByUsage() = %v, nodeFitsByList() = %v", i, fast, full)
		}
		if fast {
			fits++
		} else {
			rejects++
		}
	}
	if fits == 0 || rejects == 0 {
		t.Fatalf("random plans gave %d fits and %d rejects; want both", fits, rejects)
	}

	// A placement with a host port needs the full check, which sees the
	// collision with the port a running alloc holds.
	withPort := planTestAlloc("held", "n1", job, 10, 10, 25000)
	if err := st.UpsertPlanResults(4, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{withPort}}); err != nil {
		t.Fatal(err)
	}
	snap = st.Snapshot()
	plan := &structs.Plan{NodeAllocation: map[string][]*structs.Allocation{"n1": {planTestAlloc("clash", "n1", job, 10, 10, 25000)}}}
	if _, decided, _ := nodeFitsByUsage(snap, plan, n); decided {
		t.Errorf("nodeFitsByUsage() decided a plan that places a host port")
	}
	if ok, err := nodeFits(snap, plan, "n1"); ok || err != nil {
		t.Errorf("nodeFits() with a colliding port = %v, %v; want false", ok, err)
	}
}

// TestServer_PlanStatsCountRejections submits a plan that one node still
// has room for and another no longer has, and checks what the applier
// committed and what its counters say.
func TestServer_PlanStatsCountRejections(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	roomy, tight := testNode(structs.GenerateUUID()), testNode(structs.GenerateUUID())
	for _, n := range []*structs.Node{roomy, tight} {
		var reply structs.NodeUpdateResponse
		if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: n}, &reply); err != nil {
			t.Fatalf("Node.Register error = %v", err)
		}
	}
	job := testJob("stats", 3)
	job.Namespace = structs.DefaultNamespace
	plan := &structs.Plan{EvalID: structs.GenerateUUID(), Job: job, NodeAllocation: map[string][]*structs.Allocation{
		roomy.ID: {planTestAlloc(structs.GenerateUUID(), roomy.ID, job, 1000, 1000), planTestAlloc(structs.GenerateUUID(), roomy.ID, job, 1000, 1000)},
		tight.ID: {planTestAlloc(structs.GenerateUUID(), tight.ID, job, 5000, 100)}, // more cpu than the node has
	}}
	result, err := s.applyPlan(plan)
	if err != nil {
		t.Fatalf("applyPlan() error = %v", err)
	}
	if result.RefreshIndex == 0 || len(result.NodeAllocation[roomy.ID]) != 2 || len(result.NodeAllocation[tight.ID]) != 0 {
		t.Fatalf("applyPlan() = %+v; want the roomy node's two placements and a refresh", result)
	}
	want := PlanStats{Plans: 1, PlansPartial: 1, NodesRejected: 1, AllocsCommitted: 2}
	if got := s.PlanStats(); got != want {
		t.Fatalf("PlanStats() = %+v, want %+v", got, want)
	}

	// A plan that fits whole counts as evaluated, not partial.
	plan = &structs.Plan{EvalID: structs.GenerateUUID(), Job: job, NodeAllocation: map[string][]*structs.Allocation{
		tight.ID: {planTestAlloc(structs.GenerateUUID(), tight.ID, job, 100, 100)},
	}}
	if result, err = s.applyPlan(plan); err != nil || result.RefreshIndex != 0 {
		t.Fatalf("applyPlan() = %+v, %v; want a full commit", result, err)
	}
	want = PlanStats{Plans: 2, PlansPartial: 1, NodesRejected: 1, AllocsCommitted: 3}
	if got := s.PlanStats(); got != want {
		t.Fatalf("PlanStats() = %+v, want %+v", got, want)
	}
}
