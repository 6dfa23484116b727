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

func (w *worker) run(ctx context.Context) {
	for {
		eval, token, err := w.srv.evalBroker.Dequeue(ctx, schedulerTypes)
		if err != nil {
			return
		}
		if err := w.process(ctx, eval); err != nil {
			w.logger.Error("evaluation failed", "eval_id", eval.ID, "job_id", eval.JobID, "error", err)
			_ = w.srv.evalBroker.Nack(eval.ID, token)
			continue
		}
		_ = w.srv.evalBroker.Ack(eval.ID, token)
	}
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
	result, err := s.planQueue.Submit(p.ctx, plan)
	if err != nil {
		return nil, nil, err
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
	_, err := p.w.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{e}})
	return err
}

func (p *workerPlanner) CreateEval(e *structs.Evaluation) error {
	now := time.Now().UnixNano()
	if e.CreateTime == 0 {
		e.CreateTime = now
	}
	e.ModifyTime = now
	_, err := p.w.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{e}})
	return err
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

func (s *schedState) NodeByID(id string) (*structs.Node, error) { return s.st.NodeByID(nil, id) }

func (s *schedState) AllocsByJob(ns, jobID string) ([]*structs.Allocation, error) {
	return s.st.AllocsByJob(nil, ns, jobID)
}

func (s *schedState) AllocsByNode(nodeID string) ([]*structs.Allocation, error) {
	return s.st.AllocsByNode(nil, nodeID)
}

func (s *schedState) SchedulerConfig() *scheduler.SchedulerConfiguration { return nil }

var _ scheduler.State = (*schedState)(nil)
