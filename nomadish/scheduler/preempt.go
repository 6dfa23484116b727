package scheduler

import (
	"sort"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// preemptPriorityDelta is how much higher a job's priority must be than
// the allocations it evicts.
const preemptPriorityDelta = 10

// preemptionEnabled says whether the job type may preempt. Without an
// operator config, only system jobs do, as in Nomad.
func preemptionEnabled(cfg *SchedulerConfiguration, typ string) bool {
	if cfg == nil {
		return typ == structs.JobTypeSystem
	}
	p := cfg.PreemptionConfig
	switch typ {
	case structs.JobTypeService:
		return p.ServiceSchedulerEnabled
	case structs.JobTypeBatch:
		return p.BatchSchedulerEnabled
	case structs.JobTypeSystem:
		return p.SystemSchedulerEnabled
	case structs.JobTypeSysBatch:
		return p.SysBatchSchedulerEnabled
	}
	return false
}

// preemptOption is one node and the allocs to evict there.
type preemptOption struct {
	e       *nodeEntry
	victims []*structs.Allocation
	maxPrio int
	freed   int64
}

// better prefers evicting lower priorities, then fewer allocs, then less.
func (p *preemptOption) better(o *preemptOption) bool {
	if p.maxPrio != o.maxPrio {
		return p.maxPrio < o.maxPrio
	}
	if len(p.victims) != len(o.victims) {
		return len(p.victims) < len(o.victims)
	}
	return p.freed < o.freed
}

// selectPreempt looks at every feasible node for one where evicting lower
// priority allocs makes room, and returns the cheapest such node.
func (s *stack) selectPreempt() *preemptOption {
	ctx := s.ctx
	saved := ctx.metrics
	ctx.metrics = &structs.AllocMetric{}
	defer func() { ctx.metrics = saved }()
	// Full nodes are where evictions make room.
	defer s.source.seeEvery()()
	s.distinct.Reset()
	var best *preemptOption
	for e := s.distinct.Next(); e != nil; e = s.distinct.Next() {
		if p := s.preemptOn(e); p != nil && (best == nil || p.better(best)) {
			best = p
		}
	}
	return best
}

// preemptOn finds a small set of evictable allocs on the node that frees
// enough CPU, memory, disk and the static ports the group needs.
func (s *stack) preemptOn(e *nodeEntry) *preemptOption {
	ctx, ask := s.ctx, s.ask
	if ask.cores > 0 {
		return nil // evicting for whole cores is not worked out
	}
	ctx.load(e)
	need := e.used
	need.Add(&ask.res)
	need.Subtract(&e.avail) // what must be freed; <= 0 is fine already
	ports := map[int]bool{}
	for _, p := range ask.static {
		ports[p] = true
	}
	prio := ctx.job.Priority
	var cands, forced []*structs.Allocation
	blocked := false
	ctx.proposedOnNode(e, func(a *structs.Allocation) {
		evictable := !ctx.ownAlloc(a) && a.Job != nil && a.Job.Priority+preemptPriorityDelta <= prio
		holdsPort := false
		for _, p := range structs.AllocHostPorts(a) {
			if ports[p] {
				holdsPort = true
			}
		}
		switch {
		case holdsPort && !evictable:
			blocked = true
		case holdsPort:
			forced = append(forced, a)
		case evictable:
			cands = append(cands, a)
		}
	})
	if blocked {
		return nil
	}
	if len(forced) == 0 && need.CpuShares <= 0 && need.MemoryMB <= 0 && need.DiskMB <= 0 {
		return nil // it fits already; something else (dynamic ports) is short
	}
	sort.SliceStable(cands, func(i, j int) bool {
		pi, pj := cands[i].Job.Priority, cands[j].Job.Priority
		if pi != pj {
			return pi < pj
		}
		ri, rj := structs.AllocComparableResources(cands[i]), structs.AllocComparableResources(cands[j])
		return ri.CpuShares+ri.MemoryMB > rj.CpuShares+rj.MemoryMB
	})
	var freed structs.ComparableResources
	victims := append([]*structs.Allocation(nil), forced...)
	for _, a := range forced {
		freed.Add(structs.AllocComparableResources(a))
	}
	covered := func(f structs.ComparableResources) bool {
		return f.CpuShares >= need.CpuShares && f.MemoryMB >= need.MemoryMB && f.DiskMB >= need.DiskMB
	}
	for _, a := range cands {
		if covered(freed) {
			break
		}
		victims = append(victims, a)
		freed.Add(structs.AllocComparableResources(a))
	}
	if !covered(freed) {
		return nil
	}
	// Drop victims that turned out not to be needed, largest last added first.
	for i := len(victims) - 1; i >= len(forced); i-- {
		f := freed
		f.Subtract(structs.AllocComparableResources(victims[i]))
		if covered(f) {
			freed = f
			victims = append(victims[:i], victims[i+1:]...)
		}
	}
	opt := &preemptOption{e: e, victims: victims, freed: freed.CpuShares + freed.MemoryMB}
	for _, v := range victims {
		opt.maxPrio = max(opt.maxPrio, v.Job.Priority)
	}
	return opt
}

// placePreempting evicts the option's victims and places the alloc there.
func (s *stack) placePreempting(opt *preemptOption, name string) *structs.Allocation {
	ctx := s.ctx
	r := ctx.ranks.get(opt.e)
	a := ctx.newAlloc(s.ask, r, name)
	for _, v := range opt.victims {
		ctx.evict(v, a.ID)
	}
	// Ports were picked before the victims' ports were freed, so they are
	// free now too; the static ones are the group's own.
	return a
}

// preemptionEvals asks each job that lost allocs to preemption to
// reschedule them.
func preemptionEvals(ctx *evalContext) []*structs.Evaluation {
	seen := map[structs.NamespacedID]bool{}
	var out []*structs.Evaluation
	now := ctx.now.UnixNano()
	for _, a := range ctx.preempted {
		id := structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}
		if seen[id] || a.Job == nil {
			continue
		}
		seen[id] = true
		out = append(out, &structs.Evaluation{
			ID:             structs.GenerateUUID(),
			Namespace:      a.Namespace,
			Priority:       a.Job.Priority,
			Type:           a.Job.Type,
			TriggeredBy:    EvalTriggerPreemption,
			JobID:          a.JobID,
			JobModifyIndex: a.Job.JobModifyIndex,
			Status:         structs.EvalStatusPending,
			PreviousEval:   ctx.eval.ID,
			CreateTime:     now,
			ModifyTime:     now,
		})
	}
	return out
}

// EvalTriggerPreemption marks evals for jobs whose allocs were preempted.
const EvalTriggerPreemption = "preemption"
