package server

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Blocking query bounds, as Nomad's.
const (
	defaultQueryTime = 5 * time.Minute
	maxQueryTime     = 10 * time.Minute
)

// queryFn runs a read against a state store, adding what it read to ws,
// and returns the index the result reflects.
type queryFn func(ws memdb.WatchSet, st *state.StateStore) (uint64, error)

// blockingQuery runs fn, and, when the caller asked to wait for an index
// newer than the result's, runs it again each time something it read
// changes, until the index moves or the wait time passes.
func (s *Server) blockingQuery(opts *structs.QueryOptions, meta *structs.QueryMeta, fn queryFn) error {
	wait := opts.MaxQueryTime
	if wait <= 0 {
		wait = defaultQueryTime
	}
	if wait > maxQueryTime {
		wait = maxQueryTime
	}
	wait += time.Duration(rand.Int64N(int64(wait)/16 + 1))
	ctx, cancel := context.WithTimeout(s.ctx, wait)
	defer cancel()
	for {
		ws := memdb.NewWatchSet()
		st := s.State()
		ws.Add(st.AbandonCh())
		idx, err := fn(ws, st)
		if err != nil {
			return err
		}
		if idx == 0 {
			idx = 1
		}
		meta.Index = idx
		s.setQueryMeta(meta)
		if opts.MinQueryIndex == 0 || idx > opts.MinQueryIndex {
			return nil
		}
		if ws.WatchCtx(ctx) != nil {
			return nil
		}
	}
}

// setQueryMeta fills the leader-contact fields of a read's answer.
func (s *Server) setQueryMeta(meta *structs.QueryMeta) {
	if s.IsLeader() {
		meta.KnownLeader = true
		meta.LastContact = 0
		return
	}
	meta.KnownLeader = s.Leader() != ""
	last := s.raft.LastContact()
	if !last.IsZero() {
		meta.LastContact = time.Since(last)
	}
}
