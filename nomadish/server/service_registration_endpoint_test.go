package server

import (
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestParseChoose(t *testing.T) {
	tests := []struct {
		in      string
		n       int
		key     string
		wantErr bool
	}{
		{in: "", n: 0, key: ""},
		{in: "2|abc", n: 2, key: "abc"},
		{in: "1|a|b", n: 1, key: "a|b"},
		{in: "x|abc", wantErr: true},
		{in: "0|abc", wantErr: true},
		{in: "2", wantErr: true},
		{in: "2|", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			n, key, err := parseChoose(tc.in)
			if (err != nil) != tc.wantErr || n != tc.n || key != tc.key {
				t.Errorf("parseChoose(%q) = %d, %q, %v, want %d, %q, error %v", tc.in, n, key, err, tc.n, tc.key, tc.wantErr)
			}
		})
	}
}

func TestChooseInstancesIsStable(t *testing.T) {
	var regs []*structs.ServiceRegistration
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		regs = append(regs, &structs.ServiceRegistration{ID: id})
	}
	first := chooseInstances(regs, 2, "client-1")
	if len(first) != 2 {
		t.Fatalf("chooseInstances(2) = %d instances, want 2", len(first))
	}
	// Removing an instance that was not chosen keeps the choice.
	var rest []*structs.ServiceRegistration
	dropped := false
	for _, r := range regs {
		if !dropped && r.ID != first[0].ID && r.ID != first[1].ID {
			dropped = true
			continue
		}
		rest = append(rest, r)
	}
	again := chooseInstances(rest, 2, "client-1")
	if again[0].ID != first[0].ID || again[1].ID != first[1].ID {
		t.Errorf("chooseInstances() = %s,%s, then %s,%s", first[0].ID, first[1].ID, again[0].ID, again[1].ID)
	}
	if got := chooseInstances(regs, 10, "k"); len(got) != len(regs) {
		t.Errorf("chooseInstances(10 of %d) = %d", len(regs), len(got))
	}
}

func TestListStubs(t *testing.T) {
	regs := []*structs.ServiceRegistration{
		{ID: "1", Namespace: "default", ServiceName: "web", Tags: []string{"b", "a"}},
		{ID: "2", Namespace: "default", ServiceName: "web", Tags: []string{"c", "a"}},
		{ID: "3", Namespace: "default", ServiceName: "db"},
		{ID: "4", Namespace: "prod", ServiceName: "web"},
	}
	got := listStubs(regs)
	if len(got) != 2 || got[0].Namespace != "default" || got[1].Namespace != "prod" {
		t.Fatalf("listStubs() namespaces = %+v", got)
	}
	d := got[0].Services
	if len(d) != 2 || d[0].ServiceName != "db" || d[1].ServiceName != "web" {
		t.Fatalf("listStubs() default services = %+v", d)
	}
	if tags := d[1].Tags; len(tags) != 3 || tags[0] != "a" || tags[1] != "b" || tags[2] != "c" {
		t.Errorf("web tags = %v, want [a b c]", tags)
	}
	if d[0].Tags == nil {
		t.Errorf("db tags = nil, want []")
	}
}

func applyMsg(t *testing.T, f *fsm, index uint64, typ structs.MessageType, msg interface{}) {
	t.Helper()
	buf, err := encodeMsg(typ, msg)
	if err != nil {
		t.Fatal(err)
	}
	if res := f.Apply(&raft.Log{Index: index, Type: raft.LogCommand, Data: buf}); res != nil {
		if err, ok := res.(error); ok {
			t.Fatalf("apply %d: %v", typ, err)
		}
	}
}

// TestFSMRemovesServicesOfStoppedAllocs: the registrations of an
// allocation go when its client reports it terminal, and those of a node
// when the node is marked down.
func TestFSMRemovesServicesOfStoppedAllocs(t *testing.T) {
	tests := []struct {
		name  string
		apply func(t *testing.T, f *fsm)
		want  int
	}{
		{name: "running allocs keep theirs", apply: func(*testing.T, *fsm) {}, want: 2},
		{name: "alloc complete", want: 1, apply: func(t *testing.T, f *fsm) {
			applyMsg(t, f, 10, structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
				Alloc: []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusComplete}}})
		}},
		{name: "alloc still running", want: 2, apply: func(t *testing.T, f *fsm) {
			applyMsg(t, f, 10, structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{
				Alloc: []*structs.Allocation{{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}}})
		}},
		{name: "alloc complete, reported alone", want: 1, apply: func(t *testing.T, f *fsm) {
			applyMsg(t, f, 10, structs.AllocClientStatusRequestType, &structs.AllocClientStatusUpdate{
				Allocs: []structs.AllocClientStatus{{ID: "a1", ClientStatus: structs.AllocClientStatusComplete}}})
		}},
		{name: "alloc still running, reported alone", want: 2, apply: func(t *testing.T, f *fsm) {
			applyMsg(t, f, 10, structs.AllocClientStatusRequestType, &structs.AllocClientStatusUpdate{
				Allocs: []structs.AllocClientStatus{{ID: "a1", ClientStatus: structs.AllocClientStatusRunning}}})
		}},
		{name: "node down", want: 0, apply: func(t *testing.T, f *fsm) {
			applyMsg(t, f, 10, structs.NodeUpdateStatusRequestType, &nodeStatusUpdate{NodeID: "n1", Status: structs.NodeStatusDown})
		}},
		{name: "delete by alloc message", want: 1, apply: func(t *testing.T, f *fsm) {
			applyMsg(t, f, 10, structs.ServiceRegistrationDeleteByAllocRequestType, &structs.ServiceRegistrationDeleteByAllocRequest{AllocIDs: []string{"a2"}})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFSM(hclog.NewNullLogger())
			applyMsg(t, f, 1, structs.NodeRegisterRequestType, &structs.NodeRegisterRequest{Node: &structs.Node{ID: "n1", Status: structs.NodeStatusReady}})
			job := &structs.Job{ID: "web", Namespace: "default", Type: structs.JobTypeService}
			var allocs []*structs.Allocation
			for _, id := range []string{"a1", "a2"} {
				allocs = append(allocs, &structs.Allocation{ID: id, NodeID: "n1", EvalID: "e", Namespace: "default", JobID: "web",
					TaskGroup: "web", Job: job, ClientStatus: structs.AllocClientStatusRunning})
			}
			if err := f.State().UpsertPlanResults(2, &structs.ApplyPlanResultsRequest{Job: job, Allocs: allocs}); err != nil {
				t.Fatal(err)
			}
			applyMsg(t, f, 3, structs.ServiceRegistrationUpsertRequestType, &structs.ServiceRegistrationUpsertRequest{Services: []*structs.ServiceRegistration{
				{ID: "r1", ServiceName: "web", Namespace: "default", NodeID: "n1", AllocID: "a1", Port: 1},
				{ID: "r2", ServiceName: "web", Namespace: "default", NodeID: "n1", AllocID: "a2", Port: 2},
			}})
			tc.apply(t, f)
			regs, err := f.State().ServiceRegistrations(nil, "*")
			if err != nil {
				t.Fatal(err)
			}
			if len(regs) != tc.want {
				t.Errorf("registrations left = %d, want %d", len(regs), tc.want)
			}
		})
	}
}
