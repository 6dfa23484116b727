package scheduler

import (
	"testing"

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
