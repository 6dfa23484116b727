package scheduler

import (
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// systemScheduler runs one allocation of each group on every feasible
// node. Sysbatch allocations that finished are not run again.
type systemScheduler struct {
	typ     string
	logger  hclog.Logger
	state   State
	planner Planner
	now     func() time.Time
}

func (s *systemScheduler) Process(eval *structs.Evaluation) error {
	return process(s.logger, s.state, s.planner, eval, func(state State) (*outcome, error) {
		return s.compute(state, eval)
	})
}

func (s *systemScheduler) compute(state State, eval *structs.Evaluation) (*outcome, error) {
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
	ctx.loadJobAllocs(allocs)
	if !runnable(job) {
		desc := descJobStopped
		if job == nil {
			ctx.job = &structs.Job{ID: eval.JobID, Namespace: eval.Namespace}
		}
		for _, a := range allocs {
			if !a.TerminalStatus() {
				ctx.stopAlloc(a, desc, "")
			}
		}
		return out, ctx.err
	}
	if err := ctx.loadNodes(); err != nil {
		return nil, fmt.Errorf("list nodes: %w", err)
	}

	// What each node runs of each group, live or finished.
	live := map[nodeTG]*structs.Allocation{}
	done := map[nodeTG]bool{}
	var replace []*structs.Allocation
	var roll systemRollout
	sort.Slice(allocs, func(i, j int) bool { return allocs[i].CreateIndex < allocs[j].CreateIndex })
	for _, a := range allocs {
		k := nodeTG{a.NodeID, a.TaskGroup}
		if a.TerminalStatus() {
			if a.DesiredStatus == structs.AllocDesiredStatusRun && s.typ == structs.JobTypeSysBatch && a.Job != nil && a.Job.Version == job.Version {
				done[k] = true
			}
			continue
		}
		tg := job.LookupTaskGroup(a.TaskGroup)
		n := ctx.nodeByID(a.NodeID)
		candidate := ctx.entry(a.NodeID) != nil
		switch {
		case tg == nil:
			ctx.stopAlloc(a, descNotNeeded, "")
		case n == nil || n.Status == structs.NodeStatusDown || n.Status == structs.NodeStatusDisconnected:
			ctx.stopAlloc(a, descLost, structs.AllocClientStatusLost)
		case a.DesiredTransition.Migrate != nil && *a.DesiredTransition.Migrate:
			// The drainer marks system allocs last; stop them then.
			ctx.stopAlloc(a, descMigrating, "")
		case !candidate && n.Status == structs.NodeStatusReady && !n.Drain && n.SchedulingEligibility == structs.NodeSchedulingEligible:
			// Ready but outside the job's datacenters or pool now.
			ctx.stopAlloc(a, descNodeTainted, "")
		case live[k] != nil:
			ctx.stopAlloc(a, descNotNeeded, "")
		default:
			live[k] = a
			if a.Job != nil && (a.Job.Version != job.Version || a.Job.JobModifyIndex != job.JobModifyIndex) {
				r := &reconciler{job: job}
				if r.destructive(tg, a) {
					if !roll.take(tg) {
						continue // max_parallel reached: a follow-up eval continues
					}
					ctx.stopAlloc(a, descUpdating, "")
					delete(live, k)
					replace = append(replace, a)
				} else {
					u := a.Copy()
					u.Job, u.EvalID, u.ModifyTime = job, eval.ID, now.UnixNano()
					ctx.updateAlloc(u)
				}
			}
		}
	}
	if f := roll.followup(eval, now); f != nil {
		out.followups = append(out.followups, f)
	}
	prev := map[nodeTG]*structs.Allocation{}
	for _, a := range replace {
		prev[nodeTG{a.NodeID, a.TaskGroup}] = a
	}

	st := newStack(ctx, false)
	preempt := preemptionEnabled(state.SchedulerConfig(), s.typ)
	for _, tg := range job.TaskGroups {
		out.queued[tg.Name] = 0
		ask := newGroupAsk(job, tg)
		st.setGroup(ask)
		for _, e := range ctx.nodes {
			k := nodeTG{e.node.ID, tg.Name}
			if live[k] != nil || done[k] {
				continue
			}
			ctx.metrics = &structs.AllocMetric{NodesInPool: len(ctx.nodes), NodesAvailable: ctx.available}
			st.source.setNodes([]*nodeEntry{e})
			start := s.now()
			r := st.selectNode(nil)
			ctx.metrics.AllocationTime = s.now().Sub(start)
			if r == nil && preempt && ctx.metrics.NodesFiltered == 0 {
				if opt := st.selectPreempt(); opt != nil {
					a := st.placePreempting(opt, structs.AllocName(job.ID, tg.Name, 0))
					if p := prev[k]; p != nil {
						a.PreviousAllocation = p.ID
					}
					ctx.placeAlloc(a)
					continue
				}
			}
			if r == nil {
				if ctx.metrics.NodesFiltered > 0 {
					continue
				}
				if out.failed == nil {
					out.failed = map[string]*structs.AllocMetric{}
				}
				if f, ok := out.failed[tg.Name]; ok {
					mergeMetric(f, ctx.metrics)
				} else {
					out.failed[tg.Name] = ctx.metrics
				}
				out.queued[tg.Name]++
				continue
			}
			a := ctx.newAlloc(ask, r, structs.AllocName(job.ID, tg.Name, 0))
			if p := prev[k]; p != nil {
				a.PreviousAllocation = p.ID
			}
			ctx.placeAlloc(a)
		}
	}
	return out, ctx.err
}

// mergeMetric folds one node's failure into the group's metric.
func mergeMetric(into, m *structs.AllocMetric) {
	into.NodesEvaluated += m.NodesEvaluated
	into.NodesExhausted += m.NodesExhausted
	into.CoalescedFailures++
	for k, v := range m.DimensionExhausted {
		if into.DimensionExhausted == nil {
			into.DimensionExhausted = map[string]int{}
		}
		into.DimensionExhausted[k] += v
	}
	for k, v := range m.ClassExhausted {
		if into.ClassExhausted == nil {
			into.ClassExhausted = map[string]int{}
		}
		into.ClassExhausted[k] += v
	}
}
