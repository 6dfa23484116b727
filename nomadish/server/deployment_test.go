package server

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func healthAlloc(group, deployment string, version uint64, healthy *bool) *structs.Allocation {
	a := &structs.Allocation{
		ID: structs.GenerateUUID(), TaskGroup: group, DeploymentID: deployment,
		DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning,
		Job: &structs.Job{Version: version},
	}
	if healthy != nil {
		a.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: healthy}
	}
	return a
}

func TestStepDeployment(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	yes, no := true, false
	job := testJob("web", 2)
	job.Version, job.CreateIndex = 1, 7
	deployment := func() *structs.Deployment {
		return &structs.Deployment{
			ID: "d1", JobVersion: 1, JobCreateIndex: 7, Status: structs.DeploymentStatusRunning,
			TaskGroups: map[string]*structs.DeploymentState{"web": {
				DesiredTotal: 2, HealthyAllocs: 1, PlacedAllocs: 1, ProgressDeadline: time.Minute,
				RequireProgressBy: now.Add(time.Minute), AutoRevert: true,
			}},
		}
	}
	stopped := *job
	stopped.Stop = true
	tests := []struct {
		name         string
		job          *structs.Job
		allocs       []*structs.Allocation
		at           time.Time
		wantStatus   string
		wantChanged  bool
		wantContinue bool
	}{
		{"nothing new", job, []*structs.Allocation{healthAlloc("web", "d1", 1, &yes), healthAlloc("web", "", 0, nil)}, now, structs.DeploymentStatusRunning, false, false},
		{"one more placed", job, []*structs.Allocation{healthAlloc("web", "d1", 1, &yes), healthAlloc("web", "d1", 1, nil), healthAlloc("web", "", 0, nil)}, now, structs.DeploymentStatusRunning, true, false},
		{"all healthy, old ones gone", job, []*structs.Allocation{healthAlloc("web", "d1", 1, &yes), healthAlloc("web", "d1", 1, &yes)}, now, structs.DeploymentStatusSuccessful, true, false},
		{"healthy but an old one still runs", job, []*structs.Allocation{healthAlloc("web", "d1", 1, &yes), healthAlloc("web", "d1", 1, &yes), healthAlloc("web", "", 0, nil)}, now, structs.DeploymentStatusRunning, true, true},
		{"an unhealthy alloc fails it", job, []*structs.Allocation{healthAlloc("web", "d1", 1, &yes), healthAlloc("web", "d1", 1, &no)}, now, structs.DeploymentStatusFailed, true, false},
		{"progress deadline passed", job, []*structs.Allocation{healthAlloc("web", "d1", 1, &yes), healthAlloc("web", "", 0, nil)}, now.Add(2 * time.Minute), structs.DeploymentStatusFailed, true, false},
		{"job stopped", &stopped, nil, now, structs.DeploymentStatusCancelled, true, false},
		{"job gone", nil, nil, now, structs.DeploymentStatusCancelled, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			step := stepDeployment(deployment(), tc.job, tc.allocs, tc.at)
			if step.next.Status != tc.wantStatus || step.changed != tc.wantChanged || step.continueRollout != tc.wantContinue {
				t.Errorf("stepDeployment() = (status %s, changed %v, continue %v), want (%s, %v, %v)",
					step.next.Status, step.changed, step.continueRollout, tc.wantStatus, tc.wantChanged, tc.wantContinue)
			}
		})
	}
}

// markHealthy plays the client: every live alloc of the job runs and is
// healthy in its deployment; canaries stay canaries.
func markHealthy(t *testing.T, s *Server, jobID string) {
	t.Helper()
	var update []*structs.Allocation
	for _, a := range liveAllocs(t, s, jobID) {
		if a.DeploymentStatus != nil && a.DeploymentStatus.Healthy != nil {
			continue
		}
		healthy := true
		c := a.Copy()
		c.ClientStatus = structs.AllocClientStatusRunning
		c.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &healthy, Timestamp: time.Now(),
			Canary: a.DeploymentStatus != nil && a.DeploymentStatus.Canary}
		update = append(update, c)
	}
	if len(update) == 0 {
		return
	}
	if _, err := s.raftApply(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{Alloc: update}); err != nil {
		t.Fatalf("client update: %v", err)
	}
}

func TestServer_RollingUpdateRespectsMaxParallel(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	var nreply structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &nreply); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	job := testJob("roll", 4)
	var reg structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &reg); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "roll")) == 4 })
	markHealthy(t, s, "roll")
	waitFor(t, 10*time.Second, func() bool {
		j, _ := s.State().JobByID(nil, "default", "roll")
		return j != nil && j.Stable
	})

	v1 := testJob("roll", 4)
	v1.TaskGroups[0].Tasks[0].Config = map[string]interface{}{"command": "/bin/sleep", "args": []interface{}{"120"}}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: v1}, &reg); err != nil {
		t.Fatalf("Job.Register v1 error = %v", err)
	}
	d1, _ := s.State().LatestDeploymentByJobID(nil, "default", "roll")
	if d1 == nil || d1.JobVersion != 1 {
		t.Fatalf("latest deployment = %+v, want one for version 1", d1)
	}
	for round := 0; round < 4; round++ {
		want := round + 1
		waitFor(t, 10*time.Second, func() bool { return countVersion(t, s, "roll", 1) == want })
		time.Sleep(200 * time.Millisecond)
		if got := countVersion(t, s, "roll", 1); got != want {
			t.Fatalf("round %d: %d allocations of version 1, want %d (max_parallel 1)", round, got, want)
		}
		if live := len(liveAllocs(t, s, "roll")); live != 4 {
			t.Fatalf("round %d: %d live allocations, want 4", round, live)
		}
		markHealthy(t, s, "roll")
	}
	waitFor(t, 10*time.Second, func() bool {
		d, _ := s.State().DeploymentByID(nil, d1.ID)
		return d.Status == structs.DeploymentStatusSuccessful
	})
	if j, _ := s.State().JobByVersion("default", "roll", 1); j == nil || !j.Stable {
		t.Errorf("version 1 stable = false after a successful deployment")
	}
}

func countVersion(t *testing.T, s *Server, jobID string, version uint64) int {
	n := 0
	for _, a := range liveAllocs(t, s, jobID) {
		if a.Job != nil && a.Job.Version == version {
			n++
		}
	}
	return n
}

func TestServer_FailedDeploymentAutoReverts(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	var nreply structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &nreply); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	withRevert := func(j *structs.Job) *structs.Job {
		j.Update = structs.UpdateStrategy{MaxParallel: 1, AutoRevert: true, MinHealthyTime: time.Second, HealthyDeadline: time.Minute}
		return j
	}
	var reg structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: withRevert(testJob("rev", 2))}, &reg); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "rev")) == 2 })
	markHealthy(t, s, "rev")
	waitFor(t, 10*time.Second, func() bool { j, _ := s.State().JobByID(nil, "default", "rev"); return j.Stable })

	bad := withRevert(testJob("rev", 2))
	bad.TaskGroups[0].Tasks[0].Config = map[string]interface{}{"command": "/bin/false"}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: bad}, &reg); err != nil {
		t.Fatalf("Job.Register bad error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return countVersion(t, s, "rev", 1) == 1 })
	var update []*structs.Allocation
	for _, a := range liveAllocs(t, s, "rev") {
		if a.Job.Version == 1 {
			unhealthy := false
			c := a.Copy()
			c.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &unhealthy}
			update = append(update, c)
		}
	}
	if _, err := s.raftApply(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{Alloc: update}); err != nil {
		t.Fatalf("client update: %v", err)
	}
	waitFor(t, 10*time.Second, func() bool {
		j, _ := s.State().JobByID(nil, "default", "rev")
		return j.Version == 2
	})
	j, _ := s.State().JobByID(nil, "default", "rev")
	if cmd := j.TaskGroups[0].Tasks[0].Config["command"]; cmd != "/bin/sleep" {
		t.Errorf("after auto revert the job runs %v, want /bin/sleep (version 0)", cmd)
	}
	ds, _ := s.State().DeploymentsByJob(nil, "default", "rev")
	var failed *structs.Deployment
	for _, d := range ds {
		if d.JobVersion == 1 {
			failed = d
		}
	}
	if failed == nil || failed.Status != structs.DeploymentStatusFailed ||
		failed.StatusDescription != structs.DeploymentDescFailedAllocations+" - rolling back to job version 0" {
		t.Errorf("deployment of version 1 = %+v, want failed and rolling back to version 0", failed)
	}
	waitFor(t, 10*time.Second, func() bool { return countVersion(t, s, "rev", 2) >= 1 })
}

func TestServer_CanaryDeployment(t *testing.T) {
	tests := []struct {
		name        string
		count       int
		canary      int
		autoPromote bool
	}{
		{"one canary promoted by hand", 3, 1, false},
		{"blue/green auto-promoted", 2, 2, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, t.TempDir())
			defer s.Shutdown()
			if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
				t.Fatalf("Node.Register error = %v", err)
			}
			mk := func(args string) *structs.Job {
				j := testJob("can", tc.count)
				j.Update = structs.UpdateStrategy{MaxParallel: 1, Canary: tc.canary, AutoPromote: tc.autoPromote}
				j.TaskGroups[0].Tasks[0].Config = map[string]interface{}{"command": "/bin/sleep", "args": []interface{}{args}}
				return j
			}
			if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: mk("60")}, &structs.JobRegisterResponse{}); err != nil {
				t.Fatalf("Job.Register error = %v", err)
			}
			waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "can")) == tc.count })
			markHealthy(t, s, "can")
			waitFor(t, 10*time.Second, func() bool { j, _ := s.State().JobByID(nil, "default", "can"); return j.Stable })

			if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: mk("90")}, &structs.JobRegisterResponse{}); err != nil {
				t.Fatalf("Job.Register v1 error = %v", err)
			}
			waitFor(t, 10*time.Second, func() bool { return countVersion(t, s, "can", 1) == tc.canary })
			time.Sleep(200 * time.Millisecond)
			if got, old := countVersion(t, s, "can", 1), countVersion(t, s, "can", 0); got != tc.canary || old != tc.count {
				t.Fatalf("before promotion: %d canaries and %d old allocations, want %d and %d", got, old, tc.canary, tc.count)
			}
			d, _ := s.State().LatestDeploymentByJobID(nil, "default", "can")
			var resp structs.DeploymentUpdateResponse
			if err := s.RPC("Deployment.UpdateStatus", &structs.DeploymentStatusRequest{DeploymentID: d.ID, Promote: true, All: true}, &resp); err == nil {
				t.Errorf("promote with unhealthy canaries: error = nil")
			}
			markHealthy(t, s, "can")
			if !tc.autoPromote {
				waitFor(t, 10*time.Second, func() bool {
					d, _ := s.State().DeploymentByID(nil, d.ID)
					return d.StatusDescription == structs.DeploymentDescRunningNeedsPromos
				})
				if err := s.RPC("Deployment.UpdateStatus", &structs.DeploymentStatusRequest{DeploymentID: d.ID, Promote: true, All: true}, &resp); err != nil {
					t.Fatalf("promote error = %v", err)
				}
			}
			waitFor(t, 20*time.Second, func() bool {
				markHealthy(t, s, "can")
				d, _ := s.State().DeploymentByID(nil, d.ID)
				return d.Status == structs.DeploymentStatusSuccessful
			})
			if got, old := countVersion(t, s, "can", 1), countVersion(t, s, "can", 0); got != tc.count || old != 0 {
				t.Errorf("after promotion: %d new and %d old allocations, want %d and 0", got, old, tc.count)
			}
		})
	}
}

func TestServer_ManualAllocHealth(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &structs.NodeUpdateResponse{}); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	job := testJob("manual", 2)
	job.Update = structs.UpdateStrategy{MaxParallel: 1, HealthCheck: "manual"}
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &structs.JobRegisterResponse{}); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "manual")) == 2 })
	d, _ := s.State().LatestDeploymentByJobID(nil, "default", "manual")
	var ids []string
	for _, a := range liveAllocs(t, s, "manual") {
		ids = append(ids, a.ID)
	}
	var reply structs.DeploymentUpdateResponse
	if err := s.RPC("Deployment.SetAllocHealth", &structs.DeploymentAllocHealthRequest{DeploymentID: d.ID}, &reply); err == nil {
		t.Errorf("SetAllocHealth with no allocations: error = nil")
	}
	if err := s.RPC("Deployment.SetAllocHealth", &structs.DeploymentAllocHealthRequest{DeploymentID: d.ID, HealthyAllocationIDs: ids}, &reply); err != nil {
		t.Fatalf("SetAllocHealth error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool {
		d, _ := s.State().DeploymentByID(nil, d.ID)
		return d.Status == structs.DeploymentStatusSuccessful
	})
}

// A deployment whose allocations never report health fails when its
// progress deadline passes, though nothing else changes.
func TestServer_ProgressDeadlineFailsQuietDeployment(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	var nreply structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &nreply); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	job := testJob("quiet", 1)
	job.Update = structs.UpdateStrategy{MaxParallel: 1, MinHealthyTime: 100 * time.Millisecond, HealthyDeadline: time.Second, ProgressDeadline: 2 * time.Second}
	var reg structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: job}, &reg); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "quiet")) == 1 })
	start := time.Now()
	var d *structs.Deployment
	waitFor(t, 10*time.Second, func() bool {
		ds, _ := s.State().DeploymentsByJob(nil, "default", "quiet")
		if len(ds) == 1 {
			d = ds[0]
		}
		return d != nil && d.Status != structs.DeploymentStatusRunning
	})
	if d.Status != structs.DeploymentStatusFailed || d.StatusDescription != structs.DeploymentDescProgressDeadline {
		t.Fatalf("deployment = %s %q, want failed by its progress deadline", d.Status, d.StatusDescription)
	}
	t.Logf("failed %s after the allocation was placed", time.Since(start).Round(10*time.Millisecond))
}
