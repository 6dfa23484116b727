package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// PlanStats counts the plan applier's work since the server started.
type PlanStats struct {
	// Plans is how many plans the applier evaluated.
	Plans uint64
	// PlansPartial is how many of them were not committed whole, because
	// some node no longer had room: their workers refresh and retry.
	PlansPartial uint64
	// NodesRejected is how many nodes were refused across all plans.
	NodesRejected uint64
	// AllocsCommitted is how many placements were committed.
	AllocsCommitted uint64
}

// planCounters is PlanStats kept with atomic counters.
type planCounters struct {
	plans, partial, nodesRejected, allocs atomic.Uint64
}

func (c *planCounters) stats() PlanStats {
	return PlanStats{
		Plans:           c.plans.Load(),
		PlansPartial:    c.partial.Load(),
		NodesRejected:   c.nodesRejected.Load(),
		AllocsCommitted: c.allocs.Load(),
	}
}

// ErrPlanQueueDisabled is returned when plans are submitted to a non-leader.
var ErrPlanQueueDisabled = errors.New("plan queue is disabled: not the leader")

// PlanQueue carries plans from workers to the leader's plan applier.
type PlanQueue struct {
	mu      sync.Mutex
	enabled bool
	ch      chan *pendingPlan
}

type pendingPlan struct {
	plan   *structs.Plan
	result *structs.PlanResult
	err    error
	done   chan struct{}
}

// NewPlanQueue returns a disabled queue.
func NewPlanQueue() *PlanQueue {
	return &PlanQueue{ch: make(chan *pendingPlan, 64)}
}

// SetEnabled turns the queue on (leader) or off.
func (q *PlanQueue) SetEnabled(on bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.enabled = on
	if !on {
		for {
			select {
			case p := <-q.ch:
				p.err = ErrPlanQueueDisabled
				close(p.done)
			default:
				return
			}
		}
	}
}

// Submit queues a plan and waits for its result.
func (q *PlanQueue) Submit(ctx context.Context, plan *structs.Plan) (*structs.PlanResult, error) {
	q.mu.Lock()
	if !q.enabled {
		q.mu.Unlock()
		return nil, ErrPlanQueueDisabled
	}
	p := &pendingPlan{plan: plan, done: make(chan struct{})}
	q.mu.Unlock()
	select {
	case q.ch <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case <-p.done:
		return p.result, p.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// planApply is the leader's plan applier: one plan at a time, it checks
// every node of the plan against the latest state (another worker may
// have used the capacity since the plan was made), commits what fits
// through Raft, and tells the worker what was rejected.
func (s *Server) planApply(ctx context.Context) {
	for {
		var p *pendingPlan
		select {
		case <-ctx.Done():
			return
		case p = <-s.planQueue.ch:
		}
		p.result, p.err = s.applyPlan(p.plan)
		close(p.done)
	}
}

func (s *Server) applyPlan(plan *structs.Plan) (*structs.PlanResult, error) {
	snap := s.State().Snapshot()
	result, err := evaluatePlan(snap, plan)
	if err != nil {
		return nil, err
	}
	s.planStats.plans.Add(1)
	if result.RefreshIndex != 0 {
		s.planStats.partial.Add(1)
		_, expected, actual := result.FullCommit(plan)
		s.planStats.nodesRejected.Add(uint64(expected - actual))
	}
	if len(result.NodeAllocation) == 0 && len(result.NodeUpdate) == 0 {
		return result, nil
	}
	// The request is handed to this server's FSM (raftApplyHanded): the
	// planned allocations become the stored ones. Nothing changes them
	// once the plan is submitted; the worker reads the result only after
	// the FSM applied it. Placements leave their job out of the encoding
	// (the FSM attaches req.Job; the job is sent once).
	req := &structs.ApplyPlanResultsRequest{EvalID: plan.EvalID, Job: plan.Job}
	for _, list := range result.NodeUpdate {
		req.AllocsStopped = append(req.AllocsStopped, list...)
	}
	for _, list := range result.NodeAllocation {
		for _, a := range list {
			a.Job = nil
			req.Allocs = append(req.Allocs, a)
		}
	}
	index, err := s.raftApplyHanded(structs.ApplyPlanResultsRequestType, req)
	if err != nil {
		return nil, fmt.Errorf("apply plan: %w", err)
	}
	result.AllocIndex = index
	s.planStats.allocs.Add(uint64(len(req.Allocs)))
	return result, nil
}

// evaluatePlan decides, node by node, which parts of a plan still fit.
func evaluatePlan(snap *state.StateStore, plan *structs.Plan) (*structs.PlanResult, error) {
	result := &structs.PlanResult{
		NodeUpdate:     map[string][]*structs.Allocation{},
		NodeAllocation: map[string][]*structs.Allocation{},
	}
	nodes := map[string]struct{}{}
	for n := range plan.NodeUpdate {
		nodes[n] = struct{}{}
	}
	for n := range plan.NodeAllocation {
		nodes[n] = struct{}{}
	}
	rejected := false
	for nodeID := range nodes {
		ok, err := nodeFits(snap, plan, nodeID)
		if err != nil {
			return nil, err
		}
		if !ok {
			rejected = true
			if plan.AllAtOnce {
				result.NodeUpdate = map[string][]*structs.Allocation{}
				result.NodeAllocation = map[string][]*structs.Allocation{}
				break
			}
			continue
		}
		if u := plan.NodeUpdate[nodeID]; len(u) > 0 {
			result.NodeUpdate[nodeID] = u
		}
		if a := plan.NodeAllocation[nodeID]; len(a) > 0 {
			result.NodeAllocation[nodeID] = a
		}
	}
	if rejected {
		result.RefreshIndex = snap.LatestIndex()
	}
	return result, nil
}

// onlyUpdates reports whether every placement updates an allocation that
// is already on the node (an in-place update, allowed on any node).
func onlyUpdates(existing, placing []*structs.Allocation) bool {
	ids := make(map[string]struct{}, len(existing))
	for _, a := range existing {
		ids[a.ID] = struct{}{}
	}
	for _, a := range placing {
		if _, ok := ids[a.ID]; !ok {
			return false
		}
	}
	return true
}

// nodeFits checks one node of a plan: stops always fit; placements need
// a ready node with room for them next to what already runs there.
func nodeFits(snap *state.StateStore, plan *structs.Plan, nodeID string) (bool, error) {
	placing := plan.NodeAllocation[nodeID]
	if len(placing) == 0 {
		return true, nil
	}
	node, err := snap.NodeByID(nil, nodeID)
	if err != nil {
		return false, err
	}
	if node == nil {
		return false, nil
	}
	if fit, decided, err := nodeFitsByUsage(snap, plan, node); err != nil || decided {
		return fit, err
	}
	return nodeFitsByList(snap, plan, node)
}

// nodeFitsByList checks the node against the full list of what would run
// there: resources, port collisions and reserved cores.
func nodeFitsByList(snap *state.StateStore, plan *structs.Plan, node *structs.Node) (bool, error) {
	nodeID := node.ID
	placing := plan.NodeAllocation[nodeID]
	existing, err := snap.AllocsByNode(memdb.NewWatchSet(), nodeID)
	if err != nil {
		return false, err
	}
	if node.Status != structs.NodeStatusReady && !onlyUpdates(existing, placing) {
		return false, nil
	}
	remove := map[string]struct{}{}
	for _, a := range plan.NodeUpdate[nodeID] {
		remove[a.ID] = struct{}{}
	}
	for _, a := range placing {
		remove[a.ID] = struct{}{} // in-place updates replace the stored copy
	}
	proposed := make([]*structs.Allocation, 0, len(existing)+len(placing))
	for _, a := range existing {
		if _, gone := remove[a.ID]; gone || a.TerminalStatus() {
			continue
		}
		proposed = append(proposed, a)
	}
	proposed = append(proposed, placing...)
	fit, _, _, err := structs.AllocsFit(node, proposed)
	if err != nil {
		return false, err
	}
	return fit, nil
}

// nodeFitsByUsage decides a ready node's fit from the usage the store
// keeps, without listing the node's allocations, when the plan places no
// host ports and no reserved cores there: then only cpu, memory and disk
// can run out. decided is false when nodeFits must do the full check.
func nodeFitsByUsage(snap *state.StateStore, plan *structs.Plan, node *structs.Node) (fit, decided bool, err error) {
	if node.Status != structs.NodeStatusReady {
		return false, false, nil
	}
	placing := plan.NodeAllocation[node.ID]
	for _, a := range placing {
		if len(structs.AllocHostPorts(a)) > 0 || len(structs.AllocReservedCores(a)) > 0 {
			return false, false, nil
		}
	}
	u, err := snap.NodeUsage(node.ID)
	if err != nil {
		return false, false, err
	}
	used := u.Used
	// Stops and in-place updates take the stored copy out; placements
	// (updated copies included) go in.
	seen := make(map[string]struct{}, len(placing)+len(plan.NodeUpdate[node.ID]))
	drop := func(id string) error {
		if _, dup := seen[id]; dup {
			return nil
		}
		seen[id] = struct{}{}
		a, err := snap.AllocByID(nil, id)
		if err != nil {
			return err
		}
		if a != nil && a.NodeID == node.ID && !a.TerminalStatus() {
			used.Subtract(structs.AllocComparableResources(a))
		}
		return nil
	}
	for _, a := range plan.NodeUpdate[node.ID] {
		if err := drop(a.ID); err != nil {
			return false, false, err
		}
	}
	for _, a := range placing {
		// A new placement (never stored: no CreateIndex) replaces nothing.
		if a.CreateIndex != 0 {
			if err := drop(a.ID); err != nil {
				return false, false, err
			}
		}
		if !a.TerminalStatus() {
			used.Add(structs.AllocComparableResources(a))
		}
	}
	ok, _ := structs.NodeComparableResources(node).Superset(&used)
	return ok, true, nil
}
