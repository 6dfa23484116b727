package server

import (
	"context"

	"github.com/hashicorp/go-memdb"
)

// errJobRegistrationDisabled is Nomad's answer, with its 403, while the
// operator's scheduler configuration sets RejectJobRegistration.
const errJobRegistrationDisabled = "Job registration, dispatch, and scale are disabled by the scheduler configuration"

// registrationsAllowed refuses job registration, dispatch and scale while
// the scheduler configuration rejects them. Deregistration, evaluation
// and everything else still work, as in Nomad.
func (s *Server) registrationsAllowed() error {
	_, cfg, err := s.State().SchedulerConfig(nil)
	if err != nil {
		return err
	}
	if cfg != nil && cfg.RejectJobRegistration {
		return NewCodedError(403, errJobRegistrationDisabled)
	}
	return nil
}

// brokerPaused reports the operator's PauseEvalBroker setting.
func (s *Server) brokerPaused() bool {
	_, cfg, err := s.State().SchedulerConfig(nil)
	return err == nil && cfg != nil && cfg.PauseEvalBroker
}

// watchBrokerPause is a leader loop that follows PauseEvalBroker: while it
// is set the eval broker and the blocked evals are off, so no worker gets
// new work and evaluations wait, pending, in the state store; once it is
// cleared they are turned on again and every outstanding evaluation is
// queued anew. revokeLeadership turns both off after this loop ends.
func (s *Server) watchBrokerPause(ctx context.Context) {
	for {
		ws := memdb.NewWatchSet()
		_, cfg, err := s.State().SchedulerConfig(ws)
		if err != nil {
			s.logger.Error("read scheduler configuration", "error", err)
		}
		paused := err == nil && cfg != nil && cfg.PauseEvalBroker
		if ctx.Err() != nil {
			return
		}
		switch on := s.evalBroker.Enabled(); {
		case paused && on:
			s.logger.Info("eval broker paused by the scheduler configuration")
			s.evalBroker.SetEnabled(false)
			s.blockedEvals.SetEnabled(false)
		case !paused && !on:
			s.logger.Info("eval broker resumed by the scheduler configuration")
			s.evalBroker.SetEnabled(true)
			s.blockedEvals.SetEnabled(true)
			s.restoreEvals()
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return
		}
	}
}
