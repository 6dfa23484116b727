package server

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/scheduler"
	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// schedulerTypes are the queues every worker takes evaluations from.
var schedulerTypes = []string{
	structs.JobTypeService, structs.JobTypeBatch, structs.JobTypeSystem, structs.JobTypeSysBatch,
}

// worker takes evaluations from the broker and runs the scheduler on them.
type worker struct {
	srv    *Server
	logger hclog.Logger
}

func newWorker(s *Server, id int) *worker {
	return &worker{srv: s, logger: s.logger.Named("worker").With("worker_id", id)}
}

// run takes evaluations until ctx ends: from the local broker while this
// server leads (no network on the path), otherwise from the leader's
// broker over RPC, so every server schedules.
func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		eval, token, err := w.dequeue(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.logger.Debug("dequeue failed", "error", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		if eval == nil {
			continue
		}
		ack := &structs.EvalAckRequest{EvalID: eval.ID, Token: token}
		if err := w.process(ctx, eval); err != nil {
			w.logger.Error("evaluation failed", "eval_id", eval.ID, "job_id", eval.JobID, "error", err)
			_ = w.srv.RPC("Eval.Nack", ack, &structs.GenericResponse{})
			continue
		}
		if err := w.srv.RPC("Eval.Ack", ack, &structs.GenericResponse{}); err != nil {
			w.logger.Warn("ack evaluation", "eval_id", eval.ID, "error", err)
		}
	}
}

func (w *worker) dequeue(ctx context.Context) (*structs.Evaluation, string, error) {
	if w.srv.IsLeader() && w.srv.evalBroker.Enabled() {
		dctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		ev, token, err := w.srv.evalBroker.Dequeue(dctx, schedulerTypes)
		// An eval handed out just as the timeout fired is ours: dropping
		// it would leave it unacked until the nack timeout.
		if ev == nil && dctx.Err() != nil && ctx.Err() == nil {
			return nil, "", nil // re-check leadership now and then
		}
		return ev, token, err
	}
	if w.srv.Leader() == "" {
		select {
		case <-ctx.Done():
			return nil, "", ctx.Err()
		case <-time.After(250 * time.Millisecond):
			return nil, "", nil
		}
	}
	var reply structs.EvalDequeueResponse
	err := w.srv.RPCContext(ctx, "Eval.Dequeue", &structs.EvalDequeueRequest{Schedulers: schedulerTypes, Timeout: 5 * time.Second}, &reply)
	return reply.Eval, reply.Token, err
}

func (w *worker) process(ctx context.Context, eval *structs.Evaluation) error {
	// The snapshot must include everything the evaluation was created
	// after, or the scheduler would plan against an older world.
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := w.srv.State().WaitForIndex(wctx, eval.ModifyIndex)
	cancel()
	if err != nil {
		return err
	}
	snap := w.srv.State().Snapshot()
	p := &workerPlanner{w: w, ctx: ctx, eval: eval}
	sched, err := scheduler.NewScheduler(eval.Type, w.logger, &schedState{snap}, p, time.Now)
	if err != nil {
		return err
	}
	return sched.Process(eval)
}

// workerPlanner implements scheduler.Planner for one evaluation.
type workerPlanner struct {
	w    *worker
	ctx  context.Context
	eval *structs.Evaluation
}

func (p *workerPlanner) SubmitPlan(plan *structs.Plan) (*structs.PlanResult, scheduler.State, error) {
	s := p.w.srv
	var result *structs.PlanResult
	if s.IsLeader() {
		r, err := s.planQueue.Submit(p.ctx, plan)
		if err != nil {
			return nil, nil, err
		}
		result = r
	} else {
		var reply structs.PlanResponse
		if err := s.RPCContext(p.ctx, "Plan.Submit", &structs.PlanRequest{Plan: plan}, &reply); err != nil {
			return nil, nil, err
		}
		result = reply.Result
		// Wait until this server's state includes the committed plan.
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		err := s.State().WaitForIndex(ctx, result.AllocIndex)
		cancel()
		if err != nil {
			return nil, nil, err
		}
	}
	if result.RefreshIndex == 0 {
		return result, nil, nil
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	if err := s.State().WaitForIndex(ctx, result.RefreshIndex); err != nil {
		return nil, nil, fmt.Errorf("refresh state: %w", err)
	}
	return result, &schedState{s.State().Snapshot()}, nil
}

func (p *workerPlanner) UpdateEval(e *structs.Evaluation) error {
	e.ModifyTime = time.Now().UnixNano()
	return p.w.srv.RPC("Eval.Update", &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{e}}, &structs.GenericResponse{})
}

func (p *workerPlanner) CreateEval(e *structs.Evaluation) error {
	now := time.Now().UnixNano()
	if e.CreateTime == 0 {
		e.CreateTime = now
	}
	e.ModifyTime = now
	return p.w.srv.RPC("Eval.Update", &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{e}}, &structs.GenericResponse{})
}

func (p *workerPlanner) ReblockEval(e *structs.Evaluation) error {
	e.Status = structs.EvalStatusBlocked
	return p.UpdateEval(e)
}

// schedState adapts a state snapshot to the scheduler's State interface.
type schedState struct {
	st *state.StateStore
}

func (s *schedState) LatestIndex() uint64 { return s.st.LatestIndex() }

func (s *schedState) JobByID(ns, id string) (*structs.Job, error) { return s.st.JobByID(nil, ns, id) }

func (s *schedState) Nodes() ([]*structs.Node, error) { return s.st.Nodes(nil, "") }

func (s *schedState) NodeCatalog() (*structs.NodeCatalog, error) { return s.st.NodeCatalog() }

func (s *schedState) NodeByID(id string) (*structs.Node, error) { return s.st.NodeByID(nil, id) }

func (s *schedState) AllocsByJob(ns, jobID string) ([]*structs.Allocation, error) {
	return s.st.AllocsByJob(nil, ns, jobID)
}

func (s *schedState) AllocsByNode(nodeID string) ([]*structs.Allocation, error) {
	return s.st.AllocsByNode(nil, nodeID)
}

func (s *schedState) NodeUsage(nodeID string) (structs.ComparableResources, error) {
	u, err := s.st.NodeUsage(nodeID)
	return u.Used, err
}

func (s *schedState) FillUsage(c *structs.NodeCatalog, used []structs.ComparableResources) error {
	return s.st.FillUsage(c, used)
}

func (s *schedState) SchedulerConfig() *scheduler.SchedulerConfiguration {
	return schedulerConfigOf(s.st)
}

var (
	_ scheduler.State            = (*schedState)(nil)
	_ scheduler.NodeUsageState   = (*schedState)(nil)
	_ scheduler.NodeCatalogState = (*schedState)(nil)
)
