package server

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestPeriodicDue(t *testing.T) {
	base := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	job := &structs.Job{SubmitTime: base.UnixNano(), Periodic: &structs.PeriodicConfig{Enabled: true, Spec: "*/10 * * * *"}}
	at := func(min int) time.Time { return base.Add(time.Duration(min) * time.Minute) }
	launch := func(min int) *structs.PeriodicLaunch { return &structs.PeriodicLaunch{Launch: at(min)} }
	tests := []struct {
		name     string
		launch   *structs.PeriodicLaunch
		now      time.Time
		wantDue  time.Time
		wantNext time.Time
	}{
		{"nothing due yet", nil, at(5), time.Time{}, at(10)},
		{"first launch due", nil, at(10), at(10), at(20)},
		{"already launched", launch(10), at(15), time.Time{}, at(20)},
		{"missed launches: only the latest", launch(10), at(47), at(40), at(50)},
		{"launch before submit is ignored", launch(-30), at(3), time.Time{}, at(10)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			due, next := periodicDue(job, tc.launch, tc.now)
			if !due.Equal(tc.wantDue) || !next.Equal(tc.wantNext) {
				t.Errorf("periodicDue(now=%s) = (%s, %s), want (%s, %s)", tc.now, due, next, tc.wantDue, tc.wantNext)
			}
		})
	}
}

func TestCheckDispatch(t *testing.T) {
	parent := func(payload string) *structs.Job {
		return &structs.Job{ParameterizedJob: &structs.ParameterizedJobConfig{
			Payload: payload, MetaRequired: []string{"input"}, MetaOptional: []string{"mode"},
		}}
	}
	tests := []struct {
		name    string
		payload string
		body    []byte
		meta    map[string]string
		wantErr string
	}{
		{"ok", "optional", []byte("x"), map[string]string{"input": "a", "mode": "b"}, ""},
		{"missing required meta", "optional", nil, map[string]string{"mode": "b"}, "required meta keys: input"},
		{"unpermitted meta", "optional", nil, map[string]string{"input": "a", "other": "c"}, "unpermitted metadata keys: other"},
		{"payload required", "required", nil, map[string]string{"input": "a"}, "Payload is required"},
		{"payload forbidden", "forbidden", []byte("x"), map[string]string{"input": "a"}, "Payload is not allowed"},
		{"payload too large", "optional", make([]byte, structs.DispatchPayloadSizeLimit+1), map[string]string{"input": "a"}, "exceeds maximum size"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkDispatch(parent(tc.payload), tc.body, tc.meta)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.wantErr == "") != (got == "") || !strings.Contains(got, tc.wantErr) {
				t.Errorf("checkDispatch() = %q, want error containing %q", got, tc.wantErr)
			}
		})
	}
}

func TestCheckScale(t *testing.T) {
	job := testJob("web", 2)
	job.TaskGroups[0].Scaling = &structs.ScalingPolicy{Min: 1, Max: 5, Enabled: true}
	n := func(v int64) *int64 { return &v }
	tests := []struct {
		name    string
		group   string
		count   *int64
		wantErr string
	}{
		{"ok", "web", n(4), ""},
		{"event only", "web", nil, ""},
		{"missing group", "", n(1), "missing task group"},
		{"unknown group", "db", n(1), "does not exist"},
		{"negative", "web", n(-1), "can't be negative"},
		{"below min", "web", n(0), "less than scaling policy minimum: 0 < 1"},
		{"above max", "web", n(6), "greater than scaling policy maximum: 6 > 5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkScale(job, &structs.JobScaleRequest{Target: map[string]string{"Group": tc.group}, Count: tc.count})
			got := ""
			if err != nil {
				got = err.Error()
			}
			if (tc.wantErr == "") != (got == "") || !strings.Contains(got, tc.wantErr) {
				t.Errorf("checkScale() = %q, want error containing %q", got, tc.wantErr)
			}
		})
	}
}

func batchJob(id string) *structs.Job {
	j := testJob(id, 1)
	j.Type = structs.JobTypeBatch
	return j
}

func TestServer_PeriodicLaunchesAndForce(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()

	job := batchJob("tick")
	job.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "* * * * * * *", ProhibitOverlap: false}
	var reply structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &reply); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool {
		children, _ := s.State().ChildJobs(nil, "default", "tick")
		return len(children) >= 2
	})
	children, _ := s.State().ChildJobs(nil, "default", "tick")
	for _, c := range children {
		if !strings.HasPrefix(c.ID, "tick/periodic-") || c.ParentID != "tick" || c.Periodic != nil {
			t.Errorf("child = {ID %q ParentID %q Periodic %v}, want tick/periodic-<unix> of tick, not periodic", c.ID, c.ParentID, c.Periodic)
		}
	}
	launch, _ := s.State().PeriodicLaunchByID(nil, "default", "tick")
	if launch == nil {
		t.Fatalf("PeriodicLaunchByID() = nil, want the last launch")
	}

	var force structs.PeriodicForceResponse
	if err := s.RPC("Job.PeriodicForce", &structs.PeriodicForceRequest{JobID: "tick"}, &force); err != nil {
		t.Fatalf("Job.PeriodicForce error = %v", err)
	}
	fe, _ := s.State().EvalByID(nil, force.EvalID)
	if fe == nil || !strings.HasPrefix(fe.JobID, "tick/periodic-") || fe.TriggeredBy != structs.EvalTriggerPeriodicJob {
		t.Errorf("PeriodicForce eval = %+v, want a periodic-job eval of a tick child", fe)
	}
	if err := s.RPC("Job.PeriodicForce", &structs.PeriodicForceRequest{JobID: "nope"}, &force); err == nil {
		t.Errorf("PeriodicForce(unknown job) error = nil, want not found")
	}
	sum, _ := s.State().JobSummary(nil, mustJob(t, s, "tick"))
	if sum.Children == nil || sum.Children.Pending+sum.Children.Running+sum.Children.Dead < 2 {
		t.Errorf("JobSummary().Children = %+v, want at least 2 children", sum.Children)
	}
}

func TestServer_PeriodicProhibitOverlap(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()

	// No nodes: the first child stays pending, so no second one starts.
	job := batchJob("once")
	job.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "* * * * * * *", ProhibitOverlap: true}
	var reply structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &reply); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 5*time.Second, func() bool {
		children, _ := s.State().ChildJobs(nil, "default", "once")
		return len(children) == 1
	})
	first, _ := s.State().PeriodicLaunchByID(nil, "default", "once")
	waitFor(t, 5*time.Second, func() bool {
		l, _ := s.State().PeriodicLaunchByID(nil, "default", "once")
		return l != nil && first != nil && l.Launch.After(first.Launch.Add(time.Second))
	})
	if children, _ := s.State().ChildJobs(nil, "default", "once"); len(children) != 1 {
		t.Errorf("children = %d, want 1 while the first is pending", len(children))
	}
}

func TestServer_RegisterRejectsBadCron(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	job := batchJob("bad")
	job.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "every tuesday"}
	var reply structs.JobRegisterResponse
	err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &reply)
	if err == nil || !strings.Contains(err.Error(), "invalid cron spec") {
		t.Errorf("Job.Register(bad cron) = %v, want invalid cron spec", err)
	}
}

func mustJob(t *testing.T, s *Server, id string) *structs.Job {
	t.Helper()
	j, err := s.State().JobByID(nil, "default", id)
	if err != nil || j == nil {
		t.Fatalf("JobByID(%q) = %v, %v", id, j, err)
	}
	return j
}

func TestServer_DispatchScaleRevert(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()

	param := batchJob("fn")
	param.Meta = map[string]string{"base": "1"}
	param.ParameterizedJob = &structs.ParameterizedJobConfig{Payload: "required", MetaRequired: []string{"input"}}
	var reply structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: param}, &reply); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	var d structs.JobDispatchResponse
	err := s.RPC("Job.Dispatch", &structs.JobDispatchRequest{JobID: "fn", Payload: []byte("hello"), Meta: map[string]string{"input": "x"}, IdempotencyToken: "tok"}, &d)
	if err != nil {
		t.Fatalf("Job.Dispatch error = %v", err)
	}
	child := mustJob(t, s, d.DispatchedJobID)
	if !strings.HasPrefix(child.ID, "fn/dispatch-") || !child.Dispatched || string(child.Payload) != "hello" ||
		child.Meta["input"] != "x" || child.Meta["base"] != "1" || child.ParentID != "fn" {
		t.Errorf("dispatched child = {ID %q Dispatched %v Payload %q Meta %v ParentID %q}", child.ID, child.Dispatched, child.Payload, child.Meta, child.ParentID)
	}
	var again structs.JobDispatchResponse
	if err := s.RPC("Job.Dispatch", &structs.JobDispatchRequest{JobID: "fn", Payload: []byte("hello"), Meta: map[string]string{"input": "x"}, IdempotencyToken: "tok"}, &again); err != nil {
		t.Fatalf("Job.Dispatch (same token) error = %v", err)
	}
	if again.DispatchedJobID != d.DispatchedJobID {
		t.Errorf("Dispatch with the same token = %q, want %q", again.DispatchedJobID, d.DispatchedJobID)
	}
	if err := s.RPC("Job.Dispatch", &structs.JobDispatchRequest{JobID: "fn", Meta: map[string]string{"input": "x"}}, &again); err == nil {
		t.Errorf("Dispatch without the required payload: error = nil")
	}

	svc := testJob("svc", 1)
	svc.TaskGroups[0].Scaling = &structs.ScalingPolicy{Min: 1, Max: 3, Enabled: true}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: svc}, &reply); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	three := int64(3)
	var sr structs.JobRegisterResponse
	if err := s.RPC("Job.Scale", &structs.JobScaleRequest{JobID: "svc", Target: map[string]string{"Group": "web"}, Count: &three}, &sr); err != nil {
		t.Fatalf("Job.Scale error = %v", err)
	}
	if got := mustJob(t, s, "svc"); got.TaskGroups[0].Count != 3 || got.Version != 1 || sr.EvalID == "" {
		t.Errorf("after scale: count %d version %d eval %q, want 3, 1, an eval", got.TaskGroups[0].Count, got.Version, sr.EvalID)
	}
	four := int64(4)
	if err := s.RPC("Job.Scale", &structs.JobScaleRequest{JobID: "svc", Target: map[string]string{"Group": "web"}, Count: &four}, &sr); err == nil {
		t.Errorf("Scale above the scaling max: error = nil")
	}

	if err := s.RPC("Job.Revert", &structs.JobRevertRequest{JobID: "svc", JobVersion: 0}, &sr); err != nil {
		t.Fatalf("Job.Revert error = %v", err)
	}
	if got := mustJob(t, s, "svc"); got.TaskGroups[0].Count != 1 || got.Version != 2 {
		t.Errorf("after revert: count %d version %d, want 1, 2", got.TaskGroups[0].Count, got.Version)
	}
	if err := s.RPC("Job.Revert", &structs.JobRevertRequest{JobID: "svc", JobVersion: 2}, &sr); err == nil {
		t.Errorf("Revert to the current version: error = nil")
	}
}

// TestServer_PeriodicResumesAfterRestart stops the only server for a few
// launch periods: the new leader launches once for the missed periods (the
// latest), then carries on with the schedule.
func TestServer_PeriodicResumesAfterRestart(t *testing.T) {
	dir := t.TempDir()
	s := testServer(t, dir)
	job := batchJob("every2")
	job.Periodic = &structs.PeriodicConfig{Enabled: true, Spec: "*/2 * * * * * *"}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool {
		c, _ := s.State().ChildJobs(nil, "default", "every2")
		return len(c) >= 1
	})
	before, _ := s.State().PeriodicLaunchByID(nil, "default", "every2")
	if err := s.Shutdown(); err != nil {
		t.Fatalf("Shutdown() error = %v", err)
	}
	time.Sleep(5 * time.Second)

	s2 := testServer(t, dir)
	defer s2.Shutdown()
	leaderAt := time.Now()
	waitFor(t, 10*time.Second, func() bool {
		l, _ := s2.State().PeriodicLaunchByID(nil, "default", "every2")
		return l != nil && l.Launch.After(before.Launch.Add(4*time.Second))
	})
	children, _ := s2.State().ChildJobs(nil, "default", "every2")
	missed := 0
	for _, c := range children {
		unix, err := strconv.ParseInt(strings.TrimPrefix(c.ID, "every2/periodic-"), 10, 64)
		if err != nil {
			t.Fatalf("child ID %q: %v", c.ID, err)
		}
		if at := time.Unix(unix, 0); at.After(before.Launch) && !at.After(leaderAt) {
			missed++
		}
	}
	if missed != 1 {
		t.Errorf("children for the missed periods = %d, want 1 (the latest only)", missed)
	}
}
