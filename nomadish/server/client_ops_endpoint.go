package server

import (
	"fmt"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerApply(structs.NodeDrainUpdateRequestType, (*fsm).applyNodeDrainUpdate)
	registerApply(structs.AllocTransitionRequestType, (*fsm).applyAllocTransition)
}

func (f *fsm) applyNodeDrainUpdate(index uint64, buf []byte) interface{} {
	var req structs.NodeDrainUpdate
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	st := f.State()
	if err := st.UpdateNodeDrain(index, req.NodeID, req.DrainStrategy); err != nil {
		return err
	}
	if req.DrainStrategy == nil && req.MarkEligible {
		if err := st.UpdateNodeEligibility(index, req.NodeID, structs.NodeSchedulingEligible); err != nil {
			return err
		}
	}
	if req.Event != nil {
		n, err := st.NodeByID(nil, req.NodeID)
		if err != nil {
			return err
		}
		if n != nil {
			if err := st.UpdateNodeStatus(index, req.NodeID, n.Status, n.StatusUpdatedAt, req.Event); err != nil {
				return err
			}
		}
	}
	if len(req.Evals) > 0 {
		if err := st.UpsertEvals(index, req.Evals); err != nil {
			return err
		}
	}
	evals := f.evalsCommitted(req.Evals)
	f.publishEvents(index, func() []structs.Event {
		var out []structs.Event
		if n, _ := st.NodeByID(nil, req.NodeID); n != nil {
			out = append(out, nodeEvent("NodeDrain", n))
		}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	if req.MarkEligible && f.onAllocsUpdated != nil {
		f.onAllocsUpdated(nil)
	}
	return nil
}

func (f *fsm) applyAllocTransition(index uint64, buf []byte) interface{} {
	var req structs.AllocTransitionUpdate
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().UpdateAllocsDesiredTransition(index, req.Transitions, req.Evals); err != nil {
		return err
	}
	evals := f.evalsCommitted(req.Evals)
	f.publishEvents(index, func() []structs.Event {
		var out []structs.Event
		for id := range req.Transitions {
			if a, _ := f.State().AllocByID(nil, id); a != nil {
				out = append(out, allocEvent("AllocationUpdateDesiredStatus", a))
			}
		}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	return nil
}

// UpdateDrain starts, changes or stops a node drain. Starting one makes the
// node ineligible; the leader's drainer then migrates its allocations.
func (e *NodeEndpoint) UpdateDrain(args *structs.NodeUpdateDrainRequest, reply *structs.NodeDrainUpdateResponse) error {
	if done, err := e.srv.forward("Node.UpdateDrain", false, args, reply); done {
		return err
	}
	if args.NodeID == "" {
		return NewCodedError(400, "missing node ID for drain update")
	}
	node, err := e.srv.State().NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return NewCodedError(404, fmt.Sprintf("node not found: %s", args.NodeID))
	}
	upd := structs.NodeDrainUpdate{NodeID: args.NodeID, MarkEligible: args.MarkEligible}
	now := time.Now()
	if ds := args.DrainStrategy; ds != nil {
		if ds.Deadline < 0 && ds.Deadline != -1 {
			return NewCodedError(400, "DrainSpec must have a non-negative deadline or -1 to force")
		}
		s := &structs.DrainStrategy{DrainSpec: ds.DrainSpec, StartedAt: now.UnixNano()}
		if node.DrainStrategy != nil {
			s.StartedAt = node.DrainStrategy.StartedAt
		}
		switch {
		case ds.Deadline < 0:
			s.ForceDeadline = now.UnixNano()
		case ds.Deadline > 0:
			s.ForceDeadline = now.Add(time.Duration(ds.Deadline)).UnixNano()
		}
		upd.DrainStrategy = s
		upd.MarkEligible = false
		upd.Event = &structs.NodeEvent{Message: "Node drain strategy set", Subsystem: "Drain", Timestamp: now, Details: args.Meta}
	} else {
		if node.DrainStrategy == nil && !args.MarkEligible {
			return NewCodedError(400, "node is not draining")
		}
		upd.Event = &structs.NodeEvent{Message: "Node drain strategy cleared", Subsystem: "Drain", Timestamp: now, Details: args.Meta}
		if args.MarkEligible {
			evals, err := e.srv.nodeEvals(args.NodeID)
			if err != nil {
				return err
			}
			upd.Evals = evals
		}
	}
	index, err := e.srv.raftApply(structs.NodeDrainUpdateRequestType, &upd)
	if err != nil {
		return err
	}
	reply.NodeModifyIndex, reply.Index = index, index
	if len(upd.Evals) > 0 {
		reply.EvalCreateIndex = index
		for _, ev := range upd.Evals {
			reply.EvalIDs = append(reply.EvalIDs, ev.ID)
		}
	}
	return nil
}

// UpdateEligibility sets whether new allocations may be placed on a node.
func (e *NodeEndpoint) UpdateEligibility(args *structs.NodeUpdateEligibilityRequest, reply *structs.NodeDrainUpdateResponse) error {
	if done, err := e.srv.forward("Node.UpdateEligibility", false, args, reply); done {
		return err
	}
	switch args.Eligibility {
	case structs.NodeSchedulingEligible, structs.NodeSchedulingIneligible:
	default:
		return NewCodedError(400, fmt.Sprintf("invalid scheduling eligibility %q", args.Eligibility))
	}
	node, err := e.srv.State().NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return NewCodedError(404, fmt.Sprintf("node not found: %s", args.NodeID))
	}
	if node.DrainStrategy != nil && args.Eligibility == structs.NodeSchedulingEligible {
		return NewCodedError(400, "can not set node's scheduling eligibility to eligible while it is draining")
	}
	index, err := e.srv.raftApply(structs.NodeUpdateEligibilityRequestType, &nodeEligibilityUpdate{NodeID: args.NodeID, Eligibility: args.Eligibility})
	if err != nil {
		return err
	}
	reply.NodeModifyIndex, reply.Index = index, index
	if args.Eligibility == structs.NodeSchedulingEligible && node.SchedulingEligibility != structs.NodeSchedulingEligible {
		evals, err := e.srv.nodeEvals(args.NodeID)
		if err != nil || len(evals) == 0 {
			return err
		}
		eindex, err := e.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals})
		if err != nil {
			return err
		}
		reply.EvalCreateIndex, reply.Index = eindex, eindex
		for _, ev := range evals {
			reply.EvalIDs = append(reply.EvalIDs, ev.ID)
		}
	}
	return nil
}

// Stop marks an allocation for migration and evaluates its job, so the
// scheduler stops it and places a replacement (`alloc stop`).
func (e *AllocEndpoint) Stop(args *structs.AllocStopRequest, reply *structs.AllocStopResponse) error {
	if done, err := e.srv.forward("Alloc.Stop", false, args, reply); done {
		return err
	}
	st := e.srv.State()
	alloc, err := st.AllocByID(nil, args.AllocID)
	if err != nil {
		return err
	}
	if alloc == nil {
		return NewCodedError(404, fmt.Sprintf("allocation not found: %s", args.AllocID))
	}
	job, err := st.JobByID(nil, alloc.Namespace, alloc.JobID)
	if err != nil {
		return err
	}
	if job == nil {
		job = alloc.Job
	}
	if job == nil {
		return NewCodedError(404, fmt.Sprintf("job of allocation %s not found", args.AllocID))
	}
	yes := true
	tr := alloc.DesiredTransition
	tr.Migrate = &yes
	if args.NoShutdownDelay {
		tr.NoShutdownDelay = &yes
	}
	ev := childEval(job, structs.EvalTriggerAllocStop)
	upd := structs.AllocTransitionUpdate{
		Transitions: map[string]*structs.DesiredTransition{alloc.ID: &tr},
		Evals:       []*structs.Evaluation{ev},
	}
	index, err := e.srv.raftApply(structs.AllocTransitionRequestType, &upd)
	if err != nil {
		return err
	}
	reply.EvalID, reply.Index = ev.ID, index
	return nil
}
