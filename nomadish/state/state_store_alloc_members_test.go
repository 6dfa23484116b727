package state

import (
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// allocSummary lists "id:status" of allocs, sorted.
func allocSummary(allocs []*structs.Allocation) string {
	var out []string
	for _, a := range allocs {
		out = append(out, a.ID+":"+a.ClientStatus)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// Reads by job and by node see the allocations as last written, status
// reports included, and their watches fire on any write of one of them,
// not on other jobs' or nodes' writes.
func TestAllocsByJobAndNodeFollowWrites(t *testing.T) {
	s := NewStateStore()
	web, db := lifecycleJob("web", 2), lifecycleJob("db", 1)
	for i, j := range []*structs.Job{web, db} {
		if err := s.UpsertJob(uint64(1+i), j); err != nil {
			t.Fatal(err)
		}
	}
	place := func(index uint64, job *structs.Job, allocs ...*structs.Allocation) {
		t.Helper()
		if err := s.UpsertPlanResults(index, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs}); err != nil {
			t.Fatal(err)
		}
	}
	report := func(index uint64, id, status string) {
		t.Helper()
		if err := s.UpdateAllocsFromClient(index, []*structs.Allocation{{ID: id, ClientStatus: status}}); err != nil {
			t.Fatal(err)
		}
	}
	byJob := func(ws memdb.WatchSet, ns, job string) string {
		t.Helper()
		allocs, err := s.AllocsByJob(ws, ns, job)
		if err != nil {
			t.Fatal(err)
		}
		return allocSummary(allocs)
	}
	byNode := func(ws memdb.WatchSet, node string) string {
		t.Helper()
		allocs, err := s.AllocsByNode(ws, node)
		if err != nil {
			t.Fatal(err)
		}
		return allocSummary(allocs)
	}
	fired := func(ws memdb.WatchSet) bool { return !ws.Watch(time.After(20 * time.Millisecond)) }

	// Watches set before the first allocation fire when it arrives.
	wsJob, wsNode := memdb.NewWatchSet(), memdb.NewWatchSet()
	if got := byJob(wsJob, "default", "web") + byNode(wsNode, "n1"); got != "" {
		t.Fatalf("before any placement: %q", got)
	}
	place(3, web, usageAlloc("w1", "n1", web, 10, 10), usageAlloc("w2", "n2", web, 10, 10))
	if !fired(wsJob) || !fired(wsNode) {
		t.Fatal("a watch did not fire on the first placement")
	}
	place(4, db, usageAlloc("d1", "n1", db, 10, 10))

	if got, want := byJob(nil, "default", "web"), "w1:pending,w2:pending"; got != want {
		t.Errorf("web = %q, want %q", got, want)
	}
	if got, want := byNode(nil, "n1"), "d1:pending,w1:pending"; got != want {
		t.Errorf("n1 = %q, want %q", got, want)
	}
	// A job in another namespace with the same ID is another job.
	if got := byJob(nil, "other", "web"); got != "" {
		t.Errorf("web in namespace other = %q, want none", got)
	}
	// A node whose ID starts with another's is another node.
	if got := byNode(nil, "n"); got != "" {
		t.Errorf("node n = %q, want none", got)
	}

	wsJob, wsNode = memdb.NewWatchSet(), memdb.NewWatchSet()
	byJob(wsJob, "default", "web")
	byNode(wsNode, "n2")
	report(5, "d1", structs.AllocClientStatusRunning) // db, on n1
	if fired(wsJob) || fired(wsNode) {
		t.Fatal("a report of db's allocation on n1 fired the watch of web or of n2")
	}
	report(6, "w2", structs.AllocClientStatusRunning)
	if !fired(wsJob) || !fired(wsNode) {
		t.Fatal("a report of w2 did not fire the watch of its job and node")
	}
	if got, want := byJob(nil, "default", "web"), "w1:pending,w2:running"; got != want {
		t.Errorf("web after the reports = %q, want %q", got, want)
	}
	if got, want := byNode(nil, "n1"), "d1:running,w1:pending"; got != want {
		t.Errorf("n1 after the reports = %q, want %q", got, want)
	}
	if a, _ := s.AllocByID(nil, "w2"); a == nil || a.ClientStatus != structs.AllocClientStatusRunning {
		t.Errorf("AllocByID(w2) = %+v", a)
	}

	// Restore rebuilds the rows.
	r := persistRestore(t, s)
	for node, want := range map[string]string{"n1": "d1:running,w1:pending", "n2": "w2:running"} {
		allocs, err := r.AllocsByNode(nil, node)
		if err != nil {
			t.Fatal(err)
		}
		if got := allocSummary(allocs); got != want {
			t.Errorf("restored %s = %q, want %q", node, got, want)
		}
	}
	allocs, err := r.AllocsByJob(nil, "default", "web")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := allocSummary(allocs), "w1:pending,w2:running"; got != want {
		t.Errorf("restored web = %q, want %q", got, want)
	}

	// Collecting the allocations deletes their rows and, once a job or
	// node has none left, its changed row.
	report(7, "w1", structs.AllocClientStatusComplete)
	report(8, "w2", structs.AllocClientStatusComplete)
	for _, id := range []string{"w1", "w2"} {
		a, _ := s.AllocByID(nil, id)
		stop := a.Copy()
		stop.DesiredStatus = structs.AllocDesiredStatusStop
		if err := s.UpsertPlanResults(9, &structs.ApplyPlanResultsRequest{Job: web, AllocsStopped: []*structs.Allocation{stop}}); err != nil {
			t.Fatal(err)
		}
	}
	wsJob = memdb.NewWatchSet()
	byJob(wsJob, "default", "web")
	res, err := s.ReapGC(10, &structs.GCReapRequest{Allocs: []string{"w1", "w2"}})
	if err != nil || res.Allocs != 2 {
		t.Fatalf("ReapGC = %+v, %v; want 2 allocations", res, err)
	}
	if !fired(wsJob) {
		t.Fatal("collecting web's allocations did not fire its watch")
	}
	if got := byJob(nil, "default", "web") + byNode(nil, "n2"); got != "" {
		t.Errorf("after collection: %q, want none", got)
	}
	if got, want := byNode(nil, "n1"), "d1:running"; got != want {
		t.Errorf("n1 after collection = %q, want %q", got, want)
	}
	txn := s.db.Txn(false)
	for table, want := range map[string]int{tableNodeAllocs: 1, tableJobAllocs: 1, tableAllocsChanged: 1} {
		it, err := txn.Get(table, "id")
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for raw := it.Next(); raw != nil; raw = it.Next() {
			n++
		}
		if n != want {
			t.Errorf("%s holds %d rows, want %d (d1 and its job)", table, n, want)
		}
	}
}

// AllocByID's watch fires when the allocation is written, not when another
// job's is; for an ID not stored, when an allocation is placed.
func TestAllocByIDWatch(t *testing.T) {
	s, web, db := storeWithWebAndDB(t)
	fired := func(ws memdb.WatchSet) bool { return !ws.Watch(time.After(20 * time.Millisecond)) }
	wsMissing := memdb.NewWatchSet()
	if a, err := s.AllocByID(wsMissing, "w1"); a != nil || err != nil {
		t.Fatalf("AllocByID(w1) before placement = %v, %v", a, err)
	}
	if err := s.UpsertPlanResults(3, &structs.ApplyPlanResultsRequest{Job: web, Allocs: []*structs.Allocation{usageAlloc("w1", "n1", web, 10, 10)}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertPlanResults(4, &structs.ApplyPlanResultsRequest{Job: db, Allocs: []*structs.Allocation{usageAlloc("d1", "n1", db, 10, 10)}}); err != nil {
		t.Fatal(err)
	}
	if !fired(wsMissing) {
		t.Fatal("the watch on an ID not stored did not fire when it was placed")
	}
	ws := memdb.NewWatchSet()
	if a, _ := s.AllocByID(ws, "w1"); a == nil || a.ModifyIndex != 3 {
		t.Fatalf("AllocByID(w1) = %+v", a)
	}
	if err := s.UpdateAllocsFromClient(5, []*structs.Allocation{{ID: "d1", ClientStatus: structs.AllocClientStatusRunning}}); err != nil {
		t.Fatal(err)
	}
	if fired(ws) {
		t.Fatal("a report of db's allocation fired the watch on w1")
	}
	if err := s.UpdateAllocsFromClient(6, []*structs.Allocation{{ID: "w1", ClientStatus: structs.AllocClientStatusRunning}}); err != nil {
		t.Fatal(err)
	}
	if !fired(ws) {
		t.Fatal("a report of w1 did not fire its watch")
	}
	if a, _ := s.AllocByID(nil, "w1"); a == nil || a.ClientStatus != structs.AllocClientStatusRunning || a.ModifyIndex != 6 {
		t.Fatalf("AllocByID(w1) after the report = %+v", a)
	}
}

// Allocations are found by whole ID or by prefix.
func TestAllocByIDAndPrefix(t *testing.T) {
	s, job := storeWithJob(t, "web", 2)
	if err := s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{
		usageAlloc("ab12", "n1", job, 10, 10), usageAlloc("ab34", "n1", job, 10, 10), usageAlloc("cd56", "n1", job, 10, 10),
	}}); err != nil {
		t.Fatal(err)
	}
	allocs, err := s.Allocs(nil, "", "ab")
	if err != nil || len(allocs) != 2 {
		t.Fatalf("Allocs(prefix ab) = %d, %v; want 2", len(allocs), err)
	}
	if a, _ := s.AllocByID(nil, "ab"); a != nil {
		t.Errorf("AllocByID(ab) found %s; an ID is matched whole", a.ID)
	}
	if _, err := s.db.Txn(false).First(tableNodeAllocs, "id_prefix", "n1", "x"); err == nil {
		t.Error("two arguments to the node prefix were accepted")
	}
}

// A node's rows carry each allocation's AllocModifyIndex: moved by the
// servers' writes, not by status reports.
func TestNodeAllocModifyIndexes(t *testing.T) {
	s, job := storeWithJob(t, "web", 2)
	a1, a2 := usageAlloc("a1", "n1", job, 10, 10), usageAlloc("a2", "n1", job, 10, 10)
	a1.AllocModifyIndex, a2.AllocModifyIndex = 2, 2
	if err := s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: []*structs.Allocation{a1, a2}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateAllocsFromClient(3, []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}}); err != nil {
		t.Fatal(err)
	}
	stop, _ := s.AllocByID(nil, "a2")
	stop = stop.Copy()
	stop.DesiredStatus = structs.AllocDesiredStatusStop
	stop.AllocModifyIndex = 4
	if err := s.UpsertPlanResults(4, &structs.ApplyPlanResultsRequest{Job: job, AllocsStopped: []*structs.Allocation{stop}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.NodeAllocModifyIndexes(nil, "n1")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["a1"] != 2 || got["a2"] != 4 {
		t.Errorf("NodeAllocModifyIndexes(n1) = %v, want a1:2 a2:4", got)
	}
	if got, _ := s.NodeAllocModifyIndexes(nil, "n2"); len(got) != 0 {
		t.Errorf("NodeAllocModifyIndexes(n2) = %v, want none", got)
	}
}

func TestApplyEdits(t *testing.T) {
	id := func(s string) string { return s }
	keep := func(s string, _ memberEdit) string { return s }
	for _, tc := range []struct {
		rows  []string
		edits memberEdits
		want  string
	}{
		{nil, memberEdits{"b": {}, "a": {}}, "a,b"},
		{[]string{"a", "c", "e"}, memberEdits{"d": {}, "b": {}, "f": {}}, "a,b,c,d,e,f"},
		{[]string{"a", "c", "e"}, memberEdits{"a": {deleted: true}, "e": {deleted: true}, "x": {deleted: true}}, "c"},
		{[]string{"a", "c", "e"}, memberEdits{"c": {}, "0": {}}, "0,a,c,e"},
		{[]string{"a"}, memberEdits{"a": {deleted: true}}, ""},
	} {
		rows := slices.Clone(tc.rows)
		got := strings.Join(applyEdits(rows, tc.edits, id, keep), ",")
		if got != tc.want {
			t.Errorf("applyEdits(%v, %v) = %q, want %q", tc.rows, tc.edits, got, tc.want)
		}
		if !slices.Equal(rows, tc.rows) {
			t.Errorf("applyEdits changed its input %v to %v", tc.rows, rows)
		}
	}
	// An edit replaces the row it names.
	entries := []nodeAllocEntry{{"a", 1}, {"b", 1}}
	got := applyEdits(entries, memberEdits{"b": {index: 5}}, func(e nodeAllocEntry) string { return e.ID },
		func(id string, e memberEdit) nodeAllocEntry { return nodeAllocEntry{id, e.index} })
	if !slices.Equal(got, []nodeAllocEntry{{"a", 1}, {"b", 5}}) {
		t.Errorf("updated entries = %v", got)
	}
}
