package scheduler

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// maxAttempts bounds plan submissions per evaluation.
const maxAttempts = 5

// genericScheduler schedules service and batch jobs.
type genericScheduler struct {
	typ     string
	logger  hclog.Logger
	state   State
	planner Planner
	now     func() time.Time
}

// outcome is what one attempt decided beyond the plan.
type outcome struct {
	failed    map[string]*structs.AllocMetric
	queued    map[string]int
	followups []*structs.Evaluation
	ctx       *evalContext
}

func (s *genericScheduler) Process(eval *structs.Evaluation) error {
	return process(s.logger, s.state, s.planner, eval, func(state State) (*outcome, error) {
		return s.compute(state, eval)
	})
}

// process runs attempts until a plan commits fully, then records the result
// on the eval and, when placements failed, a blocked eval.
func process(logger hclog.Logger, state State, planner Planner, eval *structs.Evaluation, compute func(State) (*outcome, error)) error {
	logger = logger.With("eval_id", eval.ID, "job_id", eval.JobID)
	var out *outcome
	defer func() {
		if out != nil {
			out.ctx.done()
		}
	}()
	for attempt := 1; ; attempt++ {
		if attempt > maxAttempts {
			return failEval(planner, eval, out, fmt.Sprintf("maximum attempts reached (%d)", maxAttempts))
		}
		if out != nil {
			out.ctx.done()
		}
		var err error
		out, err = compute(state)
		if err != nil {
			return failEval(planner, eval, out, err.Error())
		}
		for _, f := range out.followups {
			if err := planner.CreateEval(f); err != nil {
				return fmt.Errorf("create follow-up eval: %w", err)
			}
		}
		plan := out.ctx.plan
		if plan.IsNoOp() {
			break
		}
		result, newState, err := planner.SubmitPlan(plan)
		if err != nil {
			return fmt.Errorf("submit plan: %w", err)
		}
		if result != nil && result.RefreshIndex != 0 {
			logger.Debug("plan partially committed, refreshing", "attempt", attempt, "refresh_index", result.RefreshIndex)
			if newState != nil {
				state = newState
			}
			continue
		}
		break
	}
	for _, e := range preemptionEvals(out.ctx) {
		if err := planner.CreateEval(e); err != nil {
			return fmt.Errorf("create preemption eval: %w", err)
		}
	}
	return completeEval(planner, eval, out)
}

// completeEval marks the eval complete, blocking what could not be placed.
func completeEval(planner Planner, eval *structs.Evaluation, out *outcome) error {
	up := eval.Copy()
	up.Status = structs.EvalStatusComplete
	up.StatusDescription = ""
	up.FailedTGAllocs = out.failed
	up.QueuedAllocations = out.queued
	up.SnapshotIndex = out.ctx.plan.SnapshotIndex
	up.ModifyTime = out.ctx.now.UnixNano()
	if len(out.failed) > 0 && out.ctx.job != nil && out.ctx.job.Type != structs.JobTypeSystem && out.ctx.job.Type != structs.JobTypeSysBatch {
		if eval.Status == structs.EvalStatusBlocked {
			re := eval.Copy()
			re.ClassEligibility = out.ctx.classEligibility
			re.EscapedComputedClass = out.ctx.escaped
			re.FailedTGAllocs = out.failed
			re.QueuedAllocations = out.queued
			re.SnapshotIndex = up.SnapshotIndex
			return planner.ReblockEval(re)
		}
		b := blockedEval(eval, out.ctx)
		if err := planner.CreateEval(b); err != nil {
			return fmt.Errorf("create blocked eval: %w", err)
		}
		up.BlockedEval = b.ID
	}
	return planner.UpdateEval(up)
}

func blockedEval(eval *structs.Evaluation, ctx *evalContext) *structs.Evaluation {
	now := ctx.now.UnixNano()
	return &structs.Evaluation{
		ID:                   structs.GenerateUUID(),
		Namespace:            eval.Namespace,
		Priority:             eval.Priority,
		Type:                 eval.Type,
		TriggeredBy:          structs.EvalTriggerQueuedAllocs,
		JobID:                eval.JobID,
		JobModifyIndex:       ctx.job.JobModifyIndex,
		Status:               structs.EvalStatusBlocked,
		StatusDescription:    "created to place remaining allocations",
		PreviousEval:         eval.ID,
		ClassEligibility:     ctx.classEligibility,
		EscapedComputedClass: ctx.escaped,
		SnapshotIndex:        ctx.plan.SnapshotIndex,
		CreateTime:           now,
		ModifyTime:           now,
	}
}

func failEval(planner Planner, eval *structs.Evaluation, out *outcome, desc string) error {
	up := eval.Copy()
	up.Status = structs.EvalStatusFailed
	up.StatusDescription = desc
	if out != nil {
		up.FailedTGAllocs = out.failed
		up.QueuedAllocations = out.queued
	}
	return planner.UpdateEval(up)
}

// compute reconciles the job against the snapshot and builds the plan.
func (s *genericScheduler) compute(state State, eval *structs.Evaluation) (*outcome, error) {
	now := s.now()
	job, err := state.JobByID(eval.Namespace, eval.JobID)
	if err != nil {
		return nil, fmt.Errorf("get job %q: %w", eval.JobID, err)
	}
	allocs, err := state.AllocsByJob(eval.Namespace, eval.JobID)
	if err != nil {
		return nil, fmt.Errorf("get allocs of job %q: %w", eval.JobID, err)
	}
	ctx := newEvalContext(state, s.logger, now, eval, job)
	out := &outcome{ctx: ctx, queued: map[string]int{}}
	ro, err := newRollout(state, job, allocs)
	if err != nil {
		return nil, fmt.Errorf("get deployment of job %q: %w", eval.JobID, err)
	}
	visible, taken := ro.filter(allocs)
	canaries := ro.canaries(allocs)
	r := &reconciler{job: job, eval: eval, allocs: visible, node: ctx.nodeByID, now: now, batch: s.typ == structs.JobTypeBatch, rollout: ro}
	res := r.compute()
	res.place = append(res.place, canaries...)
	for _, a := range taken {
		res.stop = append(res.stop, stopRequest{alloc: a, desc: descNotNeeded})
	}
	if ctx.err != nil {
		return nil, ctx.err
	}
	if job == nil {
		job = &structs.Job{ID: eval.JobID, Namespace: eval.Namespace}
		ctx.job = job
	}
	for _, tg := range job.TaskGroups {
		out.queued[tg.Name] = 0
	}
	ctx.loadJobAllocs(allocs)
	// Stops first: they free room the placements may use.
	for _, st := range res.stop {
		ctx.stopAlloc(st.alloc, st.desc, st.clientStatus)
	}
	for _, u := range res.inplace {
		ctx.updateAlloc(u)
	}
	for _, u := range res.annotate {
		ctx.updateAlloc(u)
	}
	out.followups = res.followups
	if len(res.place) > 0 {
		if err := ctx.loadNodes(); err != nil {
			return nil, fmt.Errorf("list nodes: %w", err)
		}
		ctx.loadAll(len(res.place))
		s.place(ctx, res.place, out)
	}
	if ctx.err != nil {
		return nil, ctx.err
	}
	ro.tag(ctx.plan)
	if job.AllAtOnce && len(out.failed) > 0 {
		// All or nothing: keep the world as it is and queue every placement.
		ctx.plan.NodeAllocation, ctx.plan.NodeUpdate = nil, nil
		for tg := range out.queued {
			out.queued[tg] = 0
		}
		for _, req := range res.place {
			out.queued[req.tg.Name]++
		}
	}
	return out, nil
}

// place runs each placement through the stack, group by group. Once a
// group fails, its later placements are counted without searching again:
// usage only grows within an evaluation.
func (s *genericScheduler) place(ctx *evalContext, reqs []placeRequest, out *outcome) {
	st := newStack(ctx, true)
	preempt := preemptionEnabled(ctx.state.SchedulerConfig(), s.typ)
	var cur *structs.TaskGroup
	var ask *groupAsk
	var failed *structs.AllocMetric
	for _, req := range reqs {
		if req.tg != cur {
			cur, ask, failed = req.tg, newGroupAsk(ctx.job, req.tg), nil
			st.setGroup(ask)
		}
		if failed != nil {
			failed.CoalescedFailures++
			out.queued[cur.Name]++
			continue
		}
		ctx.metrics = &structs.AllocMetric{NodesInPool: len(ctx.nodes), NodesAvailable: ctx.available}
		start := s.now()
		var penalty map[string]bool
		if req.reschedule && req.previous != nil {
			penalty = rescheduledFrom(req.previous)
		}
		var r *rankedNode
		if e := stickyNode(ctx, req); e != nil {
			r = st.selectOn(e, penalty)
		}
		if r == nil {
			r = st.selectNode(penalty)
		}
		if r == nil && preempt {
			if opt := st.selectPreempt(); opt != nil {
				a := st.placePreempting(opt, req.name)
				s.finishAlloc(ctx, a, req, cur)
				continue
			}
		}
		ctx.metrics.AllocationTime = s.now().Sub(start)
		if r == nil {
			failed = ctx.metrics
			if out.failed == nil {
				out.failed = map[string]*structs.AllocMetric{}
			}
			out.failed[cur.Name] = failed
			out.queued[cur.Name]++
			continue
		}
		s.finishAlloc(ctx, ctx.newAlloc(ask, r, req.name), req, cur)
	}
}

// finishAlloc links a new alloc to the one it replaces and adds it to the plan.
func (s *genericScheduler) finishAlloc(ctx *evalContext, a *structs.Allocation, req placeRequest, tg *structs.TaskGroup) {
	if p := req.previous; p != nil {
		a.PreviousAllocation = p.ID
		if req.reschedule {
			a.RescheduleTracker = nextTracker(p, ctx.now, reschedulePolicy(ctx.job.Type, tg))
		}
	}
	ctx.placeAlloc(a)
}

// stickyNode is the node a replacement should try first: where the alloc
// it replaces ran, when the group keeps a sticky disk and the replacement
// is not fleeing a failure.
func stickyNode(ctx *evalContext, req placeRequest) *nodeEntry {
	d := req.tg.EphemeralDisk
	if req.previous == nil || req.reschedule || d == nil || !d.Sticky {
		return nil
	}
	return ctx.entry(req.previous.NodeID)
}

// rescheduledFrom lists the nodes a rescheduled alloc's line has failed on.
func rescheduledFrom(prev *structs.Allocation) map[string]bool {
	nodes := map[string]bool{prev.NodeID: true}
	if prev.RescheduleTracker != nil {
		for _, ev := range prev.RescheduleTracker.Events {
			nodes[ev.PrevNodeID] = true
		}
	}
	return nodes
}

// nextTracker carries the failed alloc's reschedule history forward.
func nextTracker(prev *structs.Allocation, now time.Time, p *structs.ReschedulePolicy) *structs.RescheduleTracker {
	var events []*structs.RescheduleEvent
	if prev.RescheduleTracker != nil {
		events = append(events, prev.RescheduleTracker.Events...)
	}
	delay := rescheduleDelay(p, events)
	events = append(events, &structs.RescheduleEvent{
		RescheduleTime: now.UnixNano(),
		PrevAllocID:    prev.ID,
		PrevNodeID:     prev.NodeID,
		Delay:          delay,
	})
	return &structs.RescheduleTracker{Events: events}
}
