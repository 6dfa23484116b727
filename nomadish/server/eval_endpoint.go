package server

import (
	"sort"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// EvalEndpoint serves evaluation reads.
type EvalEndpoint struct {
	srv *Server
}

// List lists evaluations, newest first.
func (e *EvalEndpoint) List(args *structs.EvalListRequest, reply *structs.EvalListResponse) error {
	if done, err := e.srv.forward("Eval.List", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		evals, err := st.Evals(ws, args.Namespace, args.Prefix)
		if err != nil {
			return 0, err
		}
		sort.Slice(evals, func(i, j int) bool { return evals[i].CreateIndex > evals[j].CreateIndex })
		reply.Evaluations = evals
		return st.MaxIndex(ws, "evals"), nil
	})
}

// GetEval reads one evaluation.
func (e *EvalEndpoint) GetEval(args *structs.EvalSpecificRequest, reply *structs.SingleEvalResponse) error {
	if done, err := e.srv.forward("Eval.GetEval", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		ev, err := st.EvalByID(ws, args.EvalID)
		if err != nil {
			return 0, err
		}
		reply.Eval = ev
		if ev != nil {
			return ev.ModifyIndex, nil
		}
		return st.MaxIndex(ws, "evals"), nil
	})
}

// Allocations lists the allocations an evaluation placed.
func (e *EvalEndpoint) Allocations(args *structs.EvalSpecificRequest, reply *structs.EvalAllocationsResponse) error {
	if done, err := e.srv.forward("Eval.Allocations", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.AllocsByEval(ws, args.EvalID)
		if err != nil {
			return 0, err
		}
		reply.Allocations = stubs(allocs)
		return maxModify(allocs, func() uint64 { return st.MaxIndex(ws, "allocs") }), nil
	})
}
