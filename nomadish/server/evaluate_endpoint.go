package server

import (
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Evaluate creates a new evaluation of a job, as if it were registered
// again. With ForceReschedule the job's failed allocations that have no
// replacement are marked for rescheduling in the same log entry.
func (e *JobEndpoint) Evaluate(args *structs.JobEvaluateRequest, reply *structs.JobRegisterResponse) error {
	if done, err := e.srv.forward("Job.Evaluate", false, args, reply); done {
		return err
	}
	job, err := e.srv.State().JobByID(nil, namespaceOf(args.Namespace), args.JobID)
	if err != nil {
		return err
	}
	if job == nil {
		return NewCodedError(404, "job not found")
	}
	if job.IsPeriodic() || job.IsParameterized() {
		return NewCodedError(400, "can't evaluate periodic or parameterized job")
	}
	ev := childEval(job, structs.EvalTriggerJobRegister)
	ev.JobModifyIndex = job.JobModifyIndex
	var index uint64
	if args.ForceReschedule {
		index, err = e.forceReschedule(job, ev)
	} else {
		index, err = e.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{ev}})
	}
	if err != nil {
		return err
	}
	reply.EvalID, reply.EvalCreateIndex, reply.JobModifyIndex, reply.Index = ev.ID, index, job.JobModifyIndex, index
	return nil
}

// forceReschedule commits the eval together with a ForceReschedule
// transition on each failed allocation of the job not yet replaced.
func (e *JobEndpoint) forceReschedule(job *structs.Job, ev *structs.Evaluation) (uint64, error) {
	allocs, err := e.srv.State().AllocsByJob(nil, job.Namespace, job.ID)
	if err != nil {
		return 0, err
	}
	yes := true
	upd := structs.AllocTransitionUpdate{Transitions: map[string]*structs.DesiredTransition{}, Evals: []*structs.Evaluation{ev}}
	for _, a := range allocs {
		if a.ClientStatus != structs.AllocClientStatusFailed || a.NextAllocation != "" {
			continue
		}
		tr := a.DesiredTransition
		tr.ForceReschedule = &yes
		upd.Transitions[a.ID] = &tr
	}
	return e.srv.raftApply(structs.AllocTransitionRequestType, &upd)
}

// Evaluate creates evaluations for every job with work on the node.
func (e *NodeEndpoint) Evaluate(args *structs.NodeSpecificRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := e.srv.forward("Node.Evaluate", false, args, reply); done {
		return err
	}
	n, err := e.srv.State().NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if n == nil {
		return NewCodedError(404, "node not found")
	}
	if err := e.createNodeEvals(args.NodeID, reply); err != nil {
		return err
	}
	reply.Index = e.srv.State().LatestIndex()
	return nil
}

// Purge removes a node from the state; its allocations are evaluated again.
func (e *NodeEndpoint) Purge(args *structs.NodeSpecificRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := e.srv.forward("Node.Purge", false, args, reply); done {
		return err
	}
	n, err := e.srv.State().NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if n == nil {
		return NewCodedError(404, "node not found")
	}
	evals, err := e.srv.nodeEvals(args.NodeID)
	if err != nil {
		return err
	}
	e.srv.heartbeats.clear(args.NodeID)
	index, err := e.srv.raftApply(structs.NodeDeregisterRequestType, &nodeDeregister{NodeIDs: []string{args.NodeID}})
	if err != nil {
		return err
	}
	if len(evals) > 0 {
		if _, err := e.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals}); err != nil {
			return err
		}
		for _, ev := range evals {
			reply.EvalIDs = append(reply.EvalIDs, ev.ID)
		}
	}
	reply.Index = index
	return nil
}

// Count counts evaluations.
func (e *EvalEndpoint) Count(args *structs.EvalListRequest, reply *structs.EvalCountResponse) error {
	if done, err := e.srv.forward("Eval.Count", args.AllowStale, args, reply); done {
		return err
	}
	evals, err := e.srv.State().Evals(nil, args.Namespace, args.Prefix)
	if err != nil {
		return err
	}
	reply.Count = len(evals)
	reply.Index = e.srv.State().LatestIndex()
	e.srv.setQueryMeta(&reply.QueryMeta)
	return nil
}
