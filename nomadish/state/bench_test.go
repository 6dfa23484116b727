package state

import (
	"fmt"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// BenchmarkAllocWrites measures what the FSM does for each placement: the
// plan result that inserts an allocation and the client update that marks
// it running, in batches as the servers commit them, on a store that
// already holds allocs allocations. Reported per allocation.
func BenchmarkAllocWrites(b *testing.B) {
	for _, held := range []int{0, 100000} {
		b.Run(fmt.Sprintf("held=%d", held), func(b *testing.B) {
			s := NewStateStore()
			job := lifecycleJob("web", 1)
			if err := s.UpsertJob(1, job); err != nil {
				b.Fatal(err)
			}
			index := uint64(2)
			place := func(n int, prefix string) []*structs.Allocation {
				var out []*structs.Allocation
				for i := 0; i < n; i++ {
					a := usageAlloc(fmt.Sprintf("%s-%08d-0000-0000-0000-000000000000", prefix, i), fmt.Sprintf("node-%04d", i%5000), job, 100, 64)
					a.EvalID = structs.GenerateUUID()
					out = append(out, a)
				}
				return out
			}
			for done := 0; done < held; done += 1000 {
				index++
				if err := s.UpsertPlanResults(index, &structs.ApplyPlanResultsRequest{Job: job, Allocs: place(1000, fmt.Sprintf("h%05d", done/1000))}); err != nil {
					b.Fatal(err)
				}
			}
			const batch = 256
			b.ResetTimer()
			for i := 0; i < b.N; i += batch {
				allocs := place(batch, fmt.Sprintf("b%07d", i/batch))
				index++
				if err := s.UpsertPlanResults(index, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs}); err != nil {
					b.Fatal(err)
				}
				updates := make([]*structs.Allocation, len(allocs))
				for j, a := range allocs {
					updates[j] = &structs.Allocation{ID: a.ID, ClientStatus: structs.AllocClientStatusRunning}
				}
				index++
				if err := s.UpdateAllocsFromClient(index, updates); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
