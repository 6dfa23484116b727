package state

import (
	"fmt"
	"maps"

	"github.com/hashicorp/go-memdb"
)

// tableAllocCounts holds one row: how many allocations the store holds per
// client status. Like node usage it is derived from the allocs table in the
// same write transactions (writeBatch), so counting a million allocations
// is one read; it is not written to Raft snapshots, and Restore rebuilds
// it.
const tableAllocCounts = "alloc_counts"

// allocCountsKey is the key of the one row.
const allocCountsKey = "allocs"

func init() {
	registerTable(&memdb.TableSchema{Name: tableAllocCounts, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
	}})
}

// AllocCounts is the row of tableAllocCounts. Rows are replaced, never
// changed in place, because older snapshots still hold them.
type AllocCounts struct {
	Key      string
	ByStatus map[string]int
}

// changeAllocCounts adds delta to the counts.
func changeAllocCounts(txn *memdb.Txn, delta map[string]int) error {
	changed := false
	for _, d := range delta {
		if d != 0 {
			changed = true
		}
	}
	if !changed {
		return nil
	}
	raw, err := txn.First(tableAllocCounts, "id", allocCountsKey)
	if err != nil {
		return fmt.Errorf("alloc counts lookup: %w", err)
	}
	var counts map[string]int
	if raw != nil {
		counts = maps.Clone(raw.(*AllocCounts).ByStatus)
	}
	if counts == nil {
		counts = map[string]int{}
	}
	for status, d := range delta {
		if counts[status] += d; counts[status] <= 0 {
			delete(counts, status)
		}
	}
	if err := txn.Insert(tableAllocCounts, &AllocCounts{Key: allocCountsKey, ByStatus: counts}); err != nil {
		return fmt.Errorf("alloc counts insert: %w", err)
	}
	return nil
}

// AllocCountsByClientStatus counts every allocation by its client status,
// the terminal ones included.
func (s *StateStore) AllocCountsByClientStatus() (map[string]int, error) {
	raw, err := s.db.Txn(false).First(tableAllocCounts, "id", allocCountsKey)
	if err != nil {
		return nil, fmt.Errorf("alloc counts lookup: %w", err)
	}
	if raw == nil {
		return map[string]int{}, nil
	}
	return maps.Clone(raw.(*AllocCounts).ByStatus), nil
}
