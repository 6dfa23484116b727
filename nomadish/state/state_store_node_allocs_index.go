package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// tableNodeAllocsIndex holds, per node, the last Raft index at which the
// servers changed what the node should run: an allocation placed or
// updated by the servers (its AllocModifyIndex). Client status reports do
// not move it, nor does deleting an allocation, which never raises what a
// client's blocking query answers. A client waiting for work watches its
// node's row, so a report from its own allocations, or a change on another
// node, does not wake it. Derived from the allocs table in the same
// transactions (writeBatch); not in Raft snapshots, Restore rebuilds it.
const tableNodeAllocsIndex = "node_allocs_index"

func init() {
	registerTable(&memdb.TableSchema{Name: tableNodeAllocsIndex, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
	}})
}

// NodeAllocsIndex is a row of tableNodeAllocsIndex.
type NodeAllocsIndex struct {
	NodeID string
	Index  uint64
}

func setNodeAllocsIndex(txn *memdb.Txn, nodeID string, index uint64) error {
	if err := txn.Insert(tableNodeAllocsIndex, &NodeAllocsIndex{NodeID: nodeID, Index: index}); err != nil {
		return fmt.Errorf("node allocs index: %w", err)
	}
	return nil
}

// WatchNodeAllocs adds to ws a watch that fires when the servers place or
// update the node's allocations, but not on client status reports. A node
// that never held an allocation is watched through the part of the table
// its row would join, which may fire for other nodes too.
func (s *StateStore) WatchNodeAllocs(ws memdb.WatchSet, nodeID string) error {
	ch, _, err := s.db.Txn(false).FirstWatch(tableNodeAllocsIndex, "id", nodeID)
	if err != nil {
		return fmt.Errorf("node allocs index: %w", err)
	}
	ws.Add(ch)
	return nil
}
