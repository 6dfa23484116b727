package state

import (
	"fmt"
	"maps"
	"math/rand"
	"reflect"
	"testing"
	"time"
	"unsafe"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func usageAlloc(id, node string, job *structs.Job, cpu, mem int64) *structs.Allocation {
	return &structs.Allocation{
		ID: id, EvalID: "e1", Namespace: job.Namespace, JobID: job.ID, Job: job, TaskGroup: "web", NodeID: node,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
		AllocatedResources: &structs.AllocatedResources{
			Tasks: map[string]*structs.AllocatedTaskResources{"t": {
				Cpu:    structs.AllocatedCpuResources{CpuShares: cpu},
				Memory: structs.AllocatedMemoryResources{MemoryMB: mem},
			}},
			Shared: structs.AllocatedSharedResources{DiskMB: 10},
		},
	}
}

// recountUsage sums the live allocations of a node the slow way.
func recountUsage(t *testing.T, s *StateStore, node string) NodeUsage {
	t.Helper()
	allocs, err := s.AllocsByNode(nil, node)
	if err != nil {
		t.Fatal(err)
	}
	u := NodeUsage{NodeID: node}
	for _, a := range allocs {
		if !a.TerminalStatus() {
			u.Used.Add(structs.AllocComparableResources(a))
			u.Allocs++
		}
	}
	return u
}

// TestNodeUsageFollowsAllocs drives random placements, stops, client
// updates and transitions and checks after each step, in the live store,
// in an older snapshot and after a restore, that the kept usage equals the
// sum of the node's live allocations, and the counts per client status a
// count of every allocation.
//
// Usage is kept by node slot: n1 and n2 register first, after enough other
// nodes that their slots lie past the first chunks; n3 gets its slot from
// its allocations and registers later; n4 never registers. The node
// catalogue's usage (FillUsage) must agree too.
func TestNodeUsageFollowsAllocs(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	index := uint64(2)
	register := func(id string) {
		t.Helper()
		index++
		if err := s.UpsertNode(index, &structs.Node{ID: id, Status: structs.NodeStatusReady}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2*usageChunkLen+5; i++ {
		register(fmt.Sprintf("idle-%03d", i))
	}
	register("n1")
	register("n2")
	nodes := []string{"n1", "n2", "n3", "n4"}
	rng := rand.New(rand.NewSource(7))
	var ids []string
	check := func(st *StateStore, when string) {
		t.Helper()
		for _, n := range nodes {
			got, err := st.NodeUsage(n)
			if err != nil {
				t.Fatal(err)
			}
			if want := recountUsage(t, st, n); got != want {
				t.Fatalf("%s: NodeUsage(%s) = %+v, want %+v", when, n, got, want)
			}
		}
		cat, err := st.NodeCatalog()
		if err != nil {
			t.Fatal(err)
		}
		if len(cat.Slots) != len(cat.Nodes) {
			t.Fatalf("%s: catalogue of %d nodes has %d slots", when, len(cat.Nodes), len(cat.Slots))
		}
		used := make([]structs.ComparableResources, len(cat.Nodes))
		if err := st.FillUsage(cat, used); err != nil {
			t.Fatal(err)
		}
		for i, cn := range cat.Nodes {
			if want := recountUsage(t, st, cn.Node.ID).Used; used[i] != want {
				t.Fatalf("%s: FillUsage gives %s %+v, want %+v", when, cn.Node.ID, used[i], want)
			}
		}
		all, err := st.Allocs(nil, "*", "")
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]int{}
		for _, a := range all {
			want[a.ClientStatus]++
		}
		if got, err := st.AllocCountsByClientStatus(); err != nil || !maps.Equal(got, want) {
			t.Fatalf("%s: AllocCountsByClientStatus() = %v, %v; want %v", when, got, err, want)
		}
	}
	var snap *StateStore
	for step := 0; step < 400; step++ {
		index++
		switch op := rng.Intn(6); {
		case op <= 1 || len(ids) == 0: // place
			id := fmt.Sprintf("a%03d", step)
			a := usageAlloc(id, nodes[rng.Intn(len(nodes))], job, int64(100+rng.Intn(400)), int64(64+rng.Intn(256)))
			if err := s.UpsertPlanResults(index, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{a}}); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		case op == 2: // server-side stop
			a, _ := s.AllocByID(nil, ids[rng.Intn(len(ids))])
			stop := a.Copy()
			stop.DesiredStatus = structs.AllocDesiredStatusStop
			if err := s.UpsertPlanResults(index, &structs.ApplyPlanResultsRequest{Job: job, AllocsStopped: []*structs.Allocation{stop}}); err != nil {
				t.Fatal(err)
			}
		case op == 3: // client report, sometimes terminal
			a, _ := s.AllocByID(nil, ids[rng.Intn(len(ids))])
			up := &structs.Allocation{ID: a.ID, ClientStatus: []string{
				structs.AllocClientStatusRunning, structs.AllocClientStatusComplete, structs.AllocClientStatusFailed,
			}[rng.Intn(3)]}
			if err := s.UpdateAllocsFromClient(index, []*structs.Allocation{up}); err != nil {
				t.Fatal(err)
			}
		case op == 5: // a plan of several stops and placements, nodes shared
			req := &structs.ApplyPlanResultsRequest{Job: job}
			for k := rng.Intn(4); k > 0; k-- {
				a, _ := s.AllocByID(nil, ids[rng.Intn(len(ids))])
				stop := a.Copy()
				stop.DesiredStatus = structs.AllocDesiredStatusStop
				req.AllocsStopped = append(req.AllocsStopped, stop)
			}
			for k := 1 + rng.Intn(5); k > 0; k-- {
				id := fmt.Sprintf("a%03d-%d", step, k)
				req.Allocs = append(req.Allocs, usageAlloc(id, nodes[rng.Intn(len(nodes))], job, int64(100+rng.Intn(400)), int64(64+rng.Intn(256))))
				ids = append(ids, id)
			}
			if err := s.UpsertPlanResults(index, req); err != nil {
				t.Fatal(err)
			}
		case op == 4: // transition: usage must not move
			id := ids[rng.Intn(len(ids))]
			yes := true
			if err := s.UpdateAllocsDesiredTransition(index, map[string]*structs.DesiredTransition{id: {Migrate: &yes}}, nil); err != nil {
				t.Fatal(err)
			}
		}
		if step == 200 {
			register("n3")
		}
		check(s, fmt.Sprintf("step %d", step))
		if step == 150 {
			snap = s.Snapshot()
		}
	}
	check(snap, "snapshot taken at step 150")

	r := persistRestore(t, s)
	check(r, "after restore")
	for _, n := range nodes {
		if u, _ := r.NodeUsage(n); u.Allocs == 0 {
			t.Errorf("restored NodeUsage(%s) is empty; the test placed nothing there?", n)
		}
	}
}

func TestDeleteAllocTxnReleasesUsage(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	a := usageAlloc("a1", "n1", job, 500, 256)
	if err := s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{a}}); err != nil {
		t.Fatal(err)
	}
	txn := s.db.Txn(true)
	batch := newWriteBatch()
	stored, err := batch.alloc(txn, "a1")
	if err != nil || stored == nil {
		t.Fatalf("a1 not stored: %v", err)
	}
	if err := deleteAllocTxn(txn, batch, stored); err != nil {
		t.Fatal(err)
	}
	if err := batch.flush(txn); err != nil {
		t.Fatal(err)
	}
	txn.Commit()
	if u, _ := s.NodeUsage("n1"); u.Allocs != 0 || u.Used != (structs.ComparableResources{}) {
		t.Errorf("NodeUsage after delete = %+v, want zero", u)
	}
	if c, err := s.AllocCountsByClientStatus(); err != nil || len(c) != 0 {
		t.Errorf("AllocCountsByClientStatus() after delete = %v, %v; want none", c, err)
	}
}

// TestAllocCountsByClientStatus counts allocations of every status, the
// terminal ones included.
func TestAllocCountsByClientStatus(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	var allocs []*structs.Allocation
	for i, status := range []string{structs.AllocClientStatusRunning, structs.AllocClientStatusRunning, structs.AllocClientStatusPending, structs.AllocClientStatusFailed} {
		a := usageAlloc(fmt.Sprintf("a%d", i), "n1", job, 10, 10)
		a.ClientStatus = status
		allocs = append(allocs, a)
	}
	if err := s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs}); err != nil {
		t.Fatal(err)
	}
	got, err := s.AllocCountsByClientStatus()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{structs.AllocClientStatusRunning: 2, structs.AllocClientStatusPending: 1, structs.AllocClientStatusFailed: 1}
	if !maps.Equal(got, want) {
		t.Fatalf("AllocCountsByClientStatus() = %v, want %v", got, want)
	}
}

// UpsertPlanResults keeps copies, so the caller's allocations stay its
// own; ApplyPlanResults keeps and returns the request's allocations.
func TestPlanResultsOwnership(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	mine := usageAlloc("mine", "n1", job, 100, 64)
	if err := s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{mine}}); err != nil {
		t.Fatal(err)
	}
	mine.NodeID = "elsewhere"
	if got, _ := s.AllocByID(nil, "mine"); got == mine || got.NodeID != "n1" {
		t.Fatalf("UpsertPlanResults stored the caller's allocation itself (node now %q)", got.NodeID)
	}
	given := usageAlloc("given", "n1", job, 100, 64)
	stored, err := s.ApplyPlanResults(3, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{given}})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := s.AllocByID(nil, "given"); len(stored) != 1 || stored[0] != given || got != given || given.CreateIndex != 3 {
		t.Fatalf("ApplyPlanResults returned %v and stored %p; want the request's allocation %p, created at 3", stored, got, given)
	}
}

// Placements of one plan share their repeated strings: stored, the second
// allocation's node, eval and job strings are the first one's, and the
// statuses are the constants.
func TestPlanResultsShareStrings(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	// Separate copies of equal strings, as decoding gives.
	fresh := func(v string) string { return string([]byte(v)) }
	var allocs []*structs.Allocation
	for _, id := range []string{"p1", "p2"} {
		a := usageAlloc(id, fresh("node-1"), job, 100, 64)
		a.EvalID, a.JobID, a.Namespace = fresh("eval-1"), fresh(job.ID), fresh(job.Namespace)
		a.ClientStatus, a.DesiredStatus = fresh(structs.AllocClientStatusPending), fresh(structs.AllocDesiredStatusRun)
		a.Metrics = &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: fresh("node-1")}}}
		allocs = append(allocs, a)
	}
	// A third placement with a port: its grant is its own.
	withPort := usageAlloc("p3", "node-1", job, 100, 64)
	withPort.AllocatedResources.Shared.Ports = []structs.AllocatedPortMapping{{Label: "http", Value: 25000}}
	allocs = append(allocs, withPort)
	stored, err := s.ApplyPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs})
	if err != nil {
		t.Fatal(err)
	}
	same := func(a, b string) bool { return unsafe.StringData(a) == unsafe.StringData(b) }
	first, second := stored[0], stored[1]
	if !same(first.NodeID, second.NodeID) || !same(first.EvalID, second.EvalID) {
		t.Errorf("the second placement holds strings of its own for its node and eval")
	}
	if !same(second.JobID, job.ID) || !same(second.Namespace, job.Namespace) {
		t.Errorf("a placement holds its own copies of the job's ID and namespace")
	}
	if !same(second.ClientStatus, structs.AllocClientStatusPending) || !same(second.DesiredStatus, structs.AllocDesiredStatusRun) {
		t.Errorf("a placement holds its own copies of its statuses")
	}
	if second.NodeID != "node-1" || second.EvalID != "eval-1" || second.JobID != job.ID {
		t.Errorf("shared strings changed the values: %q %q %q", second.NodeID, second.EvalID, second.JobID)
	}
	if !same(second.Metrics.ScoreMetaData[0].NodeID, second.NodeID) {
		t.Errorf("the placement's score metadata holds its own copy of the node ID")
	}
	if first.AllocatedResources != second.AllocatedResources {
		t.Errorf("placements with equal plain grants hold one each")
	}
	if third := stored[2]; third.AllocatedResources == second.AllocatedResources || len(third.AllocatedResources.Shared.Ports) != 1 {
		t.Errorf("a grant with a port was shared or lost: %+v", third.AllocatedResources)
	}
}

// Placements with equal scores share one map, across plans and through a
// restore; different scores, or a name the table does not know, keep
// their own. Values are never changed by sharing.
func TestPlanResultsShareScoreMaps(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	scored := func(id string, scores map[string]float64) *structs.Allocation {
		a := usageAlloc(id, "node-1", job, 100, 64)
		a.Metrics = &structs.AllocMetric{ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: "node-1", Scores: scores}}}
		return a
	}
	known := func(binpack float64) map[string]float64 {
		return map[string]float64{structs.ScoreBinpack: binpack, structs.ScoreJobAntiAffinity: 0,
			structs.ScoreNodeAffinity: 0, structs.ScoreAllocationSpread: 0}
	}
	odd := known(0.5)
	odd["custom"] = 1
	for i, plan := range [][]*structs.Allocation{
		{scored("s1", known(0.5)), scored("s2", known(0.25))},
		{scored("s3", known(0.5)), scored("s4", odd), scored("s5", map[string]float64{"custom": 1})},
	} {
		if _, err := s.ApplyPlanResults(uint64(2+i), &structs.ApplyPlanResultsRequest{Job: job, Allocs: plan}); err != nil {
			t.Fatal(err)
		}
	}
	scoresOf := func(st *StateStore, id string) map[string]float64 {
		t.Helper()
		a, err := st.AllocByID(nil, id)
		if err != nil || a == nil {
			t.Fatalf("AllocByID(%s) = %v, %v", id, a, err)
		}
		return a.Metrics.ScoreMetaData[0].Scores
	}
	same := func(x, y map[string]float64) bool {
		return reflect.ValueOf(x).Pointer() == reflect.ValueOf(y).Pointer()
	}
	for _, st := range []*StateStore{s, persistRestore(t, s)} {
		if !same(scoresOf(st, "s1"), scoresOf(st, "s3")) {
			t.Error("two placements with equal scores hold a map each")
		}
		if same(scoresOf(st, "s1"), scoresOf(st, "s2")) || scoresOf(st, "s2")[structs.ScoreBinpack] != 0.25 {
			t.Errorf("different scores share a map: s2 = %v", scoresOf(st, "s2"))
		}
		if m := scoresOf(st, "s4"); same(m, scoresOf(st, "s1")) || len(m) != 5 || m["custom"] != 1 {
			t.Errorf("scores with an unknown name were shared or changed: %v", m)
		}
		if m := scoresOf(st, "s5"); len(m) != 1 || m["custom"] != 1 {
			t.Errorf("s5 scores = %v", m)
		}
	}
	// Plans the store may not keep (UpsertPlanResults) stay out of the
	// table: their maps are the caller's.
	theirs := known(0.75)
	if err := s.UpsertPlanResults(4, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{scored("s6", theirs)}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplyPlanResults(5, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{scored("s7", known(0.75))}}); err != nil {
		t.Fatal(err)
	}
	if same(scoresOf(s, "s7"), theirs) {
		t.Error("the store shared a map its caller owns")
	}
}

// Placements that passed over the same full nodes record equal counts of
// exhaustion, which the store keeps once, through restores too.
func TestPlanResultsShareExhaustedCounts(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	exhausted := func(id string, dims map[string]int) *structs.Allocation {
		a := usageAlloc(id, "node-1", job, 100, 64)
		a.Metrics = &structs.AllocMetric{NodesExhausted: 2, DimensionExhausted: dims}
		return a
	}
	theirs := map[string]int{"memory": 2}
	plan := []*structs.Allocation{
		exhausted("e1", theirs),
		exhausted("e2", map[string]int{"memory": 2}),
		exhausted("e3", map[string]int{"memory": 3}),
		exhausted("e4", map[string]int{"cpu": 1, "memory": 1}),
		exhausted("e5", map[string]int{"memory": 1, "cpu": 1}),
		exhausted("e6", map[string]int{"cpu": 1, "memory": 1, "disk": 1}),
	}
	if _, err := s.ApplyPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: plan}); err != nil {
		t.Fatal(err)
	}
	same := func(x, y map[string]int) bool { return reflect.ValueOf(x).Pointer() == reflect.ValueOf(y).Pointer() }
	for _, st := range []*StateStore{s, persistRestore(t, s)} {
		dims := map[string]map[string]int{}
		for _, id := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
			a, err := st.AllocByID(nil, id)
			if err != nil || a == nil {
				t.Fatalf("AllocByID(%s) = %v, %v", id, a, err)
			}
			dims[id] = a.Metrics.DimensionExhausted
		}
		if !same(dims["e1"], dims["e2"]) || !same(dims["e4"], dims["e5"]) {
			t.Error("equal counts are held in maps of their own")
		}
		if same(dims["e1"], dims["e3"]) || dims["e3"]["memory"] != 3 || len(dims["e6"]) != 3 || dims["e5"]["cpu"] != 1 {
			t.Errorf("counts changed or wrongly shared: %v", dims)
		}
	}
	if len(theirs) != 1 || theirs["memory"] != 2 || plan[1].Metrics.DimensionExhausted["memory"] != 2 {
		t.Error("the store changed the caller's maps")
	}
}

// The store shares maps between the metrics it keeps, never by changing
// the metrics its caller passed: a leader's request is the scheduler's own
// plan.
func TestPlanResultsLeaveCallersMetricsAlone(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	withMetrics := func(id string, available map[string]int) *structs.Allocation {
		a := usageAlloc(id, "node-1", job, 100, 64)
		a.Metrics = &structs.AllocMetric{NodesAvailable: available,
			ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: "node-1", Scores: map[string]float64{structs.ScoreBinpack: 0.5}}}}
		return a
	}
	first, second := withMetrics("m1", map[string]int{"dc1": 3}), withMetrics("m2", map[string]int{"dc1": 3})
	theirs, theirMeta := second.Metrics, second.Metrics.ScoreMetaData[0]
	theirAvailable, theirScores := theirs.NodesAvailable, theirMeta.Scores
	if _, err := s.ApplyPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{first, second}}); err != nil {
		t.Fatal(err)
	}
	stored, err := s.AllocByID(nil, "m2")
	if err != nil || stored == nil {
		t.Fatalf("AllocByID = %v, %v", stored, err)
	}
	same := func(x, y interface{}) bool { return reflect.ValueOf(x).Pointer() == reflect.ValueOf(y).Pointer() }
	if stored.Metrics == theirs || stored.Metrics.ScoreMetaData[0] == theirMeta {
		t.Fatal("the store keeps the caller's metrics object")
	}
	if !same(theirs.NodesAvailable, theirAvailable) || !same(theirMeta.Scores, theirScores) || len(theirs.ScoreMetaData) != 1 {
		t.Error("the store changed the caller's metrics")
	}
	first1, _ := s.AllocByID(nil, "m1")
	if !same(stored.Metrics.NodesAvailable, first1.Metrics.NodesAvailable) {
		t.Error("equal counts of available nodes are not shared")
	}
	if m := stored.Metrics; m.ScoreMetaData[0].NodeID != "node-1" || m.ScoreMetaData[0].Scores[structs.ScoreBinpack] != 0.5 || m.NodesAvailable["dc1"] != 3 {
		t.Errorf("stored metrics = %+v, score record %+v", m, m.ScoreMetaData[0])
	}
}

// A node's allocations watch fires when the servers place or update an
// allocation there, not on client reports or on other nodes; Restore
// rebuilds the rows.
func TestWatchNodeAllocs(t *testing.T) {
	s, job := storeWithJob(t, "web", 1)
	place := func(index uint64, id, node string) {
		t.Helper()
		if err := s.UpsertPlanResults(index, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{usageAlloc(id, node, job, 10, 10)}}); err != nil {
			t.Fatal(err)
		}
	}
	place(2, "a1", "n1")
	place(3, "b1", "n2")
	watch := func() memdb.WatchSet {
		ws := memdb.NewWatchSet()
		if _, err := s.NodeAllocModifyIndexes(ws, "n1"); err != nil {
			t.Fatal(err)
		}
		return ws
	}
	fired := func(ws memdb.WatchSet) bool { return !ws.Watch(time.After(20 * time.Millisecond)) }

	ws := watch()
	if err := s.UpdateAllocsFromClient(4, []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}}); err != nil {
		t.Fatal(err)
	}
	place(5, "b2", "n2")
	if fired(ws) {
		t.Fatal("the watch of n1 fired on a client report and a placement on n2")
	}
	place(6, "a2", "n1")
	if !fired(ws) {
		t.Fatal("the watch of n1 did not fire on a placement there")
	}
	ws = watch()
	a, _ := s.AllocByID(nil, "a1")
	stop := a.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	if err := s.UpsertPlanResults(7, &structs.ApplyPlanResultsRequest{Job: job, AllocsStopped: []*structs.Allocation{stop}}); err != nil {
		t.Fatal(err)
	}
	if !fired(ws) {
		t.Fatal("the watch of n1 did not fire when the servers stopped an allocation there")
	}

	r := persistRestore(t, s)
	got, err := r.NodeAllocModifyIndexes(nil, "n1")
	if err != nil || len(got) != 2 || got["a1"] != 7 || got["a2"] != 6 {
		t.Fatalf("restored indexes of n1 = %v, %v; want a1:7 a2:6", got, err)
	}
}
