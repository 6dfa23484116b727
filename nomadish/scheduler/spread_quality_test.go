package scheduler

import (
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestSpreadEvenAtScale checks that an even spread over racks stays even
// when bin-packing pulls towards fuller nodes.
func TestSpreadEvenAtScale(t *testing.T) {
	h := benchCluster(t, 1000, 25)
	h.noApply = false
	job := benchJob(600, true)
	h.state.upsertJob(job)
	if err := h.process(job, &structs.Evaluation{ID: "spread-eval"}); err != nil {
		t.Fatal(err)
	}
	perRack := map[string]int{}
	for node, allocs := range h.plans[0].NodeAllocation {
		perRack[h.state.nodeBy[node].Meta["rack"]] += len(allocs)
	}
	lo, hi := 1<<30, 0
	for _, c := range perRack {
		lo, hi = min(lo, c), max(hi, c)
	}
	if len(perRack) != 25 || hi-lo > 2 {
		t.Errorf("allocs per rack = %v (min %d, max %d), want 25 racks within 2 of 24", perRack, lo, hi)
	}
}
