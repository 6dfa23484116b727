package server

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestServer_JobPlan(t *testing.T) {
	s := testServer(t, t.TempDir())
	defer s.Shutdown()
	var nreply structs.NodeUpdateResponse
	if err := s.RPC("Node.Register", &structs.NodeRegisterRequest{Node: testNode(structs.GenerateUUID())}, &nreply); err != nil {
		t.Fatalf("Node.Register error = %v", err)
	}
	plan := func(job *structs.Job) *structs.JobPlanResponse {
		t.Helper()
		var reply structs.JobPlanResponse
		if err := s.RPC("Job.Plan", &structs.JobPlanRequest{Job: job, Diff: true}, &reply); err != nil {
			t.Fatalf("Job.Plan error = %v", err)
		}
		return &reply
	}
	first := plan(testJob("web", 2))
	if u := first.Annotations.DesiredTGUpdates["web"]; u == nil || u.Place != 2 {
		t.Fatalf("plan of a new job: updates %+v, want 2 placements", u)
	}
	if first.Diff.Type != structs.DiffTypeAdded {
		t.Errorf("plan of a new job: diff type %s, want Added", first.Diff.Type)
	}
	if j, _ := s.State().JobByID(nil, "default", "web"); j != nil {
		t.Fatalf("plan registered the job")
	}

	var reg structs.JobRegisterResponse
	if err := s.RPC("Job.Register", &structs.JobRegisterRequest{Job: testJob("web", 2)}, &reg); err != nil {
		t.Fatalf("Job.Register error = %v", err)
	}
	waitFor(t, 10*time.Second, func() bool { return len(liveAllocs(t, s, "web")) == 2 })

	scaled := testJob("web", 3)
	scaled.TaskGroups[0].Scaling = &structs.ScalingPolicy{Min: 1, Max: 5, Enabled: true}
	changedConfig := testJob("web", 2)
	changedConfig.TaskGroups[0].Tasks[0].Config = map[string]interface{}{"command": "/bin/sleep", "args": []interface{}{"90"}}
	tests := []struct {
		name       string
		job        *structs.Job
		want       structs.DesiredUpdates
		wantChange bool
		wantTask   []string
	}{
		{"unchanged", testJob("web", 2), structs.DesiredUpdates{Ignore: 2}, false, nil},
		{"count and scaling block", scaled, structs.DesiredUpdates{Place: 1, InPlaceUpdate: 2}, true, nil},
		{"task config: one at a time (max_parallel 1)", changedConfig, structs.DesiredUpdates{DestructiveUpdate: 1, Ignore: 1}, true, []string{"forces create/destroy update"}},
		{"scale down", testJob("web", 1), structs.DesiredUpdates{Stop: 1, InPlaceUpdate: 1}, true, nil},
		{"canary", withCanary(changedConfig), structs.DesiredUpdates{Canary: 1, Ignore: 2}, true, []string{"forces create/destroy update"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := plan(tc.job)
			u := r.Annotations.DesiredTGUpdates["web"]
			if u == nil || *u != tc.want {
				t.Errorf("Plan() updates = %+v, want %+v", u, tc.want)
			}
			if r.Diff.HasChanges() != tc.wantChange {
				t.Errorf("Plan() diff = %s, want changes %v", r.Diff, tc.wantChange)
			}
			if r.JobModifyIndex != reg.JobModifyIndex {
				t.Errorf("Plan() JobModifyIndex = %d, want %d", r.JobModifyIndex, reg.JobModifyIndex)
			}
			if tc.wantTask != nil {
				got := r.Diff.TaskGroups[0].Tasks[0].Annotations
				if len(got) != 1 || got[0] != tc.wantTask[0] {
					t.Errorf("Plan() task annotations = %v, want %v", got, tc.wantTask)
				}
			}
		})
	}
}

func withCanary(j *structs.Job) *structs.Job {
	c := *j
	c.Update = structs.UpdateStrategy{MaxParallel: 1, Canary: 1}
	c.TaskGroups = []*structs.TaskGroup{j.TaskGroups[0]}
	g := *j.TaskGroups[0]
	g.Update = nil
	c.TaskGroups[0] = &g
	return &c
}
