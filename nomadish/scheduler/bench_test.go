package scheduler

import (
	"fmt"
	"math/rand"
	"sort"
	"syscall"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// benchCluster fills a harness with nodes split over two datacenters and
// racks, sized like Nomad's scheduler benchmarks: 14,000 MHz and 32,000 MB.
func benchCluster(tb testing.TB, nodes, racks int) *harness {
	h := newHarness(tb)
	h.noApply = true
	for i := 0; i < nodes; i++ {
		n := testNode(nodeName(i), 14000, 32000)
		n.Datacenter = fmt.Sprintf("dc-%d", i%2+1)
		n.Meta["rack"] = fmt.Sprintf("r%d", i%racks)
		n.ComputedClass = "bench"
		h.state.upsertNode(n)
	}
	return h
}

func benchJob(count int, spread bool) *structs.Job {
	job := testJob("bench", count, 6000, 6000)
	job.Datacenters = []string{"dc-1", "dc-2"}
	if spread {
		job.Spreads = []*structs.Spread{{Attribute: "${meta.rack}"}}
	}
	return job
}

// cpuTime is the process's user plus system CPU time. Benchmarks report it
// per op next to wall time because the machine they run on is shared.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServiceScheduler runs one full evaluation per op: every alloc of
// the job placed against an empty cluster.
func BenchmarkServiceScheduler(b *testing.B) {
	for _, nodes := range []int{1000, 5000, 10000} {
		for _, allocs := range []int{300, 600, 900, 1200} {
			for _, spread := range []bool{false, true} {
				name := fmt.Sprintf("%d_nodes_%d_allocs_spread=%v", nodes, allocs, spread)
				b.Run(name, func(b *testing.B) {
					h := benchCluster(b, nodes, 25)
					placed := 0
					for _, as := range benchEvaluations(b, h, benchJob(allocs, spread)) {
						placed += len(as)
					}
					if placed != allocs {
						b.Fatalf("placed = %d, want %d", placed, allocs)
					}
				})
			}
		}
	}
}

// benchEvaluations registers job and runs b.N full evaluations of it,
// reporting CPU time per evaluation next to wall time, and returns the
// placements of the last one.
func benchEvaluations(b *testing.B, h *harness, job *structs.Job) map[string][]*structs.Allocation {
	h.state.upsertJob(job)
	eval := &structs.Evaluation{ID: "bench-eval"}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		h.plans = h.plans[:0]
		if err := h.process(job, eval); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
	return h.plans[len(h.plans)-1].NodeAllocation
}

// BenchmarkServiceSchedulerNearFull runs one full evaluation per op on a
// cluster 90% full: of 5,000 nodes, 4,500 hold two allocations of another
// job, which fill them, and the job's 1,000 allocations fill the rest,
// as in the last tenth of the C1M run.
func BenchmarkServiceSchedulerNearFull(b *testing.B) {
	const nodes, full, allocs = 5000, 4500, 1000
	h := benchCluster(b, nodes, 25)
	other := &structs.Job{ID: "other", Namespace: structs.DefaultNamespace, Type: structs.JobTypeService, Priority: structs.DefaultJobPriority}
	fullNodes := map[string]bool{}
	for i := 0; i < full; i++ {
		fullNodes[nodeName(i)] = true
		for k := 0; k < 2; k++ {
			h.state.upsertAlloc(&structs.Allocation{
				ID: fmt.Sprintf("other-%05d-%d", i, k), Namespace: other.Namespace, Name: fmt.Sprintf("other.g[%d]", 2*i+k),
				NodeID: nodeName(i), JobID: other.ID, Job: other, TaskGroup: "g",
				DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
				AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
					"t": {Cpu: structs.AllocatedCpuResources{CpuShares: 7000}, Memory: structs.AllocatedMemoryResources{MemoryMB: 6000}},
				}},
			})
		}
	}
	placed := 0
	for node, as := range benchEvaluations(b, h, benchJob(allocs, false)) {
		if fullNodes[node] {
			b.Fatalf("placed on full node %s", node)
		}
		placed += len(as)
	}
	if placed != allocs {
		b.Fatalf("placed = %d, want %d", placed, allocs)
	}
}

// packingResult is how many nodes a placement used against the
// first-fit-decreasing count for the same items.
type packingResult struct {
	used, ffd int
}

// packRandom places count randomly sized single-alloc groups (fixed seed)
// on identical nodes and compares the nodes used with first-fit-decreasing.
func packRandom(tb testing.TB, count, nodes int, seed int64) packingResult {
	h := newHarness(tb)
	const cpu, mem = 4000, 8192
	for i := 0; i < nodes; i++ {
		h.state.upsertNode(testNode(nodeName(i), cpu, mem))
	}
	rng := rand.New(rand.NewSource(seed))
	job := testJob("pack", 1, 1, 1)
	job.TaskGroups = nil
	type item struct{ cpu, mem int }
	var items []item
	for i := 0; i < count; i++ {
		it := item{cpu: 100 + rng.Intn(1900), mem: 128 + rng.Intn(3968)}
		items = append(items, it)
		job.TaskGroups = append(job.TaskGroups, &structs.TaskGroup{
			Name:  fmt.Sprintf("g%03d", i),
			Count: 1,
			Tasks: []*structs.Task{{Name: "t", Driver: "exec", Resources: &structs.Resources{CPU: it.cpu, MemoryMB: it.mem}}},
		})
	}
	h.state.upsertJob(job)
	if err := h.process(job, &structs.Evaluation{ID: "pack-eval"}); err != nil {
		tb.Fatal(err)
	}
	used := map[string]bool{}
	placed := 0
	for node, allocs := range h.plans[len(h.plans)-1].NodeAllocation {
		used[node] = true
		placed += len(allocs)
	}
	if placed != count {
		tb.Fatalf("placed = %d, want %d", placed, count)
	}
	// First-fit-decreasing on the larger normalised dimension.
	sort.Slice(items, func(i, j int) bool {
		return max(float64(items[i].cpu)/cpu, float64(items[i].mem)/mem) > max(float64(items[j].cpu)/cpu, float64(items[j].mem)/mem)
	})
	var bins []item
	for _, it := range items {
		done := false
		for k := range bins {
			if bins[k].cpu+it.cpu <= cpu && bins[k].mem+it.mem <= mem {
				bins[k].cpu += it.cpu
				bins[k].mem += it.mem
				done = true
				break
			}
		}
		if !done {
			bins = append(bins, it)
		}
	}
	return packingResult{used: len(used), ffd: len(bins)}
}

func TestPackingQuality(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := packRandom(t, 300, 400, seed)
			t.Logf("nodes used = %d, first-fit-decreasing = %d (%.1f%% over)", r.used, r.ffd, 100*float64(r.used-r.ffd)/float64(r.ffd))
			if limit := r.ffd + r.ffd/10; r.used > limit {
				t.Errorf("nodes used = %d, want <= %d (first-fit-decreasing %d + 10%%)", r.used, limit, r.ffd)
			}
		})
	}
}

func BenchmarkPacking(b *testing.B) {
	var r packingResult
	for i := 0; i < b.N; i++ {
		r = packRandom(b, 300, 400, 1)
	}
	b.ReportMetric(float64(r.used), "nodes")
	b.ReportMetric(float64(r.ffd), "ffd-nodes")
}

// BenchmarkSystemScheduler places a system job on every node of the cluster.
func BenchmarkSystemScheduler(b *testing.B) {
	for _, nodes := range []int{1000, 5000, 10000} {
		b.Run(fmt.Sprintf("%d_nodes", nodes), func(b *testing.B) {
			h := benchCluster(b, nodes, 25)
			job := benchJob(1, false)
			job.Type = structs.JobTypeSystem
			job.TaskGroups[0].Tasks[0].Resources = &structs.Resources{CPU: 100, MemoryMB: 128}
			h.state.upsertJob(job)
			eval := &structs.Evaluation{ID: "bench-system"}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				h.plans = h.plans[:0]
				if err := h.process(job, eval); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N)/1e6, "cpu-ms/op")
			if got := len(h.plans[len(h.plans)-1].NodeAllocation); got != nodes {
				b.Fatalf("nodes placed on = %d, want %d", got, nodes)
			}
		})
	}
}
