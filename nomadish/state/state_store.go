package state

import (
	"context"
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"
)

// StateStore is the in-memory state of a server. Writes come only from the
// FSM; a StateStore made by Snapshot is a read-only point-in-time view.
type StateStore struct {
	db *memdb.MemDB
	// abandonCh is closed when a snapshot restore replaces this store,
	// so that blocking queries on it wake up and read the new one.
	abandonCh chan struct{}
	// scores and counts share the score and count maps of stored
	// placements (nil in snapshots, which are not written).
	scores scoreMaps
	counts countMaps
	// catalogs is shared by the store and its snapshots (NodeCatalog).
	catalogs *nodeCatalogs
}

// NewStateStore returns an empty state store.
func NewStateStore() *StateStore {
	db, err := memdb.NewMemDB(mustSchema())
	if err != nil {
		panic(fmt.Sprintf("create memdb: %v", err))
	}
	return &StateStore{db: db, abandonCh: make(chan struct{}), scores: scoreMaps{}, counts: countMaps{}, catalogs: &nodeCatalogs{}}
}

// AbandonCh is closed once this store has been replaced.
func (s *StateStore) AbandonCh() <-chan struct{} { return s.abandonCh }

// Abandon marks the store replaced.
func (s *StateStore) Abandon() { close(s.abandonCh) }

// Snapshot returns a point-in-time copy that later writes do not change.
func (s *StateStore) Snapshot() *StateStore {
	return &StateStore{db: s.db.Snapshot(), abandonCh: s.abandonCh, catalogs: s.catalogs}
}

// LatestIndex is the highest Raft index applied to any table.
func (s *StateStore) LatestIndex() uint64 {
	txn := s.db.Txn(false)
	it, err := txn.Get(tableIndex, "id")
	if err != nil {
		return 0
	}
	var max uint64
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*IndexEntry).Value; v > max {
			max = v
		}
	}
	return max
}

func indexOf(txn *memdb.Txn, ws memdb.WatchSet, table string) uint64 {
	ch, raw, err := txn.FirstWatch(tableIndex, "id", table)
	if err != nil {
		return 0
	}
	ws.Add(ch)
	if raw == nil {
		return 0
	}
	return raw.(*IndexEntry).Value
}

func setIndex(txn *memdb.Txn, table string, index uint64) error {
	if err := txn.Insert(tableIndex, &IndexEntry{Key: table, Value: index}); err != nil {
		return fmt.Errorf("update index of %s: %w", table, err)
	}
	return nil
}

// MaxIndex returns the highest index of the given tables, adding their
// index entries to ws so a blocking query wakes on any change to them.
func (s *StateStore) MaxIndex(ws memdb.WatchSet, tables ...string) uint64 {
	txn := s.db.Txn(false)
	var max uint64
	for _, t := range tables {
		if v := indexOf(txn, ws, t); v > max {
			max = v
		}
	}
	return max
}

// WaitForIndex blocks until the store has applied index, or ctx ends.
func (s *StateStore) WaitForIndex(ctx context.Context, index uint64) error {
	for {
		ws := memdb.NewWatchSet()
		txn := s.db.Txn(false)
		var max uint64
		it, err := txn.Get(tableIndex, "id")
		if err != nil {
			return err
		}
		ws.Add(it.WatchCh())
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if v := raw.(*IndexEntry).Value; v > max {
				max = v
			}
		}
		if max >= index {
			return nil
		}
		if err := ws.WatchCtx(ctx); err != nil {
			return fmt.Errorf("wait for index %d (at %d): %w", index, max, err)
		}
	}
}

// Watch blocks until something in ws fires, the timeout passes or ctx ends.
// It reports whether it timed out.
func Watch(ctx context.Context, ws memdb.WatchSet, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return ws.WatchCtx(ctx) != nil
}
