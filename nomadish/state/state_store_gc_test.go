package state

import (
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestReapGC(t *testing.T) {
	s := NewStateStore()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A periodic parent with a launch record, stopped.
	parent := &structs.Job{ID: "cron", Namespace: "default", Type: structs.JobTypeBatch,
		Periodic: &structs.PeriodicConfig{Enabled: true, Spec: "@hourly"}}
	must(s.UpsertJob(1, parent))
	must(s.ApplyPeriodicLaunch(2, &structs.PeriodicLaunchRequest{
		Launch: &structs.PeriodicLaunch{ID: "cron", Namespace: "default", Launch: time.Now()}}))
	must(s.DeregisterJob(3, "default", "cron", false, nil))

	// A batch job with a finished and a running allocation.
	job := lifecycleJob("web", 2)
	job.Type = structs.JobTypeBatch
	must(s.UpsertJob(4, job))
	e1 := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: "default", JobID: "web", Status: structs.EvalStatusComplete}
	e2 := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: "default", JobID: "web", Status: structs.EvalStatusPending}
	must(s.UpsertEvals(5, []*structs.Evaluation{e1, e2}))
	alloc := func(id, client string) *structs.Allocation {
		return &structs.Allocation{ID: id, Namespace: "default", JobID: "web", EvalID: e1.ID, NodeID: "n1", TaskGroup: "web",
			Job: job, DesiredStatus: structs.AllocDesiredStatusRun, ClientStatus: client}
	}
	done, live := structs.GenerateUUID(), structs.GenerateUUID()
	must(s.UpsertPlanResults(6, &structs.ApplyPlanResultsRequest{Allocs: []*structs.Allocation{
		alloc(done, structs.AllocClientStatusPending), alloc(live, structs.AllocClientStatusPending)}}))
	must(s.UpdateAllocsFromClient(7, []*structs.Allocation{
		{ID: done, ClientStatus: structs.AllocClientStatusComplete},
		{ID: live, ClientStatus: structs.AllocClientStatusRunning}}))

	// Nodes: one down, one ready.
	must(s.UpsertNode(8, &structs.Node{ID: "down", Status: structs.NodeStatusReady}))
	must(s.UpdateNodeStatus(9, "down", structs.NodeStatusDown, 0, nil))
	must(s.UpsertNode(10, &structs.Node{ID: "up", Status: structs.NodeStatusReady}))

	// A job registered again after the leader decided: kept.
	again := &structs.Job{ID: "again", Namespace: "default", Type: structs.JobTypeBatch}
	must(s.UpsertJob(11, again))
	decided, _ := s.JobByID(nil, "default", "again")
	again2 := *again
	again2.Priority = 70
	must(s.UpsertJob(12, &again2))

	stopped, _ := s.JobByID(nil, "default", "cron")
	res, err := s.ReapGC(20, &structs.GCReapRequest{
		Jobs: []structs.GCJob{
			{Namespace: "default", ID: "cron", ModifyIndex: stopped.ModifyIndex},
			{Namespace: "default", ID: "again", ModifyIndex: decided.ModifyIndex},
			{Namespace: "default", ID: "missing"},
		},
		Evals:  []string{e1.ID, e2.ID, "missing"},
		Allocs: []string{done, live},
		Nodes:  []string{"down", "up"},
	})
	if err != nil {
		t.Fatalf("ReapGC() error = %v", err)
	}
	want := structs.GCResult{Jobs: 1, Evals: 1, Allocs: 1, Nodes: 1}
	if res != want {
		t.Errorf("ReapGC() = %+v, want %+v (live objects kept)", res, want)
	}
	if j, _ := s.JobByID(nil, "default", "cron"); j != nil {
		t.Errorf("job cron still stored")
	}
	if v, _ := s.JobVersions(nil, "default", "cron"); len(v) != 0 {
		t.Errorf("job cron keeps %d versions", len(v))
	}
	if l, _ := s.PeriodicLaunchByID(nil, "default", "cron"); l != nil {
		t.Errorf("periodic launch of cron still stored")
	}
	if j, _ := s.JobByID(nil, "default", "again"); j == nil {
		t.Errorf("job registered again after the decision was deleted")
	}
	if e, _ := s.EvalByID(nil, e1.ID); e != nil {
		t.Errorf("finished eval still stored")
	}
	if e, _ := s.EvalByID(nil, e2.ID); e == nil {
		t.Errorf("pending eval deleted")
	}
	if a, _ := s.AllocByID(nil, done); a != nil {
		t.Errorf("finished alloc still stored")
	}
	if a, _ := s.AllocByID(nil, live); a == nil {
		t.Errorf("running alloc deleted")
	}
	if n, _ := s.NodeByID(nil, "down"); n != nil {
		t.Errorf("down node still stored")
	}
	if n, _ := s.NodeByID(nil, "up"); n == nil {
		t.Errorf("ready node deleted")
	}
	for _, table := range []string{tableJobs, tableEvals, tableAllocs, tableNodes} {
		if got := s.MaxIndex(nil, table); got != 20 {
			t.Errorf("index of %s = %d, want 20", table, got)
		}
	}
}

// TestReapGCKeepsFinishedJobDead: a dead job that loses all its finished
// evaluations and allocations stays dead, not pending.
func TestReapGCKeepsFinishedJobDead(t *testing.T) {
	s := NewStateStore()
	job := lifecycleJob("svc", 1)
	job.TaskGroups[0].Count = 0
	if err := s.UpsertJob(1, job); err != nil {
		t.Fatal(err)
	}
	e := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: "default", JobID: "svc", Status: structs.EvalStatusComplete}
	if err := s.UpsertEvals(2, []*structs.Evaluation{e}); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.JobByID(nil, "default", "svc"); j.Status != structs.JobStatusDead {
		t.Fatalf("job status before = %s, want dead", j.Status)
	}
	if _, err := s.ReapGC(3, &structs.GCReapRequest{Evals: []string{e.ID}}); err != nil {
		t.Fatal(err)
	}
	if j, _ := s.JobByID(nil, "default", "svc"); j.Status != structs.JobStatusDead {
		t.Errorf("job status after reaping its evals = %s, want dead", j.Status)
	}
}
