package server

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func setSchedulerConfig(t *testing.T, s *Server, mutate func(*structs.SchedulerConfiguration)) {
	t.Helper()
	var get structs.SchedulerConfigurationResponse
	if err := s.RPC("Operator.SchedulerGetConfiguration", &structs.GenericRequest{}, &get); err != nil {
		t.Fatalf("SchedulerGetConfiguration error = %v", err)
	}
	cfg := structs.SchedulerConfiguration{}
	if get.SchedulerConfig != nil {
		cfg = *get.SchedulerConfig
	}
	mutate(&cfg)
	if err := s.RPC("Operator.SchedulerSetConfiguration", &structs.SchedulerSetConfigRequest{Config: cfg}, &structs.SchedulerSetConfigurationResponse{}); err != nil {
		t.Fatalf("SchedulerSetConfiguration error = %v", err)
	}
}

func TestRejectJobRegistration(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	var reg structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("before", 1)}, &reg); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	setSchedulerConfig(t, s, func(c *structs.SchedulerConfiguration) { c.RejectJobRegistration = true })

	check := func(what string, err error) {
		t.Helper()
		code, msg := ErrorCode(errOrNil(err))
		if err == nil || code != 403 || msg != errJobRegistrationDisabled {
			t.Errorf("%s while rejecting = %v (code %d), want 403 %q", what, err, code, errJobRegistrationDisabled)
		}
	}
	check("Job.Register", s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("after", 1)}, &reg))
	two := int64(2)
	check("Job.Scale", s.RPC("Job.Scale", &structs.JobScaleRequest{JobID: "before", Target: map[string]string{"Group": "web"}, Count: &two}, &reg))
	check("Job.Dispatch", s.RPC("Job.Dispatch", &structs.JobDispatchRequest{JobID: "before"}, &structs.JobDispatchResponse{}))
	if j, _ := s.State().JobByID(nil, "default", "after"); j != nil {
		t.Errorf("job registered while registrations are rejected")
	}
	if j, _ := s.State().JobByID(nil, "default", "before"); j == nil || j.TaskGroups[0].Count != 1 {
		t.Errorf("job scaled while registrations are rejected: %+v", j)
	}
	// Stopping a job still works.
	if err := s.RPC("Job.Deregister", &structs.JobDeregisterRequest{JobID: "before"}, &structs.JobDeregisterResponse{}); err != nil {
		t.Errorf("Job.Deregister while rejecting registrations = %v, want nil", err)
	}

	setSchedulerConfig(t, s, func(c *structs.SchedulerConfiguration) { c.RejectJobRegistration = false })
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("after", 1)}, &reg); err != nil {
		t.Errorf("Job.Register after clearing the setting = %v", err)
	}
}

// errOrNil keeps ErrorCode from being handed a nil error.
func errOrNil(err error) error {
	if err == nil {
		return errNil{}
	}
	return err
}

type errNil struct{}

func (errNil) Error() string { return "<nil>" }

func TestPauseEvalBroker(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	setSchedulerConfig(t, s, func(c *structs.SchedulerConfiguration) { c.PauseEvalBroker = true })
	waitFor(t, 5*time.Second, func() bool { return !s.evalBroker.Enabled() })

	var reg structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("paused", 2)}, &reg); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	time.Sleep(500 * time.Millisecond)
	e, _ := s.State().EvalByID(nil, reg.EvalID)
	if e == nil || e.Status != structs.EvalStatusPending {
		t.Fatalf("eval while the broker is paused = %+v, want pending", e)
	}
	if n := len(liveAllocs(t, s, "paused")); n != 0 {
		t.Fatalf("%d allocations placed while the broker is paused, want 0", n)
	}

	setSchedulerConfig(t, s, func(c *structs.SchedulerConfiguration) { c.PauseEvalBroker = false })
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "paused")) == 2 })
	waitFor(t, 5*time.Second, func() bool {
		e, _ := s.State().EvalByID(nil, reg.EvalID)
		return e != nil && e.Status == structs.EvalStatusComplete
	})

	// A new leader (here: the same server winning again) keeps a paused
	// broker off.
	setSchedulerConfig(t, s, func(c *structs.SchedulerConfiguration) { c.PauseEvalBroker = true })
	waitFor(t, 5*time.Second, func() bool { return !s.evalBroker.Enabled() })
	s.revokeLeadership()
	s.establishLeadership()
	if s.evalBroker.Enabled() {
		t.Errorf("eval broker enabled by a new leadership while paused")
	}
}
