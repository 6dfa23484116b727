package server

import (
	"errors"
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/scheduler"
	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerApply(structs.SchedulerConfigSetRequestType, (*fsm).applySchedulerConfig)
}

func (f *fsm) applySchedulerConfig(index uint64, buf []byte) interface{} {
	var req structs.SchedulerSetConfigRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	updated, err := f.State().SchedulerSetConfig(index, &req.Config, req.CAS)
	if err != nil {
		return err
	}
	return updated
}

// SchedulerGetConfiguration returns the scheduler configuration; a
// cluster that never set one answers with the defaults.
func (e *OperatorEndpoint) SchedulerGetConfiguration(args *structs.GenericRequest, reply *structs.SchedulerConfigurationResponse) error {
	if done, err := e.srv.forward("Operator.SchedulerGetConfiguration", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		idx, cfg, err := st.SchedulerConfig(ws)
		if err != nil {
			return 0, err
		}
		if cfg == nil {
			cfg = structs.DefaultSchedulerConfiguration()
		}
		reply.SchedulerConfig = cfg.Copy()
		return idx, nil
	})
}

// SchedulerSetConfiguration stores a new scheduler configuration through
// Raft. With CAS, it is stored only if nobody changed it since
// Config.ModifyIndex, and Updated says whether it was.
func (e *OperatorEndpoint) SchedulerSetConfiguration(args *structs.SchedulerSetConfigRequest, reply *structs.SchedulerSetConfigurationResponse) error {
	if done, err := e.srv.forward("Operator.SchedulerSetConfiguration", false, args, reply); done {
		return err
	}
	if err := args.Config.Validate(); err != nil {
		if errors.Is(err, structs.ErrInvalidSchedulerConfig) {
			return NewCodedError(400, err.Error())
		}
		return err
	}
	args.Config.Canonicalize()
	index, err := e.srv.raftApply(structs.SchedulerConfigSetRequestType, args)
	if err != nil {
		return fmt.Errorf("set scheduler configuration: %w", err)
	}
	_, cfg, err := e.srv.State().SchedulerConfig(nil)
	if err != nil {
		return err
	}
	reply.Updated = cfg != nil && cfg.ModifyIndex == index
	reply.Index = index
	return nil
}

// schedulerConfigOf converts the stored configuration for the scheduler;
// nil (never set) lets the scheduler use its defaults.
func schedulerConfigOf(st *state.StateStore) *scheduler.SchedulerConfiguration {
	_, cfg, err := st.SchedulerConfig(nil)
	if err != nil || cfg == nil {
		return nil
	}
	return &scheduler.SchedulerConfiguration{
		SchedulerAlgorithm: cfg.SchedulerAlgorithm,
		PreemptionConfig: scheduler.PreemptionConfig{
			SystemSchedulerEnabled:   cfg.PreemptionConfig.SystemSchedulerEnabled,
			SysBatchSchedulerEnabled: cfg.PreemptionConfig.SysBatchSchedulerEnabled,
			BatchSchedulerEnabled:    cfg.PreemptionConfig.BatchSchedulerEnabled,
			ServiceSchedulerEnabled:  cfg.PreemptionConfig.ServiceSchedulerEnabled,
		},
		MemoryOversubscriptionEnabled: cfg.MemoryOversubscriptionEnabled,
		RejectJobRegistration:         cfg.RejectJobRegistration,
		PauseEvalBroker:               cfg.PauseEvalBroker,
	}
}
