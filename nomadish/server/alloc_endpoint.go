package server

import (
	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// AllocEndpoint serves allocation reads.
type AllocEndpoint struct {
	srv *Server
}

// List lists allocations.
func (e *AllocEndpoint) List(args *structs.AllocListRequest, reply *structs.AllocListResponse) error {
	if done, err := e.srv.forward("Alloc.List", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.Allocs(ws, args.Namespace, args.Prefix)
		if err != nil {
			return 0, err
		}
		reply.Allocations = stubs(allocs)
		return st.MaxIndex(ws, "allocs"), nil
	})
}

// GetAlloc reads one allocation.
func (e *AllocEndpoint) GetAlloc(args *structs.AllocSpecificRequest, reply *structs.SingleAllocResponse) error {
	if done, err := e.srv.forward("Alloc.GetAlloc", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		a, err := st.AllocByID(ws, args.AllocID)
		if err != nil {
			return 0, err
		}
		reply.Alloc = a
		if a != nil {
			return a.ModifyIndex, nil
		}
		return st.MaxIndex(ws, "allocs"), nil
	})
}

// GetAllocs reads several allocations (clients fetch what changed).
func (e *AllocEndpoint) GetAllocs(args *structs.AllocsGetRequest, reply *structs.AllocsGetResponse) error {
	if done, err := e.srv.forward("Alloc.GetAllocs", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		reply.Allocs = make([]*structs.Allocation, 0, len(args.AllocIDs))
		var max uint64
		for _, id := range args.AllocIDs {
			a, err := st.AllocByID(ws, id)
			if err != nil {
				return 0, err
			}
			if a == nil {
				continue
			}
			reply.Allocs = append(reply.Allocs, a)
			if a.AllocModifyIndex > max {
				max = a.AllocModifyIndex
			}
		}
		return max, nil
	})
}
