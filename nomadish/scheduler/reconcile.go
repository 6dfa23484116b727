package scheduler

import (
	"reflect"
	"sort"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Descriptions written on stopped allocations.
const (
	descNotNeeded   = "alloc not needed due to job update"
	descJobStopped  = "alloc not needed as job is stopped"
	descUpdating    = "alloc is being updated due to job update"
	descMigrating   = "alloc is being migrated"
	descLost        = "alloc is lost since its node is down"
	descNodeTainted = "alloc not needed as node is tainted"
)

// rescheduleWindow: a failed alloc due within this window is replaced now.
const rescheduleWindow = time.Second

// followupBatch: failed allocs due within this span share one delayed eval.
const followupBatch = 5 * time.Second

// placeRequest asks for one new allocation.
type placeRequest struct {
	tg   *structs.TaskGroup
	name string
	// previous is the alloc this one replaces, if any.
	previous *structs.Allocation
	// reschedule is set when previous failed and is being rescheduled.
	reschedule bool
}

// stopRequest stops one allocation.
type stopRequest struct {
	alloc        *structs.Allocation
	desc         string
	clientStatus string
}

// reconcileResult is what the reconciler decided.
type reconcileResult struct {
	stop    []stopRequest
	place   []placeRequest
	inplace []*structs.Allocation
	// followups are delayed evals for allocs to reschedule later, and
	// annotate the allocs marked with their follow-up eval ID.
	followups []*structs.Evaluation
	annotate  []*structs.Allocation
}

// reconciler compares a service or batch job's groups with its allocations.
type reconciler struct {
	job    *structs.Job // nil when the job is gone
	eval   *structs.Evaluation
	allocs []*structs.Allocation
	node   func(id string) *structs.Node
	now    time.Time
	batch  bool
	// rollout limits destructive updates during a deployment (nil: none).
	rollout *rollout
}

// slot is an alloc name index held by an existing allocation.
type slot struct {
	alloc *structs.Allocation
	// replace asks for a replacement at the same name.
	replace    bool
	reschedule bool
	// live is false for terminal allocs that still hold their index.
	live bool
}

func (r *reconciler) compute() *reconcileResult {
	res := &reconcileResult{}
	byTG := map[string][]*structs.Allocation{}
	replaced := map[string]bool{}
	for _, a := range r.allocs {
		byTG[a.TaskGroup] = append(byTG[a.TaskGroup], a)
		if a.PreviousAllocation != "" {
			replaced[a.PreviousAllocation] = true
		}
	}
	stopped := !runnable(r.job)
	// Groups the job no longer has, or every group of a stopped job.
	names := make([]string, 0, len(byTG))
	for name := range byTG {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !stopped && r.job.LookupTaskGroup(name) != nil {
			continue
		}
		desc := descNotNeeded
		if stopped {
			desc = descJobStopped
		}
		for _, a := range byTG[name] {
			if !a.TerminalStatus() {
				res.stop = append(res.stop, stopRequest{alloc: a, desc: desc})
			}
		}
	}
	if stopped {
		return res
	}
	var later []*structs.Allocation
	var laterAt []time.Time
	for _, tg := range r.job.TaskGroups {
		l, at := r.computeGroup(tg, byTG[tg.Name], replaced, res)
		later, laterAt = append(later, l...), append(laterAt, at...)
	}
	r.batchFollowups(later, laterAt, res)
	return res
}

// runnable reports whether the job should have allocations: it exists, is
// not stopped, and is not a periodic or parameterized template (those run
// only through their children).
func runnable(j *structs.Job) bool {
	return j != nil && !j.Stop && !j.IsPeriodic() && !j.IsParameterized()
}

// computeGroup reconciles one group and returns allocs to reschedule later.
func (r *reconciler) computeGroup(tg *structs.TaskGroup, allocs []*structs.Allocation, replaced map[string]bool, res *reconcileResult) ([]*structs.Allocation, []time.Time) {
	var slots []*slot
	var later []*structs.Allocation
	var laterAt []time.Time
	for _, a := range allocs {
		if a.DesiredStatus != structs.AllocDesiredStatusRun {
			continue
		}
		switch a.ClientStatus {
		case structs.AllocClientStatusComplete:
			if r.batch {
				slots = append(slots, &slot{alloc: a})
			}
			continue
		case structs.AllocClientStatusLost:
			continue
		case structs.AllocClientStatusFailed:
			if replaced[a.ID] || a.NextAllocation != "" {
				continue
			}
			ok, at := r.rescheduleAt(tg, a)
			switch {
			case !ok:
				slots = append(slots, &slot{alloc: a})
			case !at.After(r.now.Add(rescheduleWindow)) || !r.nodeUp(a.NodeID):
				// Due now, or its node is gone: waiting out the delay buys
				// nothing, and a plan may not touch a node that is not ready.
				slots = append(slots, &slot{alloc: a, replace: true, reschedule: true})
			default:
				slots = append(slots, &slot{alloc: a})
				if a.FollowupEvalID == "" {
					later, laterAt = append(later, a), append(laterAt, at)
				}
			}
			continue
		}
		// Live allocation: is its node still there?
		n := r.node(a.NodeID)
		switch {
		case (n == nil || n.Status == structs.NodeStatusDown || n.Status == structs.NodeStatusDisconnected) && tg.PreventRescheduleOnLost:
			// Left in place, holding its index, until the node returns.
			slots = append(slots, &slot{alloc: a})
		case n == nil || n.Status == structs.NodeStatusDown || n.Status == structs.NodeStatusDisconnected:
			res.stop = append(res.stop, stopRequest{alloc: a, desc: descLost, clientStatus: structs.AllocClientStatusLost})
			slots = append(slots, &slot{alloc: a, replace: true})
		case a.DesiredTransition.Migrate != nil && *a.DesiredTransition.Migrate:
			res.stop = append(res.stop, stopRequest{alloc: a, desc: descMigrating})
			slots = append(slots, &slot{alloc: a, replace: true, live: false})
		default:
			slots = append(slots, &slot{alloc: a, live: true})
		}
	}

	// Too many: drop the highest indexes, live or not.
	sort.SliceStable(slots, func(i, j int) bool { return slots[i].alloc.Index() < slots[j].alloc.Index() })
	for len(slots) > tg.Count {
		s := slots[len(slots)-1]
		slots = slots[:len(slots)-1]
		if s.live {
			res.stop = append(res.stop, stopRequest{alloc: s.alloc, desc: descNotNeeded})
		}
	}

	used := map[int]bool{}
	for _, s := range slots {
		used[s.alloc.Index()] = true
		switch {
		case s.replace:
			res.place = append(res.place, placeRequest{tg: tg, name: s.alloc.Name, previous: s.alloc, reschedule: s.reschedule})
		case s.live && r.outdated(s.alloc):
			if r.destructive(tg, s.alloc) {
				if !r.rollout.take(tg) {
					continue // waits for earlier replacements to turn healthy
				}
				res.stop = append(res.stop, stopRequest{alloc: s.alloc, desc: descUpdating})
				res.place = append(res.place, placeRequest{tg: tg, name: s.alloc.Name, previous: s.alloc})
			} else {
				u := s.alloc.Copy()
				u.Job = r.job
				u.EvalID = r.eval.ID
				u.ModifyTime = r.now.UnixNano()
				res.inplace = append(res.inplace, u)
			}
		}
	}
	// Too few: fill the lowest free indexes.
	for idx, missing := 0, tg.Count-len(slots); missing > 0; idx++ {
		if used[idx] {
			continue
		}
		res.place = append(res.place, placeRequest{tg: tg, name: structs.AllocName(r.job.ID, tg.Name, idx)})
		missing--
	}
	return later, laterAt
}

// nodeUp reports whether the node exists and is ready.
func (r *reconciler) nodeUp(id string) bool {
	n := r.node(id)
	return n != nil && n.Status == structs.NodeStatusReady
}

// outdated reports whether the alloc runs an older version of the job.
func (r *reconciler) outdated(a *structs.Allocation) bool {
	return a.Job != nil && (a.Job.Version != r.job.Version || a.Job.JobModifyIndex != r.job.JobModifyIndex)
}

// destructive reports whether updating the alloc needs a new allocation:
// anything about the group or where it may run changed, not just its count.
// Meta (job, group or task) is not part of the decision: a meta-only change
// updates the allocation in place, and its tasks see the new values in
// re-rendered templates and at their next start.
func (r *reconciler) destructive(tg *structs.TaskGroup, a *structs.Allocation) bool {
	old := a.Job.LookupTaskGroup(tg.Name)
	if old == nil {
		return true
	}
	if !reflect.DeepEqual(placementFields(old), placementFields(tg)) {
		return true
	}
	oj, nj := a.Job, r.job
	return !reflect.DeepEqual(oj.Datacenters, nj.Datacenters) || oj.NodePool != nj.NodePool ||
		!reflect.DeepEqual(oj.Constraints, nj.Constraints) || !reflect.DeepEqual(oj.Affinities, nj.Affinities) ||
		!reflect.DeepEqual(oj.Spreads, nj.Spreads)
}

// placementFields is a copy of the group without the fields an update may
// change in place: those only servers read (count, scaling, update,
// migrate, reschedule) and meta.
func placementFields(tg *structs.TaskGroup) structs.TaskGroup {
	c := *tg
	c.Count = 0
	c.Scaling, c.Update, c.Migrate, c.ReschedulePolicy = nil, nil, nil, nil
	c.Meta = nil
	c.Tasks = make([]*structs.Task, len(tg.Tasks))
	for i, t := range tg.Tasks {
		if t == nil {
			continue
		}
		ct := *t
		ct.Meta = nil
		c.Tasks[i] = &ct
	}
	return c
}

// rescheduleAt says whether a failed alloc may be rescheduled and when.
func (r *reconciler) rescheduleAt(tg *structs.TaskGroup, a *structs.Allocation) (bool, time.Time) {
	if a.DesiredTransition.Reschedule != nil && !*a.DesiredTransition.Reschedule {
		return false, time.Time{}
	}
	p := reschedulePolicy(r.job.Type, tg)
	if a.DesiredTransition.ForceReschedule != nil && *a.DesiredTransition.ForceReschedule {
		return true, r.now
	}
	if p == nil || (!p.Unlimited && p.Attempts <= 0) {
		return false, time.Time{}
	}
	var events []*structs.RescheduleEvent
	if a.RescheduleTracker != nil {
		events = a.RescheduleTracker.Events
	}
	if !p.Unlimited {
		recent := 0
		for _, ev := range events {
			if r.now.Sub(time.Unix(0, ev.RescheduleTime)) <= p.Interval {
				recent++
			}
		}
		if recent >= p.Attempts {
			return false, time.Time{}
		}
	}
	return true, failTime(a, r.now).Add(rescheduleDelay(p, events))
}

// reschedulePolicy is the group's policy or the job type's default.
func reschedulePolicy(typ string, tg *structs.TaskGroup) *structs.ReschedulePolicy {
	if tg.ReschedulePolicy != nil {
		return tg.ReschedulePolicy
	}
	return structs.DefaultReschedulePolicy(typ)
}

// rescheduleDelay grows with the number of earlier reschedules:
// constant, exponential (doubling) or fibonacci, capped at MaxDelay.
func rescheduleDelay(p *structs.ReschedulePolicy, events []*structs.RescheduleEvent) time.Duration {
	d := p.Delay
	n := len(events)
	switch p.DelayFunction {
	case "exponential":
		for i := 0; i < n && (p.MaxDelay == 0 || d < p.MaxDelay); i++ {
			d *= 2
		}
	case "fibonacci":
		a, b := p.Delay, p.Delay
		for i := 1; i < n && (p.MaxDelay == 0 || b < p.MaxDelay); i++ {
			a, b = b, a+b
		}
		if n > 0 {
			d = b
		}
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return d
}

// failTime is when the alloc's last task finished, or its last update.
func failTime(a *structs.Allocation, now time.Time) time.Time {
	var t time.Time
	for _, ts := range a.TaskStates {
		if ts != nil && ts.FinishedAt.After(t) {
			t = ts.FinishedAt
		}
	}
	if t.IsZero() && a.ModifyTime != 0 {
		t = time.Unix(0, a.ModifyTime)
	}
	if t.IsZero() {
		t = now
	}
	return t
}

// batchFollowups creates one delayed eval per span of due times and marks
// each alloc with the eval that will reschedule it.
func (r *reconciler) batchFollowups(allocs []*structs.Allocation, at []time.Time, res *reconcileResult) {
	idx := make([]int, len(allocs))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(i, j int) bool { return at[idx[i]].Before(at[idx[j]]) })
	var cur *structs.Evaluation
	for _, i := range idx {
		if cur == nil || at[i].Sub(cur.WaitUntil) > followupBatch {
			cur = &structs.Evaluation{
				ID:             structs.GenerateUUID(),
				Namespace:      r.job.Namespace,
				Priority:       r.job.Priority,
				Type:           r.job.Type,
				TriggeredBy:    structs.EvalTriggerRetryFailedAlloc,
				JobID:          r.job.ID,
				JobModifyIndex: r.job.JobModifyIndex,
				Status:         structs.EvalStatusPending,
				WaitUntil:      at[i],
				PreviousEval:   r.eval.ID,
				CreateTime:     r.now.UnixNano(),
				ModifyTime:     r.now.UnixNano(),
			}
			res.followups = append(res.followups, cur)
		}
		u := allocs[i].Copy()
		u.FollowupEvalID = cur.ID
		u.ModifyTime = r.now.UnixNano()
		res.annotate = append(res.annotate, u)
	}
}
