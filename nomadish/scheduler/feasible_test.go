package scheduler

import (
	"slices"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestClassCache shows that feasibility is decided once per computed class
// unless a constraint reads a unique node value.
func TestClassCache(t *testing.T) {
	cases := []struct {
		name       string
		constraint structs.Constraint
		wantPlaced []int // acceptable counts: which node is seen first is random
		wantEscape bool
	}{
		// Both nodes claim one class, so the first node's answer is reused
		// for the second even though its attribute differs: both or none.
		{"cached per class", structs.Constraint{LTarget: "${attr.kernel.name}", Operand: "=", RTarget: "linux"}, []int{0, 2}, true},
		// A unique target escapes the class: each node is checked.
		{"unique escapes", structs.Constraint{LTarget: "${node.unique.name}", Operand: "=", RTarget: "a"}, []int{1}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			a, b := testNode("a", 4000, 8192), testNode("b", 4000, 8192)
			b.Attributes["kernel.name"] = "windows"
			a.ComputedClass, b.ComputedClass = "same", "same"
			h.state.upsertNode(a)
			h.state.upsertNode(b)
			job := testJob("web", 2, 100, 100)
			job.TaskGroups[0].Constraints = []*structs.Constraint{&tc.constraint}
			// Keep both placements apart so both nodes get looked at.
			job.TaskGroups[0].Constraints = append(job.TaskGroups[0].Constraints, &structs.Constraint{Operand: ConstraintDistinctHosts})
			h.state.upsertJob(job)
			if err := h.process(job, &structs.Evaluation{}); err != nil {
				t.Fatal(err)
			}
			got := len(h.placed())
			if !slices.Contains(tc.wantPlaced, got) {
				t.Errorf("placed = %d, want one of %v", got, tc.wantPlaced)
			}
			ev := h.lastEval()
			if len(h.created) > 0 {
				ev = h.created[0]
			}
			if got := ev.EscapedComputedClass; got != tc.wantEscape && len(h.created) > 0 {
				t.Errorf("EscapedComputedClass = %v, want %v", got, tc.wantEscape)
			}
		})
	}
}
