package server

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// gcWorld builds a state store through its ordinary write methods, one
// Raft index per write.
type gcWorld struct {
	t     *testing.T
	s     *state.StateStore
	index uint64
}

func newGCWorld(t *testing.T) *gcWorld {
	return &gcWorld{t: t, s: state.NewStateStore()}
}

func (w *gcWorld) next() uint64 {
	w.index++
	return w.index
}

func (w *gcWorld) must(err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
}

func (w *gcWorld) job(id, typ string) *structs.Job {
	w.t.Helper()
	j := testJob(id, 1)
	j.Namespace, j.Type = structs.DefaultNamespace, typ
	w.must(w.s.UpsertJob(w.next(), j))
	return w.current(id)
}

func (w *gcWorld) current(id string) *structs.Job {
	w.t.Helper()
	j, err := w.s.JobByID(nil, structs.DefaultNamespace, id)
	w.must(err)
	return j
}

func (w *gcWorld) eval(job *structs.Job, status string) *structs.Evaluation {
	w.t.Helper()
	e := &structs.Evaluation{ID: structs.GenerateUUID(), Namespace: job.Namespace, JobID: job.ID,
		Type: job.Type, Status: status, JobModifyIndex: job.JobModifyIndex}
	w.must(w.s.UpsertEvals(w.next(), []*structs.Evaluation{e}))
	return e
}

// alloc places an allocation of the job's current version for the eval
// and applies what its client reports.
func (w *gcWorld) alloc(e *structs.Evaluation, node, desired, client string) *structs.Allocation {
	w.t.Helper()
	job := w.current(e.JobID)
	a := &structs.Allocation{ID: structs.GenerateUUID(), Namespace: job.Namespace, JobID: job.ID, Job: job,
		EvalID: e.ID, NodeID: node, TaskGroup: "web", Name: job.ID + ".web[0]",
		DesiredStatus: desired, ClientStatus: structs.AllocClientStatusPending}
	w.must(w.s.UpsertPlanResults(w.next(), &structs.ApplyPlanResultsRequest{Allocs: []*structs.Allocation{a}, Job: job}))
	if client != structs.AllocClientStatusPending {
		w.must(w.s.UpdateAllocsFromClient(w.next(), []*structs.Allocation{{ID: a.ID, ClientStatus: client}}))
	}
	got, err := w.s.AllocByID(nil, a.ID)
	w.must(err)
	return got
}

// stopAlloc marks an allocation stopped, as a plan does.
func (w *gcWorld) stopAlloc(a *structs.Allocation) {
	w.t.Helper()
	c := a.Copy()
	c.DesiredStatus = stop
	w.must(w.s.UpsertPlanResults(w.next(), &structs.ApplyPlanResultsRequest{AllocsStopped: []*structs.Allocation{c}}))
}

func (w *gcWorld) stop(id string) {
	w.t.Helper()
	w.must(w.s.DeregisterJob(w.next(), structs.DefaultNamespace, id, false, nil))
}

func (w *gcWorld) node(id, status string) {
	w.t.Helper()
	n := testNode(id)
	w.must(w.s.UpsertNode(w.next(), n))
	if status != structs.NodeStatusReady {
		w.must(w.s.UpdateNodeStatus(w.next(), id, status, time.Now().UnixNano(), nil))
	}
}

func (w *gcWorld) plan(cut gcCutoffs) *structs.GCReapRequest {
	w.t.Helper()
	req, err := gcPlan(w.s.Snapshot(), cut, time.Now())
	w.must(err)
	return req
}

func cutAll(index uint64) gcCutoffs {
	return gcCutoffs{Job: index, Eval: index, BatchEval: index, Deployment: index, Node: index}
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	sort.Strings(out)
	return out
}

func jobIDs(jobs []structs.GCJob) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	sort.Strings(out)
	return out
}

const (
	run      = structs.AllocDesiredStatusRun
	stop     = structs.AllocDesiredStatusStop
	running  = structs.AllocClientStatusRunning
	complete = structs.AllocClientStatusComplete
	failed   = structs.AllocClientStatusFailed
	nodeA    = "00000000-0000-0000-0000-00000000000a"
)

// TestGCPlanJobs: which jobs go, with their evaluations and allocations.
func TestGCPlanJobs(t *testing.T) {
	w := newGCWorld(t)
	// A stopped service job whose allocation finished: collected whole.
	stopped := w.job("stopped", structs.JobTypeService)
	e1 := w.eval(stopped, structs.EvalStatusComplete)
	a1 := w.alloc(e1, nodeA, run, running)
	w.stop("stopped")
	e2 := w.eval(w.current("stopped"), structs.EvalStatusComplete)
	w.stopAlloc(a1)
	w.must(w.s.UpdateAllocsFromClient(w.next(), []*structs.Allocation{{ID: a1.ID, ClientStatus: complete}}))

	// A batch job that finished by itself: collected.
	batch := w.job("batch", structs.JobTypeBatch)
	be := w.eval(batch, structs.EvalStatusComplete)
	ba := w.alloc(be, nodeA, run, complete)

	// A running service job: kept.
	live := w.job("live", structs.JobTypeService)
	w.alloc(w.eval(live, structs.EvalStatusComplete), nodeA, run, running)

	// A finished service job that was not stopped: kept (services do not
	// finish by themselves).
	done := w.job("done", structs.JobTypeService)
	w.alloc(w.eval(done, structs.EvalStatusComplete), nodeA, run, complete)

	// A stopped job whose allocation still runs on its client: kept.
	draining := w.job("draining", structs.JobTypeService)
	da := w.alloc(w.eval(draining, structs.EvalStatusComplete), nodeA, run, running)
	w.stop("draining")
	w.stopAlloc(da)

	// Periodic parent: kept while enabled; its dead child goes.
	parent := testJob("cron", 1)
	parent.Namespace = structs.DefaultNamespace
	parent.Type, parent.Periodic = structs.JobTypeBatch, &structs.PeriodicConfig{Enabled: true, Spec: "@hourly"}
	w.must(w.s.UpsertJob(w.next(), parent))
	child := testJob("cron/periodic-1", 1)
	child.Namespace = structs.DefaultNamespace
	child.Type, child.ParentID = structs.JobTypeBatch, "cron"
	w.must(w.s.UpsertJob(w.next(), child))
	ce := w.eval(w.current(child.ID), structs.EvalStatusComplete)
	w.alloc(ce, nodeA, run, complete)

	// A stopped dispatch template goes.
	tmpl := testJob("tmpl", 1)
	tmpl.Namespace = structs.DefaultNamespace
	tmpl.Type, tmpl.ParameterizedJob = structs.JobTypeBatch, &structs.ParameterizedJobConfig{}
	w.must(w.s.UpsertJob(w.next(), tmpl))
	w.stop("tmpl")

	cut := w.index

	// A batch job that finished after the cutoff: too young.
	young := w.job("young", structs.JobTypeBatch)
	w.alloc(w.eval(young, structs.EvalStatusComplete), nodeA, run, complete)

	req := w.plan(cutAll(cut))
	want := []string{"batch", "cron/periodic-1", "stopped", "tmpl"}
	if got := jobIDs(req.Jobs); !slices.Equal(got, want) {
		t.Errorf("collected jobs = %v, want %v", got, want)
	}
	for _, id := range []string{e1.ID, e2.ID, be.ID, ce.ID} {
		if !slices.Contains(req.Evals, id) {
			t.Errorf("eval %s of a collected job not collected; evals %v", id, req.Evals)
		}
	}
	for _, id := range []string{a1.ID, ba.ID} {
		if !slices.Contains(req.Allocs, id) {
			t.Errorf("alloc %s of a collected job not collected; allocs %v", id, req.Allocs)
		}
	}
	if slices.Contains(req.Allocs, da.ID) {
		t.Errorf("alloc %s still running on its client was collected", da.ID)
	}

	// Forced, the young job goes too; the running ones still stay.
	req = w.plan(forcedCutoffs)
	want = []string{"batch", "cron/periodic-1", "stopped", "tmpl", "young"}
	if got := jobIDs(req.Jobs); !slices.Equal(got, want) {
		t.Errorf("forced: collected jobs = %v, want %v", got, want)
	}
}

// TestGCPlanEvalsAndAllocs: evaluations of live jobs.
func TestGCPlanEvalsAndAllocs(t *testing.T) {
	w := newGCWorld(t)
	svc := w.job("svc", structs.JobTypeService)
	// Finished eval, its alloc was stopped by a later update and finished.
	oldEval := w.eval(svc, structs.EvalStatusComplete)
	oldAlloc := w.alloc(oldEval, nodeA, run, running)
	w.stopAlloc(oldAlloc)
	w.must(w.s.UpdateAllocsFromClient(w.next(), []*structs.Allocation{{ID: oldAlloc.ID, ClientStatus: complete}}))
	// Finished eval whose alloc runs: kept, and so is the alloc.
	runEval := w.eval(svc, structs.EvalStatusComplete)
	runAlloc := w.alloc(runEval, nodeA, run, running)
	// Failed alloc, not yet replaced, unlimited reschedule (service
	// default): kept with its eval.
	failEval := w.eval(svc, structs.EvalStatusComplete)
	failAlloc := w.alloc(failEval, nodeA, run, failed)
	// Pending and blocked evals: kept.
	pending := w.eval(svc, structs.EvalStatusPending)
	blocked := w.eval(svc, structs.EvalStatusBlocked)

	// A live batch job: its complete alloc of the current version stays
	// (or the scheduler would run it again); one of an older version goes.
	b := w.job("b", structs.JobTypeBatch)
	bOld := w.eval(b, structs.EvalStatusComplete)
	bOldAlloc := w.alloc(bOld, nodeA, run, complete)
	nb := testJob("b", 1)
	nb.Namespace, nb.Type = structs.DefaultNamespace, structs.JobTypeBatch
	nb.TaskGroups[0].Count = 2
	w.must(w.s.UpsertJob(w.next(), nb))
	bNew := w.eval(w.current("b"), structs.EvalStatusComplete)
	bNewAlloc := w.alloc(bNew, nodeA, run, complete)
	w.alloc(w.eval(w.current("b"), structs.EvalStatusComplete), nodeA, run, running)

	req := w.plan(cutAll(w.index))
	if len(req.Jobs) != 0 {
		t.Errorf("collected jobs %v, want none", jobIDs(req.Jobs))
	}
	wantEvals := sorted([]string{oldEval.ID, bOld.ID})
	if got := sorted(req.Evals); !slices.Equal(got, wantEvals) {
		t.Errorf("collected evals = %v, want %v", got, wantEvals)
	}
	wantAllocs := sorted([]string{oldAlloc.ID, bOldAlloc.ID})
	if got := sorted(req.Allocs); !slices.Equal(got, wantAllocs) {
		t.Errorf("collected allocs = %v, want %v", got, wantAllocs)
	}
	for _, keep := range []string{runEval.ID, failEval.ID, pending.ID, blocked.ID, bNew.ID} {
		if slices.Contains(req.Evals, keep) {
			t.Errorf("eval %s collected, want kept", keep)
		}
	}
	for _, keep := range []string{runAlloc.ID, failAlloc.ID, bNewAlloc.ID} {
		if slices.Contains(req.Allocs, keep) {
			t.Errorf("alloc %s collected, want kept", keep)
		}
	}

	// Below the cutoff nothing goes.
	if req := w.plan(cutAll(svc.ModifyIndex)); !req.Empty() {
		t.Errorf("plan with an early cutoff = %+v, want nothing", req)
	}
}

func TestAllocCollectableReschedule(t *testing.T) {
	now := time.Now()
	job := testJob("j", 1)
	job.Status = structs.JobStatusRunning
	job.TaskGroups[0].ReschedulePolicy = &structs.ReschedulePolicy{Attempts: 2, Interval: time.Hour}
	failedAlloc := func(mod func(a *structs.Allocation)) *structs.Allocation {
		a := &structs.Allocation{ID: "a", TaskGroup: "web", DesiredStatus: run, ClientStatus: failed, ModifyIndex: 5}
		mod(a)
		return a
	}
	events := func(ago time.Duration) *structs.RescheduleTracker {
		return &structs.RescheduleTracker{Events: []*structs.RescheduleEvent{{RescheduleTime: now.Add(-ago).UnixNano()}}}
	}
	cases := []struct {
		name string
		a    *structs.Allocation
		want bool
	}{
		{"never rescheduled", failedAlloc(func(*structs.Allocation) {}), false},
		{"replaced", failedAlloc(func(a *structs.Allocation) { a.NextAllocation = "b" }), true},
		{"rescheduled recently", failedAlloc(func(a *structs.Allocation) { a.RescheduleTracker = events(time.Minute) }), false},
		{"rescheduled long ago", failedAlloc(func(a *structs.Allocation) { a.RescheduleTracker = events(2 * time.Hour) }), true},
		{"stopped", failedAlloc(func(a *structs.Allocation) { a.DesiredStatus = stop }), true},
		{"too young", failedAlloc(func(a *structs.Allocation) { a.NextAllocation = "b"; a.ModifyIndex = 11 }), false},
		{"complete", failedAlloc(func(a *structs.Allocation) { a.ClientStatus = complete }), true},
		{"stopped, still running", failedAlloc(func(a *structs.Allocation) {
			a.DesiredStatus, a.ClientStatus = stop, running
		}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := allocCollectable(tc.a, job, now, 10); got != tc.want {
				t.Errorf("allocCollectable() = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestGCPlanDeploymentsAndNodes: finished deployments that are not the
// latest, and down nodes without live allocations.
func TestGCPlanDeploymentsAndNodes(t *testing.T) {
	w := newGCWorld(t)
	version := func(count int) *structs.Job {
		j := testJob("web", count)
		j.Namespace = structs.DefaultNamespace
		j.TaskGroups[0].Update = &structs.UpdateStrategy{MaxParallel: 1}
		return j
	}
	register := func(j *structs.Job) *structs.Deployment {
		d := structs.NewDeployment(j, time.Now())
		w.must(w.s.ApplyJobRegisterDeployment(w.next(), &structs.JobRegisterDeploymentRequest{
			JobRegisterRequest: structs.JobRegisterRequest{Job: j}, Deployment: d}))
		got, err := w.s.DeploymentByID(nil, d.ID)
		w.must(err)
		return got
	}
	d0 := register(version(1))
	d1 := register(version(2)) // cancels d0
	d2 := register(version(3)) // cancels d1, which keeps a live alloc
	e := w.eval(w.current("web"), structs.EvalStatusComplete)
	a := w.alloc(e, nodeA, run, running)
	a.DeploymentID = d1.ID
	w.must(w.s.UpsertPlanResults(w.next(), &structs.ApplyPlanResultsRequest{Allocs: []*structs.Allocation{a}}))
	done := d2.Copy()
	done.Status = structs.DeploymentStatusSuccessful
	w.must(w.s.ApplyDeploymentUpdate(w.next(), &structs.DeploymentUpdateRequest{Deployment: done}))

	w.node("00000000-0000-0000-0000-0000000000d1", structs.NodeStatusDown)
	w.node("00000000-0000-0000-0000-0000000000d2", structs.NodeStatusDown)
	w.node("00000000-0000-0000-0000-0000000000r1", structs.NodeStatusReady)
	onDown := w.alloc(e, "00000000-0000-0000-0000-0000000000d2", run, running)

	req := w.plan(cutAll(w.index))
	if got, want := req.Deployments, []string{d0.ID}; !slices.Equal(got, want) {
		t.Errorf("collected deployments = %v, want only the cancelled one without allocs %v (latest %s, with a live alloc %s)", got, want, d2.ID, d1.ID)
	}
	if got, want := req.Nodes, []string{"00000000-0000-0000-0000-0000000000d1"}; !slices.Equal(got, want) {
		t.Errorf("collected nodes = %v, want %v", got, want)
	}
	_ = onDown
}

func TestSplitReap(t *testing.T) {
	req := &structs.GCReapRequest{
		Allocs: []string{"a1", "a2", "a3"}, Evals: []string{"e1", "e2"},
		Jobs: []structs.GCJob{{ID: "j"}}, Nodes: []string{"n"},
	}
	parts := splitReap(req, 3)
	if len(parts) != 3 {
		t.Fatalf("splitReap() = %d parts, want 3", len(parts))
	}
	var order []string
	for _, p := range parts {
		if p.Size() > 3 {
			t.Errorf("part of %d objects, want at most 3", p.Size())
		}
		order = append(order, p.Allocs...)
		order = append(order, p.Evals...)
		for _, j := range p.Jobs {
			order = append(order, j.ID)
		}
		order = append(order, p.Nodes...)
	}
	if want := []string{"a1", "a2", "a3", "e1", "e2", "j", "n"}; !slices.Equal(order, want) {
		t.Errorf("splitReap() order = %v, want %v", order, want)
	}
}

func TestTimeTable(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tt := newTimeTable(10*time.Second, time.Hour)
	if got := tt.nearestIndex(base); got != 0 {
		t.Errorf("empty nearestIndex() = %d, want 0", got)
	}
	// One entry a second for two hours.
	for i := 0; i <= 7200; i++ {
		tt.witness(uint64(i+1), base.Add(time.Duration(i)*time.Second))
	}
	end := base.Add(7200 * time.Second)
	if got := tt.nearestIndex(end); got != 7201 {
		t.Errorf("nearestIndex(latest) = %d, want the latest index 7201", got)
	}
	// Ten minutes ago: index 6601 was applied then; the answer may be up to
	// a granularity earlier, never later.
	got := tt.nearestIndex(end.Add(-10 * time.Minute))
	if got > 6601 || got < 6601-10 {
		t.Errorf("nearestIndex(10m ago) = %d, want within [6591, 6601]", got)
	}
	// Older than the limit is forgotten, except the entry at the limit.
	if got := tt.nearestIndex(end.Add(-90 * time.Minute)); got != 0 {
		t.Errorf("nearestIndex(90m ago) = %d, want 0 (beyond the limit)", got)
	}
	if n := len(tt.entries); n > 2*360 {
		t.Errorf("table holds %d entries, want about limit/granularity (360)", n)
	}
	// Out-of-order witnesses are ignored.
	tt.witness(10, end.Add(time.Second))
	tt.witness(8000, end.Add(-time.Hour))
	if got := tt.nearestIndex(end.Add(time.Hour)); got != 7201 {
		t.Errorf("after stale witnesses nearestIndex() = %d, want 7201", got)
	}
	var nilTable *timeTable
	nilTable.witness(1, base)
	if got := nilTable.nearestIndex(base); got != 0 {
		t.Errorf("nil table nearestIndex() = %d, want 0", got)
	}
}
