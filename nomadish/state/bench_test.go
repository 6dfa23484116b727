package state

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/nomadish/nomadish/nomadish/pool"
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

// snapshotStore holds allocs allocations of jobs canonical jobs, placed in
// plans of 1,000 that share their job as the plan applier's do, each with
// the metrics the scheduler records.
func snapshotStore(tb testing.TB, jobs, allocs int) *StateStore {
	tb.Helper()
	s := NewStateStore()
	available := map[string]int{"dc1": 5000}
	index := uint64(1)
	for j := 0; j < jobs; j++ {
		job := &structs.Job{
			ID: fmt.Sprintf("job-%05d", j), Namespace: "default", Type: structs.JobTypeService,
			Datacenters: []string{"dc1"}, Priority: 50,
			TaskGroups: []*structs.TaskGroup{{
				Name: "web", Count: allocs / jobs,
				Tasks: []*structs.Task{{Name: "t", Driver: "raw_exec",
					Config:    map[string]interface{}{"command": "/bin/true"},
					Resources: &structs.Resources{CPU: 100, MemoryMB: 64}}},
			}},
		}
		job.Canonicalize()
		index++
		if err := s.UpsertJob(index, job); err != nil {
			tb.Fatal(err)
		}
		stored, err := s.JobByID(nil, job.Namespace, job.ID)
		if err != nil || stored == nil {
			tb.Fatalf("job %s: %v", job.ID, err)
		}
		for done := 0; done < allocs/jobs; done += 1000 {
			var batch []*structs.Allocation
			for i := done; i < done+1000 && i < allocs/jobs; i++ {
				a := usageAlloc(fmt.Sprintf("%08x-%04x-0000-0000-000000000000", j, i), fmt.Sprintf("node-%04d", (j*7+i)%5000), stored, 100, 64)
				a.Name = fmt.Sprintf("%s.web[%d]", job.ID, i)
				a.Metrics = &structs.AllocMetric{NodesInPool: 5000, NodesAvailable: available, NodesEvaluated: 13,
					ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: a.NodeID, NormScore: 0.8,
						Scores: map[string]float64{"binpack": 0.8, "job-anti-affinity": 0, "node-affinity": 0, "allocation-spread": 0}}}}
				batch = append(batch, a)
			}
			index++
			if err := s.UpsertPlanResults(index, &structs.ApplyPlanResultsRequest{Job: stored, Allocs: batch}); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return s
}

// BenchmarkSnapshot measures Persist, what a Raft snapshot costs the
// servers, on a store of 100 jobs and 100,000 allocations; reported per
// allocation, with the snapshot's size.
func BenchmarkSnapshot(b *testing.B) {
	const allocs = 100000
	s := snapshotStore(b, 100, allocs)
	var size int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var w countingWriter
		if err := s.Persist(&w, pool.MsgpackHandle); err != nil {
			b.Fatal(err)
		}
		size = w.n
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/allocs, "ns/alloc")
	b.ReportMetric(float64(size)/allocs, "bytes/alloc")
}

// BenchmarkRestore measures Restore, what a server starting from a Raft
// snapshot or installing one pays, on the store of BenchmarkSnapshot:
// decoding, and rebuilding the tables derived from the allocations.
func BenchmarkRestore(b *testing.B) {
	const allocs = 100000
	var buf bytes.Buffer
	if err := snapshotStore(b, 100, allocs).Persist(&buf, pool.MsgpackHandle); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := Restore(bytes.NewReader(buf.Bytes()), pool.MsgpackHandle)
		if err != nil {
			b.Fatal(err)
		}
		if got, err := r.NodeAllocModifyIndexes(nil, "node-0000"); err != nil || len(got) == 0 {
			b.Fatalf("restored node-0000 holds %d allocations, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/allocs, "ns/alloc")
}

type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}
