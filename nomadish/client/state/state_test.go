package state

import (
	"path/filepath"
	"testing"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestStoreRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s, err := Open(path)
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	a := &structs.Allocation{ID: "a1", Name: "j.g[0]", ClientStatus: structs.AllocClientStatusRunning}
	if err := s.PutAlloc(a); err != nil {
		t.Fatalf("PutAlloc() error = %v", err)
	}
	ts := &structs.TaskState{State: structs.TaskStateRunning, Restarts: 2}
	h := &drivers.TaskHandle{Version: 1, State: "running", DriverState: []byte{1, 2, 3}, Config: &drivers.TaskConfig{ID: "a1/web/x"}}
	if err := s.PutTask("a1", "web", ts, h, false); err != nil {
		t.Fatalf("PutTask() error = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatalf("reopen error = %v", err)
	}
	defer s.Close()
	allocs, err := s.Allocs()
	if err != nil || len(allocs) != 1 || allocs[0].Name != "j.g[0]" {
		t.Fatalf("Allocs() = %v, %v, want one alloc j.g[0]", allocs, err)
	}
	gotTS, gotH, err := s.Task("a1", "web")
	if err != nil {
		t.Fatalf("Task() error = %v", err)
	}
	if gotTS == nil || gotTS.Restarts != 2 || gotTS.State != structs.TaskStateRunning {
		t.Errorf("Task() state = %+v, want running with 2 restarts", gotTS)
	}
	if gotH == nil || gotH.Config.ID != "a1/web/x" || len(gotH.DriverState) != 3 {
		t.Errorf("Task() handle = %+v, want the stored handle", gotH)
	}

	if err := s.PutTask("a1", "web", nil, nil, true); err != nil {
		t.Fatalf("PutTask(clear) error = %v", err)
	}
	if _, gotH, _ = s.Task("a1", "web"); gotH != nil {
		t.Errorf("Task() handle after clear = %+v, want nil", gotH)
	}
	if err := s.DeleteAlloc("a1"); err != nil {
		t.Fatalf("DeleteAlloc() error = %v", err)
	}
	if allocs, _ := s.Allocs(); len(allocs) != 0 {
		t.Errorf("Allocs() after delete = %d allocs, want 0", len(allocs))
	}
	if err := s.DeleteAlloc("missing"); err != nil {
		t.Errorf("DeleteAlloc(missing) error = %v, want nil", err)
	}
}

func TestStoreConcurrentWrites(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatalf("Open() error = %v", err)
	}
	defer s.Close()
	const n = 50
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() {
			id := structs.GenerateUUID()
			if err := s.PutAlloc(&structs.Allocation{ID: id}); err != nil {
				errs <- err
				return
			}
			errs <- s.PutTask(id, "web", &structs.TaskState{State: structs.TaskStateRunning}, &drivers.TaskHandle{Version: 1}, false)
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatalf("concurrent write error = %v", err)
		}
	}
	if allocs, err := s.Allocs(); err != nil || len(allocs) != n {
		t.Errorf("Allocs() = %d, %v, want %d", len(allocs), err, n)
	}
}
