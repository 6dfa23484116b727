package server

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"reflect"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"

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

// Large messages are written compressed, read back whole, and the decoded
// message does not share the buffer it was decompressed into.
func TestEncodeMsgCompressesLargeMessages(t *testing.T) {
	req := codecPlanRequest(1000)
	for _, a := range req.Allocs {
		a.ID, a.EvalID, a.NodeID = structs.GenerateUUID(), structs.GenerateUUID(), structs.GenerateUUID()
	}
	data, err := encodeMsg(structs.ApplyPlanResultsRequestType, req)
	if err != nil {
		t.Fatal(err)
	}
	if data[0] != byte(structs.CompressedMessageType) || data[1] != byte(structs.ApplyPlanResultsRequestType) {
		t.Fatalf("entry starts %d %d; want the compressed frame around type %d", data[0], data[1], structs.ApplyPlanResultsRequestType)
	}
	var plain bytes.Buffer
	if err := codec.NewEncoder(&plain, msgpackHandle).Encode(req); err != nil {
		t.Fatal(err)
	}
	if len(data)*4 > plain.Len() {
		t.Errorf("a plan of 1,000 allocations: %d bytes compressed of %d; want under a quarter", len(data), plain.Len())
	}
	typ, msg, release, err := openMsg(data)
	if err != nil || typ != structs.ApplyPlanResultsRequestType || !bytes.Equal(msg, plain.Bytes()) {
		t.Fatalf("openMsg() = type %d, %d bytes, %v; want type %d and the plain encoding back", typ, len(msg), err, structs.ApplyPlanResultsRequestType)
	}
	var got structs.ApplyPlanResultsRequest
	if err := decodeMsg(msg, &got); err != nil {
		t.Fatal(err)
	}
	release()
	// The next compressed entry reuses the buffer; the first decoded
	// message must not change with it.
	other := codecPlanRequest(1000)
	for _, a := range other.Allocs {
		a.ID, a.Name = structs.GenerateUUID(), "other"
	}
	data2, err := encodeMsg(structs.ApplyPlanResultsRequestType, other)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, release2, err := openMsg(data2); err != nil {
		t.Fatal(err)
	} else {
		release2()
	}
	for i, a := range got.Allocs {
		if a.ID != req.Allocs[i].ID || a.Name != req.Allocs[i].Name || a.NodeID != req.Allocs[i].NodeID {
			t.Fatalf("allocation %d decoded as %s %s on %s, want %s %s on %s", i, a.ID, a.Name, a.NodeID, req.Allocs[i].ID, req.Allocs[i].Name, req.Allocs[i].NodeID)
		}
	}

	// Small messages, and large ones that do not shrink, stay plain.
	small, err := encodeMsg(structs.ApplyPlanResultsRequestType, codecPlanRequest(1))
	if err != nil || small[0] != byte(structs.ApplyPlanResultsRequestType) {
		t.Fatalf("a one-allocation plan: first byte %d, %v; want the plain type %d", small[0], err, structs.ApplyPlanResultsRequestType)
	}
	noise := make([]byte, 16<<10)
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	job := &structs.Job{ID: "noise", Meta: map[string]string{"noise": string(noise)}}
	rnd, err := encodeMsg(structs.JobRegisterRequestType, &structs.JobRegisterRequest{Job: job})
	if err != nil || rnd[0] != byte(structs.JobRegisterRequestType) {
		t.Fatalf("a message of random bytes: first byte %d, %v; want it plain", rnd[0], err)
	}

	// A damaged compressed entry is an error, not a panic.
	for _, bad := range [][]byte{{byte(structs.CompressedMessageType)}, append([]byte(nil), data[:len(data)/2]...), {byte(structs.CompressedMessageType), 10, 0xff, 0xff, 0xff}} {
		if _, _, _, err := openMsg(bad); err == nil {
			t.Errorf("openMsg(%d damaged bytes): no error", len(bad))
		}
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
