package server

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/scheduler"
	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerApply(structs.JobRegisterDeploymentRequestType, (*fsm).applyJobRegisterDeployment)
	registerApply(structs.DeploymentUpdateRequestType, (*fsm).applyDeploymentUpdate)
}

func (f *fsm) applyJobRegisterDeployment(index uint64, buf []byte) interface{} {
	var req structs.JobRegisterDeploymentRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().ApplyJobRegisterDeployment(index, &req); err != nil {
		return err
	}
	var evals []*structs.Evaluation
	if req.Eval != nil {
		evals = f.evalsCommitted([]*structs.Evaluation{req.Eval})
	}
	f.publishEvents(index, func() []structs.Event {
		st := f.State()
		var out []structs.Event
		if j, _ := st.JobByID(nil, req.Job.Namespace, req.Job.ID); j != nil {
			out = append(out, jobEvent("JobRegistered", j))
		}
		if req.Deployment != nil {
			if d, _ := st.DeploymentByID(nil, req.Deployment.ID); d != nil {
				out = append(out, deploymentEvent("DeploymentStatusUpdate", d))
			}
		}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	return nil
}

func (f *fsm) applyDeploymentUpdate(index uint64, buf []byte) interface{} {
	var req structs.DeploymentUpdateRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().ApplyDeploymentUpdate(index, &req); err != nil {
		return err
	}
	var evals []*structs.Evaluation
	if req.Eval != nil {
		evals = f.evalsCommitted([]*structs.Evaluation{req.Eval})
	}
	f.publishEvents(index, func() []structs.Event {
		var out []structs.Event
		if req.Deployment != nil {
			if d, _ := f.State().DeploymentByID(nil, req.Deployment.ID); d != nil {
				out = append(out, deploymentEvent("DeploymentStatusUpdate", d))
			}
		}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	return nil
}

// LatestDeployment lets the scheduler limit rolling updates.
func (s *schedState) LatestDeployment(ns, jobID string) (*structs.Deployment, error) {
	return s.st.LatestDeploymentByJobID(nil, ns, jobID)
}

var _ scheduler.DeploymentState = (*schedState)(nil)

// commitJob commits a job version with its evaluation and, for a service
// job with an update strategy, the deployment that rolls it out.
// The submit time is set here, before Raft, so that every server (and a
// replay of the log) stores the same one.
func (s *Server) commitJob(job *structs.Job, eval *structs.Evaluation) (uint64, error) {
	job.SubmitTime = timeNow().UnixNano()
	req := structs.JobRegisterRequest{Job: job, Eval: eval, WriteRequest: structs.WriteRequest{Namespace: job.Namespace}}
	d := structs.NewDeployment(job, timeNow())
	if d == nil {
		return s.raftApply(structs.JobRegisterRequestType, &req)
	}
	if eval != nil {
		eval.DeploymentID = d.ID
	}
	return s.raftApply(structs.JobRegisterDeploymentRequestType, &structs.JobRegisterDeploymentRequest{JobRegisterRequest: req, Deployment: d})
}

// DeploymentEndpoint serves deployments.
type DeploymentEndpoint struct {
	srv *Server
}

// List lists deployments.
func (e *DeploymentEndpoint) List(args *structs.DeploymentListRequest, reply *structs.DeploymentListResponse) error {
	if done, err := e.srv.forward("Deployment.List", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		ds, err := st.Deployments(ws, args.Namespace, args.Prefix)
		if err != nil {
			return 0, err
		}
		reply.Deployments = ds
		return st.MaxIndex(ws, "deployment"), nil
	})
}

// GetDeployment reads one deployment.
func (e *DeploymentEndpoint) GetDeployment(args *structs.DeploymentSpecificRequest, reply *structs.SingleDeploymentResponse) error {
	if done, err := e.srv.forward("Deployment.GetDeployment", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		d, err := lookupDeployment(st, ws, args.DeploymentID)
		if err != nil {
			return 0, err
		}
		reply.Deployment = d
		return st.MaxIndex(ws, "deployment"), nil
	})
}

// lookupDeployment finds a deployment by ID or unique ID prefix.
func lookupDeployment(st *state.StateStore, ws memdb.WatchSet, id string) (*structs.Deployment, error) {
	if d, err := st.DeploymentByID(ws, id); err != nil || d != nil {
		return d, err
	}
	if id == "" {
		return nil, nil
	}
	ds, err := st.Deployments(ws, "*", id)
	if err != nil || len(ds) != 1 {
		return nil, err
	}
	return ds[0], nil
}

// Allocations lists a deployment's allocations.
func (e *DeploymentEndpoint) Allocations(args *structs.DeploymentSpecificRequest, reply *structs.DeploymentAllocationsResponse) error {
	if done, err := e.srv.forward("Deployment.Allocations", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		d, err := lookupDeployment(st, ws, args.DeploymentID)
		if err != nil || d == nil {
			reply.Allocations = nil
			return st.MaxIndex(ws, "deployment"), err
		}
		allocs, err := st.AllocsByJob(ws, d.Namespace, d.JobID)
		if err != nil {
			return 0, err
		}
		var mine []*structs.Allocation
		for _, a := range allocs {
			if a.DeploymentID == d.ID {
				mine = append(mine, a)
			}
		}
		reply.Allocations = stubs(mine)
		return st.MaxIndex(ws, "deployment", "allocs"), nil
	})
}

// UpdateStatus fails, pauses, resumes or promotes a deployment.
func (e *DeploymentEndpoint) UpdateStatus(args *structs.DeploymentStatusRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward("Deployment.UpdateStatus", false, args, reply); done {
		return err
	}
	st := e.srv.State()
	d, err := lookupDeployment(st, nil, args.DeploymentID)
	if err != nil {
		return err
	}
	if d == nil {
		return NewCodedError(404, fmt.Sprintf("deployment %q not found", args.DeploymentID))
	}
	if !d.Active() {
		return NewCodedError(400, fmt.Sprintf("can't update terminal deployment %q (%s)", d.ID, d.Status))
	}
	c := d.Copy()
	switch {
	case args.Fail:
		c.Status, c.StatusDescription = structs.DeploymentStatusFailed, structs.DeploymentDescFailedByUser
		return e.srv.finishDeployment(c, reply)
	case args.Pause != nil && *args.Pause:
		c.Status, c.StatusDescription = structs.DeploymentStatusPaused, structs.DeploymentDescPaused
	case args.Pause != nil:
		c.Status, c.StatusDescription = structs.DeploymentStatusRunning, structs.DeploymentDescRunning
	case args.Promote:
		canaries := 0
		for name, s := range c.TaskGroups {
			if !args.All && !contains(args.Groups, name) {
				continue
			}
			canaries += s.DesiredCanaries
			s.Promoted = true
		}
		if canaries == 0 {
			return NewCodedError(400, "no canaries to promote")
		}
		if err := canariesReady(st, c, args); err != nil {
			return NewCodedError(400, err.Error())
		}
	default:
		return NewCodedError(400, "no deployment change requested")
	}
	return e.srv.updateDeployment(c, nil, true, reply)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// updateDeployment commits a deployment change, with an evaluation of its
// job when the scheduler has to act on it.
func (s *Server) updateDeployment(d *structs.Deployment, stable *uint64, withEval bool, reply *structs.DeploymentUpdateResponse) error {
	job, err := s.State().JobByID(nil, d.Namespace, d.JobID)
	if err != nil {
		return err
	}
	d.ModifyTime = timeNow().UnixNano()
	req := &structs.DeploymentUpdateRequest{Deployment: d, StableVersion: stable}
	if withEval && job != nil && !job.Stop {
		req.Eval = childEval(job, structs.EvalTriggerDeploymentWatcher)
		req.Eval.DeploymentID = d.ID
	}
	index, err := s.raftApply(structs.DeploymentUpdateRequestType, req)
	if err != nil {
		return err
	}
	if reply != nil {
		if req.Eval != nil {
			reply.EvalID, reply.EvalCreateIndex = req.Eval.ID, index
		}
		reply.DeploymentModifyIndex, reply.Index = index, index
	}
	return nil
}

// finishDeployment commits a failed deployment and, when a group asks for
// auto_revert, registers the job's latest stable version again.
func (s *Server) finishDeployment(d *structs.Deployment, reply *structs.DeploymentUpdateResponse) error {
	revert := false
	for _, g := range d.TaskGroups {
		revert = revert || g.AutoRevert
	}
	var target *structs.Job
	if revert && d.Status == structs.DeploymentStatusFailed {
		versions, err := s.State().JobVersions(nil, d.Namespace, d.JobID)
		if err != nil {
			return err
		}
		for _, v := range versions {
			if v.Stable && v.Version < d.JobVersion {
				target = v
				break
			}
		}
		if target != nil {
			d.StatusDescription += fmt.Sprintf(structs.DeploymentDescRollbackSuffix, target.Version)
		} else {
			d.StatusDescription += structs.DeploymentDescNoRollbackTarget
		}
	}
	if err := s.updateDeployment(d, nil, false, reply); err != nil {
		return err
	}
	if target == nil {
		return nil
	}
	cur, err := s.State().JobByID(nil, d.Namespace, d.JobID)
	if err != nil || cur == nil || cur.Version != d.JobVersion {
		return err
	}
	rev := *target
	rev.Stop = false
	rev.Status, rev.StatusDescription = "", ""
	var resp structs.JobRegisterResponse
	if err := s.registerVersion(&rev, childEval(&rev, structs.EvalTriggerRollingUpdate), &resp); err != nil {
		return fmt.Errorf("auto revert to version %d: %w", target.Version, err)
	}
	if reply != nil {
		v := target.Version
		reply.RevertedJobVersion = &v
		reply.EvalID, reply.EvalCreateIndex = resp.EvalID, resp.EvalCreateIndex
	}
	return nil
}

// JobDeploymentsResponse lists a job's deployments, newest first.
type JobDeploymentsResponse struct {
	Deployments []*structs.Deployment
	structs.QueryMeta
}

// Deployments lists a job's deployments, newest first.
func (e *JobEndpoint) Deployments(args *structs.JobSpecificRequest, reply *JobDeploymentsResponse) error {
	if done, err := e.srv.forward("Job.Deployments", args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		ds, err := st.DeploymentsByJob(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		reply.Deployments = ds
		return st.MaxIndex(ws, "deployment"), nil
	})
}

// canariesReady checks that every group to promote has its canaries
// placed and healthy.
func canariesReady(st *state.StateStore, d *structs.Deployment, args *structs.DeploymentStatusRequest) error {
	allocs, err := st.AllocsByJob(nil, d.Namespace, d.JobID)
	if err != nil {
		return err
	}
	for name, g := range d.TaskGroups {
		if g.DesiredCanaries == 0 || (!args.All && !contains(args.Groups, name)) {
			continue
		}
		healthy := 0
		for _, a := range allocs {
			ds := a.DeploymentStatus
			if a.DeploymentID == d.ID && a.TaskGroup == name && !a.TerminalStatus() && ds != nil && ds.Canary && ds.Healthy != nil && *ds.Healthy {
				healthy++
			}
		}
		if healthy < g.DesiredCanaries {
			return fmt.Errorf("Task group %q has %d/%d healthy allocations", name, healthy, g.DesiredCanaries)
		}
	}
	return nil
}

// SetAllocHealth records the health of a deployment's allocations given by
// an operator, as a client would report it.
func (e *DeploymentEndpoint) SetAllocHealth(args *structs.DeploymentAllocHealthRequest, reply *structs.DeploymentUpdateResponse) error {
	if done, err := e.srv.forward("Deployment.SetAllocHealth", false, args, reply); done {
		return err
	}
	st := e.srv.State()
	d, err := lookupDeployment(st, nil, args.DeploymentID)
	if err != nil {
		return err
	}
	if d == nil {
		return NewCodedError(404, fmt.Sprintf("deployment %q not found", args.DeploymentID))
	}
	if !d.Active() {
		return NewCodedError(400, fmt.Sprintf("can't set health of allocations of terminal deployment %q (%s)", d.ID, d.Status))
	}
	if len(args.HealthyAllocationIDs)+len(args.UnhealthyAllocationIDs) == 0 {
		return NewCodedError(400, "must specify at least one healthy/unhealthy allocation ID")
	}
	var update []*structs.Allocation
	set := func(ids []string, healthy bool) error {
		for _, id := range ids {
			a, err := st.AllocByID(nil, id)
			if err != nil {
				return err
			}
			if a == nil || a.DeploymentID != d.ID {
				return NewCodedError(400, fmt.Sprintf("allocation %q is not part of deployment %q", id, d.ID))
			}
			c := a.Copy()
			h := healthy
			c.DeploymentStatus = &structs.AllocDeploymentStatus{Healthy: &h, Timestamp: timeNow(),
				Canary: a.DeploymentStatus != nil && a.DeploymentStatus.Canary}
			update = append(update, c)
		}
		return nil
	}
	if err := set(args.HealthyAllocationIDs, true); err != nil {
		return err
	}
	if err := set(args.UnhealthyAllocationIDs, false); err != nil {
		return err
	}
	index, err := e.srv.raftApply(structs.AllocClientUpdateRequestType, &structs.AllocUpdateRequest{Alloc: update})
	if err != nil {
		return err
	}
	reply.DeploymentModifyIndex, reply.Index = index, index
	return nil
}
