package server

import (
	"context"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// monitorLeadership starts and stops the leader's duties as Raft
// leadership comes and goes.
func (s *Server) monitorLeadership() {
	defer s.wg.Done()
	ch := s.raft.LeaderCh()
	for {
		select {
		case <-s.shutdownCh:
			return
		case isLeader := <-ch:
			if isLeader {
				s.establishLeadership()
			} else {
				s.revokeLeadership()
			}
		}
	}
}

// establishLeadership runs once this server wins an election: it waits for
// its FSM to catch up with the log, then enables the broker, the plan
// applier and the heartbeat timers, and re-queues outstanding evaluations.
func (s *Server) establishLeadership() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leaderCancel != nil {
		return
	}
	if err := s.raft.Barrier(rpcTimeout).Error(); err != nil {
		s.logger.Error("leader barrier failed", "error", err)
		return
	}
	s.logger.Info("cluster leadership acquired")
	ctx, cancel := context.WithCancel(s.ctx)
	s.leaderCancel = cancel

	if !s.brokerPaused() {
		s.evalBroker.SetEnabled(true)
		s.blockedEvals.SetEnabled(true)
		s.restoreEvals()
	}
	s.planQueue.SetEnabled(true)
	s.leaderReady.Store(true)

	s.leaderWG.Add(4)
	go func() { defer s.leaderWG.Done(); s.reconcileLoop(ctx) }()
	go func() { defer s.leaderWG.Done(); s.planApply(ctx) }()
	go func() { defer s.leaderWG.Done(); s.reapFailedEvals(ctx) }()
	go func() { defer s.leaderWG.Done(); s.heartbeats.run(ctx) }()
	s.leaderWG.Add(1)
	go func() { defer s.leaderWG.Done(); s.runPeriodic(ctx) }()
	s.leaderWG.Add(1)
	go func() { defer s.leaderWG.Done(); s.runDeploymentWatcher(ctx) }()
	s.leaderWG.Add(1)
	go func() { defer s.leaderWG.Done(); s.runDrainer(ctx) }()
	s.leaderWG.Add(1)
	go func() { defer s.leaderWG.Done(); s.runGC(ctx) }()
	s.leaderWG.Add(1)
	go func() { defer s.leaderWG.Done(); s.watchBrokerPause(ctx) }()
	go s.reconcileRaft()
	go s.failedClients()
}

// revokeLeadership stops the leader's duties.
func (s *Server) revokeLeadership() {
	s.leaderMu.Lock()
	defer s.leaderMu.Unlock()
	if s.leaderCancel == nil {
		return
	}
	s.logger.Info("cluster leadership lost")
	s.leaderReady.Store(false)
	s.leaderCancel()
	s.leaderCancel = nil
	s.evalBroker.SetEnabled(false)
	s.blockedEvals.SetEnabled(false)
	s.planQueue.SetEnabled(false)
	s.leaderWG.Wait()
	// A leader loop may have turned them on while stopping.
	s.evalBroker.SetEnabled(false)
	s.blockedEvals.SetEnabled(false)
}

// restoreEvals re-queues every evaluation that is not finished.
func (s *Server) restoreEvals() {
	evals, err := s.State().Evals(memdb.NewWatchSet(), "*", "")
	if err != nil {
		s.logger.Error("restore evals", "error", err)
		return
	}
	for _, e := range evals {
		s.routeEval(e)
	}
}

// evalsCommitted is the FSM's hook for committed evaluations.
func (s *Server) evalsCommitted(evals []*structs.Evaluation) {
	for _, e := range evals {
		s.routeEval(e)
	}
}

func (s *Server) routeEval(e *structs.Evaluation) {
	switch e.Status {
	case structs.EvalStatusPending:
		s.evalBroker.Enqueue(e)
	case structs.EvalStatusBlocked:
		s.blockedEvals.Block(e)
	}
}

// reapFailedEvals marks evaluations that exhausted their delivery limit as
// failed, with a follow-up evaluation so the job is looked at again later.
func (s *Server) reapFailedEvals(ctx context.Context) {
	for {
		e, token, err := s.evalBroker.Dequeue(ctx, []string{failedQueue})
		if err != nil {
			return
		}
		failed := e.Copy()
		failed.Status = structs.EvalStatusFailed
		failed.StatusDescription = "evaluation reached delivery limit"
		follow := &structs.Evaluation{
			ID:           structs.GenerateUUID(),
			Namespace:    e.Namespace,
			Priority:     e.Priority,
			Type:         e.Type,
			TriggeredBy:  structs.EvalTriggerRetryFailedAlloc,
			JobID:        e.JobID,
			Status:       structs.EvalStatusPending,
			PreviousEval: e.ID,
			WaitUntil:    timeNow().Add(failedEvalFollowupDelay),
			CreateTime:   timeNow().UnixNano(),
		}
		failed.NextEval = follow.ID
		if _, err := s.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: []*structs.Evaluation{failed, follow}}); err != nil {
			s.logger.Error("mark eval failed", "eval_id", e.ID, "error", err)
		}
		_ = s.evalBroker.Ack(e.ID, token)
	}
}
