package state

import (
	"bytes"
	"errors"
	"testing"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func svcReg(id, name, alloc, node string, port int) *structs.ServiceRegistration {
	return &structs.ServiceRegistration{ID: id, ServiceName: name, Namespace: "default", NodeID: node,
		JobID: "web", AllocID: alloc, Address: "10.0.0.1", Port: port, Tags: []string{"a"}}
}

// servicesStore has allocations a1 and a2 on node n1, a3 on n2, and a
// terminal allocation done.
func servicesStore(t *testing.T) *StateStore {
	t.Helper()
	s := NewStateStore()
	job := &structs.Job{ID: "web", Namespace: "default", Type: structs.JobTypeService}
	var allocs []*structs.Allocation
	for _, a := range []struct{ id, node, status string }{
		{"a1", "n1", structs.AllocClientStatusRunning},
		{"a2", "n1", structs.AllocClientStatusRunning},
		{"a3", "n2", structs.AllocClientStatusRunning},
		{"done", "n1", structs.AllocClientStatusComplete},
	} {
		allocs = append(allocs, &structs.Allocation{ID: a.id, NodeID: a.node, Namespace: "default", JobID: "web",
			Job: job, TaskGroup: "web", EvalID: "e1", ClientStatus: a.status})
	}
	if err := s.UpsertPlanResults(1, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs}); err != nil {
		t.Fatal(err)
	}
	return s
}

func regIDs(regs []*structs.ServiceRegistration) []string {
	out := []string{}
	for _, r := range regs {
		out = append(out, r.ID)
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestServiceRegistrationWrites(t *testing.T) {
	tests := []struct {
		name  string
		apply func(s *StateStore) error
		// want are the IDs left, sorted by service name then ID.
		want []string
	}{
		{
			name:  "upsert keeps registrations of live allocations",
			apply: func(*StateStore) error { return nil },
			want:  []string{"r1", "r2", "r3"},
		},
		{
			name: "upsert drops unknown and terminal allocations",
			apply: func(s *StateStore) error {
				return s.UpsertServiceRegistrations(20, []*structs.ServiceRegistration{
					svcReg("gone", "web", "nope", "n1", 1), svcReg("late", "web", "done", "n1", 2)})
			},
			want: []string{"r1", "r2", "r3"},
		},
		{
			name:  "delete by ID",
			apply: func(s *StateStore) error { return s.DeleteServiceRegistrationByID(20, "default", "r2") },
			want:  []string{"r1", "r3"},
		},
		{
			name:  "delete by alloc",
			apply: func(s *StateStore) error { return s.DeleteServiceRegistrationsByAlloc(20, []string{"a1"}, nil) },
			want:  []string{"r2", "r3"},
		},
		{
			name: "delete by alloc, only some IDs",
			apply: func(s *StateStore) error {
				return s.DeleteServiceRegistrationsByAlloc(20, []string{"a1", "a2"}, []string{"r2"})
			},
			want: []string{"r1", "r3"},
		},
		{
			name:  "delete by node",
			apply: func(s *StateStore) error { return s.DeleteServiceRegistrationsByNode(20, []string{"n1"}) },
			want:  []string{"r3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := servicesStore(t)
			if err := s.UpsertServiceRegistrations(10, []*structs.ServiceRegistration{
				svcReg("r1", "web", "a1", "n1", 8080), svcReg("r2", "web", "a2", "n1", 8081), svcReg("r3", "db", "a3", "n2", 5432),
			}); err != nil {
				t.Fatal(err)
			}
			if err := tc.apply(s); err != nil {
				t.Fatalf("apply error = %v", err)
			}
			regs, err := s.ServiceRegistrations(nil, "*")
			if err != nil {
				t.Fatal(err)
			}
			got := regIDs(regs)
			// ServiceRegistrations sorts by name: db before web.
			want := []string{}
			for _, id := range []string{"r3", "r1", "r2"} {
				for _, w := range tc.want {
					if w == id {
						want = append(want, id)
					}
				}
			}
			if !equalStrings(got, want) {
				t.Errorf("ServiceRegistrations() = %v, want %v", got, want)
			}
		})
	}
}

func TestUpsertServiceRegistrationIndexes(t *testing.T) {
	s := servicesStore(t)
	r := svcReg("r1", "web", "a1", "n1", 8080)
	if err := s.UpsertServiceRegistrations(10, []*structs.ServiceRegistration{r}); err != nil {
		t.Fatal(err)
	}
	// The same data again changes nothing.
	if err := s.UpsertServiceRegistrations(11, []*structs.ServiceRegistration{r.Copy()}); err != nil {
		t.Fatal(err)
	}
	if got := s.ServiceRegistrationsIndex(nil); got != 10 {
		t.Errorf("ServiceRegistrationsIndex() after no-op = %d, want 10", got)
	}
	c := r.Copy()
	c.Status = structs.CheckCritical
	if err := s.UpsertServiceRegistrations(12, []*structs.ServiceRegistration{c}); err != nil {
		t.Fatal(err)
	}
	got, err := s.ServiceRegistrationByID(nil, "r1")
	if err != nil || got == nil {
		t.Fatalf("ServiceRegistrationByID() = %v, %v", got, err)
	}
	if got.CreateIndex != 10 || got.ModifyIndex != 12 || got.Status != structs.CheckCritical {
		t.Errorf("after status change = create %d modify %d status %q, want 10 12 critical", got.CreateIndex, got.ModifyIndex, got.Status)
	}
	if err := s.DeleteServiceRegistrationByID(13, "other", "r1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DeleteServiceRegistrationByID(other namespace) = %v, want ErrNotFound", err)
	}
	byName, _ := s.ServiceRegistrationsByName(nil, "default", "web")
	byAlloc, _ := s.ServiceRegistrationsByAlloc(nil, "a1")
	if len(byName) != 1 || len(byAlloc) != 1 {
		t.Errorf("by name %d, by alloc %d, want 1 and 1", len(byName), len(byAlloc))
	}

	var buf bytes.Buffer
	if err := s.Persist(&buf, pool.MsgpackHandle); err != nil {
		t.Fatalf("Persist() error = %v", err)
	}
	restored, err := Restore(&buf, pool.MsgpackHandle)
	if err != nil {
		t.Fatalf("Restore() error = %v", err)
	}
	rr, err := restored.ServiceRegistrationByID(nil, "r1")
	if err != nil || rr == nil || !rr.Equal(got) || rr.CreateIndex != 10 {
		t.Errorf("restored ServiceRegistrationByID() = %+v, %v, want %+v", rr, err, got)
	}
}
