package scheduler

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// deployState is a memState that also knows one deployment.
type deployState struct {
	*memState
	d *structs.Deployment
}

func (s *deployState) LatestDeployment(ns, jobID string) (*structs.Deployment, error) {
	return s.d, nil
}

func TestRolloutLimits(t *testing.T) {
	yes := true
	job := &structs.Job{ID: "web", Namespace: "default", Version: 1, CreateIndex: 5, TaskGroups: []*structs.TaskGroup{
		{Name: "g", Count: 4, Update: &structs.UpdateStrategy{MaxParallel: 2}},
	}}
	alloc := func(deployment string, healthy *bool) *structs.Allocation {
		a := &structs.Allocation{ID: structs.GenerateUUID(), TaskGroup: "g", DeploymentID: deployment,
			DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: structs.AllocClientStatusRunning}
		if healthy != nil {
			a.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: healthy}
		}
		return a
	}
	deployment := func(status string, version uint64) *structs.Deployment {
		return &structs.Deployment{ID: "d", JobVersion: version, JobCreateIndex: 5, Status: status,
			TaskGroups: map[string]*structs.DeploymentState{"g": {DesiredTotal: 4}}}
	}
	tests := []struct {
		name     string
		d        *structs.Deployment
		allocs   []*structs.Allocation
		wantTake int
	}{
		{"no deployment: no limit", nil, nil, 4},
		{"deployment of another version: no limit", deployment(structs.DeploymentStatusRunning, 0), nil, 4},
		{"nothing in flight: max_parallel", deployment(structs.DeploymentStatusRunning, 1), nil, 2},
		{"one in flight", deployment(structs.DeploymentStatusRunning, 1), []*structs.Allocation{alloc("d", nil)}, 1},
		{"healthy ones free their place", deployment(structs.DeploymentStatusRunning, 1), []*structs.Allocation{alloc("d", &yes), alloc("d", nil)}, 1},
		{"paused: none", deployment(structs.DeploymentStatusPaused, 1), nil, 0},
		{"failed: none", deployment(structs.DeploymentStatusFailed, 1), nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var st State = newMemState()
			if tc.d != nil {
				st = &deployState{memState: newMemState(), d: tc.d}
			}
			ro, err := newRollout(st, job, tc.allocs)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i := 0; i < 4; i++ {
				if ro.take(job.TaskGroups[0]) {
					got++
				}
			}
			if got != tc.wantTake {
				t.Errorf("take() allowed %d of 4 destructive updates, want %d", got, tc.wantTake)
			}
		})
	}
}

func TestSystemRollingUpdate(t *testing.T) {
	h := newHarness(t)
	for i := 0; i < 4; i++ {
		h.state.upsertNode(testNode(nodeName(i), 4000, 8192))
	}
	job := testJob("sys", 0, 100, 128)
	job.Type = structs.JobTypeSystem
	h.state.upsertJob(job)
	if err := h.process(job, &structs.Evaluation{}); err != nil {
		t.Fatalf("Process() = %v", err)
	}
	if got := len(h.placed()); got != 4 {
		t.Fatalf("placed = %d, want one per node (4)", got)
	}

	v1 := testJob("sys", 0, 100, 128)
	v1.Type = structs.JobTypeSystem
	v1.Version, v1.JobModifyIndex = 1, job.JobModifyIndex+1
	v1.TaskGroups[0].Tasks[0].Config = map[string]interface{}{"command": "/bin/other"}
	v1.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 2, Stagger: 5 * time.Second}
	h.state.upsertJob(v1)
	for round, wantFollowup := range []bool{true, false} {
		created := len(h.created)
		if err := h.process(v1, &structs.Evaluation{}); err != nil {
			t.Fatalf("round %d: Process() = %v", round, err)
		}
		p := h.plans[len(h.plans)-1]
		stopped := 0
		for _, as := range p.NodeUpdate {
			stopped += len(as)
		}
		if stopped != 2 || len(h.placed()) != 2 {
			t.Errorf("round %d: stopped %d, placed %d; want 2 and 2 (max_parallel)", round, stopped, len(h.placed()))
		}
		var followups []*structs.Evaluation
		for _, e := range h.created[created:] {
			if e.TriggeredBy == structs.EvalTriggerRollingUpdate {
				followups = append(followups, e)
			}
		}
		if (len(followups) == 1) != wantFollowup {
			t.Fatalf("round %d: rolling-update evals = %d, want follow-up %v", round, len(followups), wantFollowup)
		}
		if wantFollowup && !followups[0].WaitUntil.Equal(h.now.Add(5*time.Second)) {
			t.Errorf("follow-up WaitUntil = %s, want now + stagger", followups[0].WaitUntil)
		}
	}
}
