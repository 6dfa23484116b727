package server

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func codecPlanRequest(n int) *structs.ApplyPlanResultsRequest {
	job := &structs.Job{ID: "web", Namespace: "default", Type: structs.JobTypeService, Datacenters: []string{"dc1"}}
	job.Canonicalize()
	req := &structs.ApplyPlanResultsRequest{Job: job}
	for i := 0; i < n; i++ {
		req.Allocs = append(req.Allocs, &structs.Allocation{
			ID: fmt.Sprintf("%08d-0000-0000-0000-000000000000", i), Namespace: "default", NodeID: fmt.Sprintf("node-%04d", i),
			JobID: "web", TaskGroup: "web", Name: fmt.Sprintf("web.web[%d]", i),
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusPending,
			AllocatedResources: &structs.AllocatedResources{Tasks: map[string]*structs.AllocatedTaskResources{
				"t": {Cpu: structs.AllocatedCpuResources{CpuShares: 100}, Memory: structs.AllocatedMemoryResources{MemoryMB: 64}},
			}},
			Metrics: &structs.AllocMetric{NodesInPool: 5000, NodesAvailable: map[string]int{"dc1": 5000},
				ScoreMetaData: []*structs.NodeScoreMeta{{NodeID: "n", Scores: map[string]float64{"binpack": 0.5}, NormScore: 0.5}}},
		})
	}
	return req
}

// Encoded messages own their bytes: encoding another message, which reuses
// the pooled buffer, leaves an earlier result as it was.
func TestEncodeMsgResultsAreIndependent(t *testing.T) {
	first := codecPlanRequest(3)
	a, err := encodeMsg(structs.ApplyPlanResultsRequestType, first)
	if err != nil {
		t.Fatal(err)
	}
	snapshot := append([]byte(nil), a...)
	if _, err := encodeMsg(structs.ApplyPlanResultsRequestType, codecPlanRequest(50)); err != nil {
		t.Fatal(err)
	}
	if string(a) != string(snapshot) {
		t.Fatalf("an earlier encoded message changed when the next was encoded")
	}
	if a[0] != byte(structs.ApplyPlanResultsRequestType) {
		t.Fatalf("message type byte = %d, want %d", a[0], structs.ApplyPlanResultsRequestType)
	}
	var got structs.ApplyPlanResultsRequest
	if err := decodeMsg(a[1:], &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Allocs) != 3 || !reflect.DeepEqual(got.Allocs[2].AllocatedResources, first.Allocs[2].AllocatedResources) || got.Job.ID != "web" {
		t.Fatalf("decoded %+v, want the three allocations of web back", got)
	}
	if err := decodeMsg([]byte{0xc1}, &got); err == nil {
		t.Fatal("decodeMsg of a malformed message: no error")
	}
}

// BenchmarkEncodeMsg encodes a plan of 1,000 allocations for the Raft log.
func BenchmarkEncodeMsg(b *testing.B) {
	req := codecPlanRequest(1000)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := encodeMsg(structs.ApplyPlanResultsRequestType, req); err != nil {
			b.Fatal(err)
		}
	}
}
