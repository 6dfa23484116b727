package server

import (
	"sort"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// drainNow is the clock of the drain decisions.
var drainNow = time.Unix(1000, 0)

func drainJob(typ string, maxParallel int) *structs.Job {
	j := &structs.Job{ID: "j-" + typ, Namespace: "default", Type: typ, TaskGroups: []*structs.TaskGroup{{Name: "g"}}}
	if maxParallel > 0 {
		j.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: maxParallel, MinHealthyTime: 10 * time.Second, HealthyDeadline: time.Minute}
	}
	return j
}

// upFor makes an allocation's task run since d before drainNow.
func upFor(d time.Duration) allocOpt {
	return func(a *structs.Allocation) {
		a.TaskStates = map[string]*structs.TaskState{"t": {State: structs.TaskStateRunning, StartedAt: drainNow.Add(-d)}}
	}
}

// createdAgo sets when an allocation was created.
func createdAgo(d time.Duration) allocOpt {
	return func(a *structs.Allocation) { a.CreateTime = drainNow.Add(-d).UnixNano() }
}

type allocOpt func(*structs.Allocation)

func withMigrate(a *structs.Allocation)  { yes := true; a.DesiredTransition.Migrate = &yes }
func withStopped(a *structs.Allocation)  { a.DesiredStatus = structs.AllocDesiredStatusStop }
func withComplete(a *structs.Allocation) { a.ClientStatus = structs.AllocClientStatusComplete }
func onNode(id string) allocOpt          { return func(a *structs.Allocation) { a.NodeID = id } }
func replacing(prev string) allocOpt {
	return func(a *structs.Allocation) { a.PreviousAllocation = prev }
}
func withStatus(s string) allocOpt { return func(a *structs.Allocation) { a.ClientStatus = s } }

func drainAlloc(id string, job *structs.Job, idx uint64, opts ...allocOpt) *structs.Allocation {
	a := &structs.Allocation{
		ID: id, NodeID: "n1", Namespace: "default", JobID: job.ID, Job: job, TaskGroup: "g",
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning, CreateIndex: idx,
		CreateTime: drainNow.Add(-time.Second).UnixNano(),
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

func TestDecideDrain(t *testing.T) {
	now := drainNow
	svc1 := drainJob(structs.JobTypeService, 0)
	svc2 := drainJob(structs.JobTypeService, 2)
	sys := drainJob(structs.JobTypeSystem, 0)
	batch := drainJob(structs.JobTypeBatch, 0)
	drain := &structs.DrainStrategy{}
	ignoreSys := &structs.DrainStrategy{DrainSpec: structs.DrainSpec{IgnoreSystemJobs: true}}
	past := &structs.DrainStrategy{ForceDeadline: now.Add(-time.Second).UnixNano()}
	future := &structs.DrainStrategy{ForceDeadline: now.Add(time.Hour).UnixNano()}

	tests := []struct {
		name     string
		strategy *structs.DrainStrategy
		allocs   []*structs.Allocation
		others   []*structs.Allocation
		want     []string
		wantDone bool
	}{
		{name: "empty node is done", strategy: drain, wantDone: true},
		{name: "terminal allocs are done", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1, withStopped), drainAlloc("b", svc1, 2, withComplete)}, wantDone: true},
		{name: "one at a time without migrate block", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1), drainAlloc("b", svc1, 2)}, want: []string{"a"}},
		{name: "max_parallel 2", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc2, 1), drainAlloc("b", svc2, 2), drainAlloc("c", svc2, 3)}, want: []string{"a", "b"}},
		{name: "waits for a pending replacement", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1, withMigrate, withStopped), drainAlloc("b", svc1, 2)},
			others: []*structs.Allocation{drainAlloc("r", svc1, 3, onNode("n2"), replacing("a"), withStatus(structs.AllocClientStatusPending))}},
		{name: "waits for the marked alloc to be replaced", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1, withMigrate), drainAlloc("b", svc1, 2)}},
		{name: "next batch once the replacement is healthy", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1, withMigrate, withStopped), drainAlloc("b", svc1, 2)},
			others: []*structs.Allocation{drainAlloc("r", svc1, 3, onNode("n2"), replacing("a"), upFor(11*time.Second))}, want: []string{"b"}},
		{name: "waits out min_healthy_time", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc2, 1, withMigrate, withStopped), drainAlloc("c", svc2, 2, withMigrate, withStopped), drainAlloc("b", svc2, 3)},
			others: []*structs.Allocation{
				drainAlloc("r", svc2, 4, onNode("n2"), replacing("a"), upFor(5*time.Second)),
				drainAlloc("s", svc2, 5, onNode("n2"), replacing("c"), upFor(9*time.Second)),
			}},
		{name: "a replacement past healthy_deadline no longer holds the drain", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc2, 1, withMigrate, withStopped), drainAlloc("c", svc2, 2, withMigrate, withStopped), drainAlloc("b", svc2, 3)},
			others: []*structs.Allocation{
				drainAlloc("r", svc2, 4, onNode("n2"), replacing("a"), withStatus(structs.AllocClientStatusPending), createdAgo(2*time.Minute)),
				drainAlloc("s", svc2, 5, onNode("n2"), replacing("c"), withStatus(structs.AllocClientStatusPending)),
			}, want: []string{"b"}},
		{name: "system allocs wait for the others", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1), drainAlloc("s", sys, 2)}, want: []string{"a"}},
		{name: "system allocs go last", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1, withStopped), drainAlloc("s", sys, 2)}, want: []string{"s"}},
		{name: "ignored system allocs stay and the drain ends", strategy: ignoreSys,
			allocs: []*structs.Allocation{drainAlloc("s", sys, 2)}, wantDone: true},
		{name: "max_parallel counts moves from other nodes", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1)},
			others: []*structs.Allocation{drainAlloc("x", svc1, 2, onNode("n3"), withMigrate)}},
		{name: "batch allocs are left to finish", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("b", batch, 1), drainAlloc("s", sys, 2)}},
		{name: "finished batch allocs end the drain", strategy: drain,
			allocs: []*structs.Allocation{drainAlloc("b", batch, 1, withComplete)}, wantDone: true},
		{name: "batch allocs are stopped at the deadline", strategy: past,
			allocs: []*structs.Allocation{drainAlloc("b", batch, 1)}, want: []string{"b"}},
		{name: "deadline passed forces all", strategy: past,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1, withMigrate), drainAlloc("b", svc1, 2), drainAlloc("s", sys, 3)}, want: []string{"b", "s"}},
		{name: "deadline ahead keeps the pace", strategy: future,
			allocs: []*structs.Allocation{drainAlloc("a", svc1, 1), drainAlloc("b", svc1, 2)}, want: []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			node := &structs.Node{ID: "n1", DrainStrategy: tc.strategy}
			byJob := map[structs.NamespacedID][]*structs.Allocation{}
			for _, a := range append(append([]*structs.Allocation{}, tc.allocs...), tc.others...) {
				k := structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}
				byJob[k] = append(byJob[k], a)
			}
			d := decideDrain(now, node, tc.allocs, byJob)
			var got []string
			for _, a := range d.migrate {
				got = append(got, a.ID)
			}
			sort.Strings(got)
			if d.done != tc.wantDone || !equalStrings(got, tc.want) {
				t.Errorf("decideDrain() = %v done=%v, want %v done=%v", got, d.done, tc.want, tc.wantDone)
			}
		})
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// fakeClients plays the clients: live allocations run, stopped ones complete.
func fakeClients(t *testing.T, s *Server) {
	t.Helper()
	all, err := s.State().Allocs(nil, "*", "")
	if err != nil {
		t.Fatalf("Allocs() error = %v", err)
	}
	var updates []*structs.Allocation
	for _, a := range all {
		switch {
		case a.DesiredStatus != structs.AllocDesiredStatusRun && !a.ClientTerminalStatus():
			updates = append(updates, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusComplete})
		case a.DesiredStatus == structs.AllocDesiredStatusRun && a.ClientStatus == structs.AllocClientStatusPending:
			updates = append(updates, &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning})
		}
	}
	if len(updates) > 0 {
		if err := s.RPC("Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: updates}, &structs.GenericResponse{}); err != nil {
			t.Fatalf("UpdateAlloc error = %v", err)
		}
	}
}

func TestServer_DrainMigratesAndEnds(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	n1, n2 := structs.GenerateUUID(), structs.GenerateUUID()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(n1)}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	job := testJob("web", 3)
	job.TaskGroups[0].Migrate = &structs.MigrateStrategy{MaxParallel: 1}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "web")) == 3 })
	fakeClients(t, s)
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(n2)}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}

	var reply structs.NodeDrainUpdateResponse
	if err := s.RPC("Node.UpdateDrain", &structs.NodeUpdateDrainRequest{NodeID: n1, DrainStrategy: &structs.DrainStrategy{DrainSpec: structs.DrainSpec{Deadline: int64(time.Hour)}}}, &reply); err != nil {
		t.Fatalf("Node.UpdateDrain error = %v", err)
	}
	maxMoving := 0
	waitFor(t, 30*time.Second, func() bool {
		all, _ := s.State().AllocsByJob(nil, "default", "web")
		moving := 0
		for _, a := range all {
			if a.NodeID == n1 && marked(a) && !a.ClientTerminalStatus() {
				moving++
			}
		}
		maxMoving = max(maxMoving, moving)
		fakeClients(t, s)
		n, _ := s.State().NodeByID(nil, n1)
		return n.DrainStrategy == nil
	})
	if maxMoving > 1 {
		t.Errorf("allocations migrating at once = %d, want at most max_parallel 1", maxMoving)
	}
	n, _ := s.State().NodeByID(nil, n1)
	if n.SchedulingEligibility != structs.NodeSchedulingIneligible {
		t.Errorf("eligibility after drain = %q, want ineligible", n.SchedulingEligibility)
	}
	live := liveAllocs(t, s, "web")
	if len(live) != 3 {
		t.Fatalf("live allocs = %d, want 3", len(live))
	}
	for _, a := range live {
		if a.NodeID != n2 {
			t.Errorf("alloc %s on node %s, want %s", a.ID, a.NodeID, n2)
		}
	}

	if err := s.RPC("Node.UpdateEligibility", &structs.NodeUpdateEligibilityRequest{NodeID: n1, Eligibility: structs.NodeSchedulingEligible}, &reply); err != nil {
		t.Fatalf("Node.UpdateEligibility error = %v", err)
	}
	n, _ = s.State().NodeByID(nil, n1)
	if n.SchedulingEligibility != structs.NodeSchedulingEligible {
		t.Errorf("eligibility = %q, want eligible", n.SchedulingEligibility)
	}
}

func TestServer_AllocStopReplaces(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	n1 := structs.GenerateUUID()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(n1)}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 1)}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	fakeClients(t, s)
	old := liveAllocs(t, s, "web")[0]
	var reply structs.AllocStopResponse
	if err := s.RPC("Alloc.Stop", &structs.AllocStopRequest{AllocID: old.ID}, &reply); err != nil {
		t.Fatalf("Alloc.Stop error = %v", err)
	}
	if reply.EvalID == "" {
		t.Errorf("Alloc.Stop EvalID empty")
	}
	waitFor(t, 10*time.Second, func() bool {
		live := liveAllocs(t, s, "web")
		return len(live) == 1 && live[0].ID != old.ID && live[0].PreviousAllocation == old.ID
	})
	if err := s.RPC("Alloc.Stop", &structs.AllocStopRequest{AllocID: "nope"}, &reply); err == nil {
		t.Errorf("Alloc.Stop(unknown) error = nil, want 404")
	}
}
