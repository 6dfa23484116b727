package state

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// A snapshot writes each job its allocations point at once, and the
// restored allocations share it again.
func TestSnapshotWritesAllocJobsOnce(t *testing.T) {
	s := snapshotStore(t, 3, 3000)
	var buf bytes.Buffer
	if err := s.Persist(&buf, pool.MsgpackHandle); err != nil {
		t.Fatalf("Persist() error = %v", err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("/bin/true")); n != 3*3 {
		t.Errorf("the task config is in the snapshot %d times, want 9 (3 jobs, their versions, the jobs of their allocations)", n)
	}
	r, err := Restore(bytes.NewReader(buf.Bytes()), pool.MsgpackHandle)
	if err != nil {
		t.Fatalf("Restore() error = %v", err)
	}
	for _, id := range []string{"job-00000", "job-00001", "job-00002"} {
		want, err := s.AllocsByJob(nil, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		got, err := r.AllocsByJob(nil, "default", id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1000 || len(want) != 1000 {
			t.Fatalf("%s: restored %d allocations of %d, want 1000", id, len(got), len(want))
		}
		byID := map[string]*structs.Allocation{}
		for _, a := range want {
			byID[a.ID] = a
		}
		for _, a := range got {
			if a.Job == nil || a.Job != got[0].Job {
				t.Fatalf("%s: allocation %s does not share its job after restore", id, a.ID)
			}
			if reflect.ValueOf(a.Metrics.NodesAvailable).UnsafePointer() != reflect.ValueOf(got[0].Metrics.NodesAvailable).UnsafePointer() {
				t.Fatalf("%s: allocation %s does not share its equal count of available nodes after restore", id, a.ID)
			}
			if !reflect.DeepEqual(a, byID[a.ID]) {
				t.Fatalf("%s: allocation %s changed in the round trip:\n got %+v\nwant %+v", id, a.ID, a, byID[a.ID])
			}
		}
	}
	usage, err := r.NodeUsage("node-0000")
	if err != nil || usage.Allocs == 0 {
		t.Fatalf("restored node usage = %+v, %v", usage, err)
	}
}

// Snapshots written before allocations referred to their jobs (each
// allocation with its job inline) still restore.
func TestRestoreAllocsWithInlineJobs(t *testing.T) {
	job := lifecycleJob("web", 2)
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, pool.MsgpackHandle)
	for _, a := range []*structs.Allocation{usageAlloc("a1", "n1", job, 100, 64), usageAlloc("a2", "n1", job, 100, 64)} {
		if err := encodeRecord(enc, recAlloc, a); err != nil {
			t.Fatal(err)
		}
	}
	r, err := Restore(&buf, pool.MsgpackHandle)
	if err != nil {
		t.Fatalf("Restore() error = %v", err)
	}
	a, err := r.AllocByID(nil, "a2")
	if err != nil || a == nil || a.Job == nil || a.Job.ID != "web" {
		t.Fatalf("AllocByID(a2) = %+v, %v; want it with its job", a, err)
	}
}

// An allocation that points at a job record the snapshot lacks fails the
// restore instead of coming back without its job.
func TestRestoreRejectsDanglingAllocJob(t *testing.T) {
	var buf bytes.Buffer
	enc := codec.NewEncoder(&buf, pool.MsgpackHandle)
	if err := encodeRecord(enc, recAllocRef, &allocRef{JobRef: 7, Alloc: &structs.Allocation{ID: "a1", NodeID: "n1"}}); err != nil {
		t.Fatal(err)
	}
	_, err := Restore(&buf, pool.MsgpackHandle)
	if err == nil || !strings.Contains(err.Error(), "job record 7") {
		t.Fatalf("Restore() error = %v, want the missing job record named", err)
	}
}

// persistRestore writes s as a Raft snapshot and restores it into a new
// store.
func persistRestore(t *testing.T, s *StateStore) *StateStore {
	t.Helper()
	var buf bytes.Buffer
	if err := s.Persist(&buf, pool.MsgpackHandle); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(&buf, pool.MsgpackHandle)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
