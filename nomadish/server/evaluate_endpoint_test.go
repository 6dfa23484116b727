package server

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestJob_EvaluateForceReschedule: a failed allocation whose policy
// forbids rescheduling stays failed on a plain evaluation and is replaced
// on one with ForceReschedule.
func TestJob_EvaluateForceReschedule(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	job := testJob("web", 1)
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 0, Unlimited: false}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "web")) == 1 })
	failed := liveAllocs(t, s, "web")[0]
	upd := []*structs.Allocation{{ID: failed.ID, ClientStatus: structs.AllocClientStatusFailed}}
	if err := s.RPC("Node.UpdateAlloc", &structs.AllocUpdateRequest{Alloc: upd}, &structs.GenericResponse{}); err != nil {
		t.Fatalf("Node.UpdateAlloc error = %v", err)
	}

	evalDone := func(id string) func() bool {
		return func() bool {
			ev, _ := s.State().EvalByID(nil, id)
			return ev != nil && ev.Status == structs.EvalStatusComplete
		}
	}
	var reply structs.JobRegisterResponse
	if err := s.RPC("Job.Evaluate", &structs.JobEvaluateRequest{JobID: "web"}, &reply); err != nil {
		t.Fatalf("Job.Evaluate error = %v", err)
	}
	waitFor(t, 10*time.Second, evalDone(reply.EvalID))
	if live := liveAllocs(t, s, "web"); len(live) != 0 {
		t.Fatalf("after a plain evaluation: %d live allocations, want 0 (no reschedule attempts)", len(live))
	}

	if err := s.RPC("Job.Evaluate", &structs.JobEvaluateRequest{JobID: "web", ForceReschedule: true}, &reply); err != nil {
		t.Fatalf("Job.Evaluate(ForceReschedule) error = %v", err)
	}
	waitFor(t, 10*time.Second, evalDone(reply.EvalID))
	live := liveAllocs(t, s, "web")
	if len(live) != 1 || live[0].PreviousAllocation != failed.ID {
		t.Fatalf("after a forced reschedule: live allocations %v, want one replacing %s", live, failed.ID)
	}
	if err := s.RPC("Job.Evaluate", &structs.JobEvaluateRequest{JobID: "nope"}, &reply); err == nil {
		t.Errorf("Job.Evaluate(unknown job) error = nil, want 404")
	}
}
