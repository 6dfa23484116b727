package state

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestAllocsByEval(t *testing.T) {
	s, web, db := storeWithWebAndDB(t)
	if err := s.UpsertEvals(3, []*structs.Evaluation{
		{ID: "e-web", Namespace: "default", JobID: "web", Status: structs.EvalStatusComplete},
	}); err != nil {
		t.Fatal(err)
	}
	mk := func(id, eval string, job *structs.Job) *structs.Allocation {
		a := usageAlloc(id, "n1", job, 100, 64)
		a.EvalID = eval
		return a
	}
	if err := s.UpsertPlanResults(4, &structs.ApplyPlanResultsRequest{Job: web, Allocs: []*structs.Allocation{
		mk("a1", "e-web", web), mk("a2", "e-web", web), mk("a3", "e-web-old", web),
	}}); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertPlanResults(5, &structs.ApplyPlanResultsRequest{Job: db, Allocs: []*structs.Allocation{
		mk("b1", "e-gone", db),
	}}); err != nil {
		t.Fatal(err)
	}
	ids := func(evalID string) []string {
		t.Helper()
		allocs, err := s.AllocsByEval(nil, evalID)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, a := range allocs {
			out = append(out, a.ID)
		}
		sort.Strings(out)
		return out
	}
	for eval, want := range map[string]string{
		"e-web":     "a1,a2", // a stored eval: its job's allocations, filtered
		"e-gone":    "b1",    // an eval no longer stored: found all the same
		"e-web-old": "a3",
		"e-none":    "",
	} {
		got := ""
		for i, id := range ids(eval) {
			if i > 0 {
				got += ","
			}
			got += id
		}
		if got != want {
			t.Errorf("AllocsByEval(%s) = %q, want %q", eval, got, want)
		}
	}
}

// The placements of one plan share one map of available nodes per
// datacenter when their counts are equal, and keep their own otherwise.
func TestPlanAllocsShareNodesAvailable(t *testing.T) {
	s := NewStateStore()
	job := lifecycleJob("web", 3)
	if err := s.UpsertJob(1, job); err != nil {
		t.Fatal(err)
	}
	var allocs []*structs.Allocation
	for i, avail := range []map[string]int{{"dc1": 5}, {"dc1": 5}, {"dc1": 4}} {
		a := usageAlloc(fmt.Sprintf("a%d", i), "n1", job, 10, 10)
		a.Metrics = &structs.AllocMetric{NodesAvailable: avail}
		allocs = append(allocs, a)
	}
	if err := s.UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs}); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]int{}
	for _, id := range []string{"a0", "a1", "a2"} {
		a, err := s.AllocByID(nil, id)
		if err != nil || a == nil {
			t.Fatalf("AllocByID(%s) = %v, %v", id, a, err)
		}
		got[id] = a.Metrics.NodesAvailable
	}
	if reflect.ValueOf(got["a0"]).UnsafePointer() != reflect.ValueOf(got["a1"]).UnsafePointer() {
		t.Errorf("equal counts of a0 and a1 not shared")
	}
	if got["a2"]["dc1"] != 4 || got["a1"]["dc1"] != 5 {
		t.Errorf("counts changed: %v", got)
	}
}
