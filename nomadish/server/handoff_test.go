package server

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestServer_HandedEntriesMatchTheLog proves that what the leader stores
// from the requests it hands its own FSM is what any server decoding the
// same log stores: the leader's allocations are compared, field by field,
// with those of the same server restarted on its data directory, which
// rebuilds its state by decoding every entry.
func TestServer_HandedEntriesMatchTheLog(t *testing.T) {
	dir := t.TempDir()
	keepLog := func(c *Config) { c.RaftSnapshotThreshold = 1 << 30 }
	s := testServerWith(t, dir, keepLog)
	for i := 0; i < 3; i++ {
		n := testNode(structs.GenerateUUID())
		n.Meta = map[string]string{"rack": []string{"r1", "r2"}[i%2]}
		if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: n}, &structs.NodeUpdateResponse{}); err != nil {
			t.Fatalf("Node.Register error = %v", err)
		}
	}
	// Placements with dynamic ports, affinity and spread scores.
	job := testJob("handed", 6)
	tg := job.TaskGroups[0]
	tg.Networks = []*structs.NetworkResource{{Mode: "host", DynamicPorts: []structs.Port{{Label: "http"}}}}
	tg.Affinities = []*structs.Affinity{{LTarget: "${meta.rack}", RTarget: "r1", Operand: "=", Weight: 50}}
	tg.Spreads = []*structs.Spread{{Attribute: "${meta.rack}", Weight: 50}}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "handed")) == 6 })
	reportAllocs(t, s, "handed", structs.AllocClientStatusRunning)

	// Stops: the job shrinks.
	smaller := testJob("handed", 4)
	smaller.TaskGroups[0] = tg
	tg.Count = 4
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: smaller}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "handed")) == 4 })
	waitFor(t, 10*time.Second, func() bool {
		evals, _ := s.State().EvalsByJob(nil, structs.DefaultNamespace, "handed")
		for _, e := range evals {
			if !e.TerminalStatus() {
				return false
			}
		}
		return true
	})

	if got := s.fsm.handedApplied.Load(); got < 2 {
		t.Fatalf("entries applied from handed requests = %d, want at least 2 (placements and stops)", got)
	}
	leader, err := s.State().AllocsByJob(nil, structs.DefaultNamespace, "handed")
	if err != nil {
		t.Fatal(err)
	}
	if len(leader) != 6 {
		t.Fatalf("leader holds %d allocations, want 6", len(leader))
	}
	if err := s.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}

	s2 := testServerWith(t, dir, keepLog)
	defer s2.Shutdown()
	if got := s2.fsm.handedApplied.Load(); got != 0 {
		t.Fatalf("restarted server applied %d handed entries, want 0", got)
	}
	for _, want := range leader {
		got, err := s2.State().AllocByID(nil, want.ID)
		if err != nil || got == nil {
			t.Fatalf("replayed AllocByID(%s) = %v, %v", want.ID, got, err)
		}
		if !reflect.DeepEqual(got, want) {
			w, _ := json.Marshal(want)
			g, _ := json.Marshal(got)
			t.Errorf("allocation %s differs after replay:\nleader:   %s\nreplayed: %s", want.ID, w, g)
		}
	}
}

// A batch of client reports stores the same as the whole allocations the
// clients sent, which older entries carry.
func TestFSMClientStatusEntriesMatchAllocEntries(t *testing.T) {
	stores := map[structs.MessageType]*fsm{}
	started := time.Unix(1700000000, 0).UTC()
	healthy := true
	report := &structs.Allocation{ID: "a1", NodeID: "n1", ClientStatus: structs.AllocClientStatusRunning,
		ClientDescription: "tasks are running", ModifyTime: 42,
		TaskStates:       map[string]*structs.TaskState{"web": {State: "running", StartedAt: started}},
		DeploymentStatus: &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: started},
		NetworkStatus:    &structs.AllocNetworkStatus{InterfaceName: "eth0", Address: "10.0.0.2"}}
	for _, typ := range []structs.MessageType{structs.AllocClientUpdateRequestType, structs.AllocClientStatusRequestType} {
		f := newFSM(hclog.NewNullLogger())
		applyMsg(t, f, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: &structs.Node{ID: "n1", Status: structs.NodeStatusReady}})
		job := &structs.Job{ID: "web", Namespace: "default", Type: structs.JobTypeService}
		placed := &structs.Allocation{ID: "a1", NodeID: "n1", EvalID: "e", Namespace: "default", JobID: "web", TaskGroup: "web", Job: job,
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending}
		if err := f.State().UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{placed}}); err != nil {
			t.Fatal(err)
		}
		var msg interface{} = &structs.AllocUpdateRequest{Alloc: []*structs.Allocation{report}}
		if typ == structs.AllocClientStatusRequestType {
			msg = &structs.AllocClientStatusUpdate{Allocs: []structs.AllocClientStatus{structs.ClientStatusOf(report)}}
		}
		applyMsg(t, f, 3, typ, msg)
		stores[typ] = f
	}
	old, _ := stores[structs.AllocClientUpdateRequestType].State().AllocByID(nil, "a1")
	slim, _ := stores[structs.AllocClientStatusRequestType].State().AllocByID(nil, "a1")
	if old == nil || slim == nil || old.ClientStatus != structs.AllocClientStatusRunning || old.ModifyIndex != 3 {
		t.Fatalf("stored = %+v and %+v", old, slim)
	}
	if !reflect.DeepEqual(old, slim) {
		w, _ := json.Marshal(old)
		g, _ := json.Marshal(slim)
		t.Errorf("whole-allocation entry stored\n%s\nreport entry stored\n%s", w, g)
	}
}
