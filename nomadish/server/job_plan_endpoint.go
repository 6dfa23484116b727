package server

import (
	"fmt"
	"time"

	"github.com/nomadish/nomadish/nomadish/scheduler"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Update kinds of a plan's group diff, as Nomad names them.
const (
	updateCreate      = "create"
	updateDestroy     = "destroy"
	updateInPlace     = "in-place update"
	updateDestructive = "create/destroy update"
	updateIgnore      = "ignore"
	updateCanary      = "canary"
	updateMigrate     = "migrate"
)

// planState is a snapshot in which the planned job replaces the stored one,
// with the deployment registering it would start.
type planState struct {
	schedState
	job        *structs.Job
	deployment *structs.Deployment
}

func (p *planState) LatestDeployment(ns, jobID string) (*structs.Deployment, error) {
	if p.deployment != nil && ns == p.job.Namespace && jobID == p.job.ID {
		return p.deployment, nil
	}
	return p.schedState.LatestDeployment(ns, jobID)
}

func (p *planState) JobByID(ns, id string) (*structs.Job, error) {
	if ns == p.job.Namespace && id == p.job.ID {
		return p.job, nil
	}
	return p.schedState.JobByID(ns, id)
}

// planRecorder is a Planner that keeps the plan instead of submitting it.
type planRecorder struct {
	plan *structs.Plan
	eval *structs.Evaluation
}

func (r *planRecorder) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	r.plan = plan
	return &structs.PlanResult{NodeUpdate: plan.NodeUpdate, NodeAllocation: plan.NodeAllocation}, nil, nil
}

func (r *planRecorder) UpdateEval(e *structs.Evaluation) error { r.eval = e; return nil }

func (r *planRecorder) CreateEval(*structs.Evaluation) error { return nil }

func (r *planRecorder) ReblockEval(e *structs.Evaluation) error { r.eval = e; return nil }

// Plan runs the scheduler against the current state with the job as
// submitted and reports what it would do, committing nothing.
func (e *JobEndpoint) Plan(args *structs.JobPlanRequest, reply *structs.JobPlanResponse) error {
	if done, err := e.srv.forward("Job.Plan", false, args, reply); done {
		return err
	}
	if args.Job == nil {
		return NewCodedError(400, "missing job")
	}
	job := args.Job
	if job.Namespace == "" {
		job.Namespace = namespaceOf(args.Namespace)
	}
	job.Canonicalize()
	if err := job.Validate(); err != nil {
		return NewCodedError(400, err.Error())
	}
	if err := validateLifecycle(job); err != nil {
		return NewCodedError(400, err.Error())
	}
	snap := e.srv.State().Snapshot()
	cur, err := snap.JobByID(nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	diff := cur.Diff(job)
	planned := *job
	if cur != nil {
		reply.JobModifyIndex = cur.JobModifyIndex
		planned.CreateIndex = cur.CreateIndex
		planned.Version, planned.JobModifyIndex = cur.Version, cur.JobModifyIndex
		if diff.HasChanges() {
			planned.Version++
			planned.JobModifyIndex = snap.LatestIndex() + 1
		}
	} else {
		planned.CreateIndex = snap.LatestIndex() + 1
		planned.JobModifyIndex = planned.CreateIndex
	}
	planned.Status = structs.JobStatusPending
	if planned.IsPeriodic() {
		reply.NextPeriodicLaunch = planned.Periodic.Next(timeNow())
	}
	var updates map[string]*structs.DesiredUpdates
	if !planned.IsPeriodic() && !planned.IsParameterized() {
		rec := &planRecorder{}
		eval := &structs.Evaluation{
			ID: structs.GenerateUUID(), Namespace: planned.Namespace, Priority: planned.Priority,
			Type: planned.Type, TriggeredBy: structs.EvalTriggerJobRegister, JobID: planned.ID,
			Status: structs.EvalStatusPending, JobModifyIndex: planned.JobModifyIndex,
		}
		st := &planState{schedState: schedState{snap}, job: &planned}
		if cur == nil || diff.HasChanges() {
			if d := structs.NewDeployment(&planned, timeNow()); d != nil {
				d.JobVersion, d.JobCreateIndex, d.JobModifyIndex = planned.Version, planned.CreateIndex, planned.JobModifyIndex
				st.deployment = d
			}
		}
		sched, err := scheduler.NewScheduler(planned.Type, e.srv.logger.Named("plan"), st, rec, time.Now)
		if err != nil {
			return NewCodedError(400, err.Error())
		}
		if err := sched.Process(eval); err != nil {
			return fmt.Errorf("plan: %w", err)
		}
		existing, err := snap.AllocsByJob(nil, planned.Namespace, planned.ID)
		if err != nil {
			return err
		}
		updates = desiredUpdates(&planned, existing, rec.plan)
		if rec.eval != nil {
			reply.FailedTGAllocs = rec.eval.FailedTGAllocs
		}
	}
	reply.Annotations = &structs.PlanAnnotations{DesiredTGUpdates: updates}
	annotateDiff(diff, updates)
	if args.Diff {
		reply.Diff = diff
	}
	reply.Index = snap.LatestIndex()
	return nil
}

// desiredUpdates counts a plan's decisions per group: a placement that
// replaces an allocation the same plan stops for an update is one
// destructive update, an existing allocation placed again is an in-place
// update, and live allocations the plan leaves alone are ignored.
func desiredUpdates(job *structs.Job, existing []*structs.Allocation, plan *structs.Plan) map[string]*structs.DesiredUpdates {
	out := map[string]*structs.DesiredUpdates{}
	get := func(tg string) *structs.DesiredUpdates {
		if out[tg] == nil {
			out[tg] = &structs.DesiredUpdates{}
		}
		return out[tg]
	}
	for _, tg := range job.TaskGroups {
		get(tg.Name)
	}
	known := map[string]*structs.Allocation{}
	for _, a := range existing {
		known[a.ID] = a
	}
	touched := map[string]bool{}
	updating := map[string]bool{}
	if plan != nil {
		for _, stops := range plan.NodeUpdate {
			for _, a := range stops {
				touched[a.ID] = true
				if a.DesiredDescription == "alloc is being updated due to job update" {
					updating[a.ID] = true
					continue
				}
				if a.DesiredStatus == structs.AllocDesiredStatusEvict {
					continue
				}
				get(a.TaskGroup).Stop++
			}
		}
		for _, placed := range plan.NodeAllocation {
			for _, a := range placed {
				touched[a.ID] = true
				u := get(a.TaskGroup)
				switch {
				case known[a.ID] != nil:
					u.InPlaceUpdate++
				case a.DeploymentStatus != nil && a.DeploymentStatus.Canary:
					u.Canary++
				case a.PreviousAllocation != "" && updating[a.PreviousAllocation]:
					u.DestructiveUpdate++
				case a.PreviousAllocation != "" && known[a.PreviousAllocation] != nil && known[a.PreviousAllocation].DesiredTransition.Migrate != nil:
					u.Migrate++
				default:
					u.Place++
				}
			}
		}
	}
	for _, a := range existing {
		if !touched[a.ID] && !a.TerminalStatus() && a.Job != nil && a.Job.CreateIndex == job.CreateIndex {
			get(a.TaskGroup).Ignore++
		}
	}
	return out
}

// annotateDiff fills the group diffs' Updates and the task diffs'
// annotations from the scheduler's decisions.
func annotateDiff(d *structs.JobDiff, updates map[string]*structs.DesiredUpdates) {
	for _, g := range d.TaskGroups {
		u := updates[g.Name]
		if u == nil {
			continue
		}
		g.Updates = map[string]uint64{}
		for k, v := range map[string]uint64{
			updateCreate: u.Place, updateDestroy: u.Stop, updateInPlace: u.InPlaceUpdate,
			updateDestructive: u.DestructiveUpdate, updateIgnore: u.Ignore, updateCanary: u.Canary,
			updateMigrate: u.Migrate,
		} {
			if v > 0 {
				g.Updates[k] = v
			}
		}
		for _, t := range g.Tasks {
			switch {
			case t.Type == structs.DiffTypeAdded:
				t.Annotations = []string{"forces create"}
			case t.Type == structs.DiffTypeDeleted:
				t.Annotations = []string{"forces destroy"}
			case t.Type == structs.DiffTypeEdited && u.DestructiveUpdate+u.Canary > 0:
				t.Annotations = []string{"forces create/destroy update"}
			case t.Type == structs.DiffTypeEdited && u.InPlaceUpdate > 0:
				t.Annotations = []string{"forces in-place update"}
			}
		}
	}
}
