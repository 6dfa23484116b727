package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// tableNodeUsage holds, per node, the summed resources of its live
// (non-terminal) allocations. It is derived from the allocs table and kept
// in the same write transactions, so any snapshot sees a usage that agrees
// with its allocations; the scheduler and the plan applier read it instead
// of re-adding every allocation of every node they visit. It is not written
// to Raft snapshots: Restore rebuilds it.
const tableNodeUsage = "node_usage"

func init() {
	registerTable(&memdb.TableSchema{Name: tableNodeUsage, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
	}})
}

// NodeUsage is what the live allocations of one node hold.
type NodeUsage struct {
	NodeID string
	// Used sums AllocComparableResources of the node's non-terminal allocs.
	Used structs.ComparableResources
	// Allocs counts them.
	Allocs int
}

// liveUsage is what an allocation adds to its node's usage: nothing once
// it is terminal.
func liveUsage(a *structs.Allocation) (*structs.ComparableResources, bool) {
	if a == nil || a.TerminalStatus() {
		return nil, false
	}
	return structs.AllocComparableResources(a), true
}

// trackAllocUsage moves a node's usage from the old version of an
// allocation to the new one. Every write of the allocs table calls it in
// the same transaction: old is nil for an insert, new is nil for a delete.
func trackAllocUsage(txn *memdb.Txn, old, new *structs.Allocation) error {
	if old != nil && new != nil && old.NodeID == new.NodeID {
		ou, oLive := liveUsage(old)
		nu, nLive := liveUsage(new)
		if oLive == nLive && (!oLive || *ou == *nu) {
			return nil // the common client update: nothing moves
		}
	}
	if u, ok := liveUsage(old); ok {
		if err := addNodeUsage(txn, old.NodeID, u, -1); err != nil {
			return err
		}
	}
	if u, ok := liveUsage(new); ok {
		if err := addNodeUsage(txn, new.NodeID, u, 1); err != nil {
			return err
		}
	}
	return nil
}

// addNodeUsage adds (sign 1) or takes away (sign -1) one allocation's
// resources. Rows are replaced, never changed in place, because older
// snapshots still hold them.
func addNodeUsage(txn *memdb.Txn, nodeID string, r *structs.ComparableResources, sign int) error {
	raw, err := txn.First(tableNodeUsage, "id", nodeID)
	if err != nil {
		return fmt.Errorf("node usage lookup: %w", err)
	}
	u := &NodeUsage{NodeID: nodeID}
	if raw != nil {
		*u = *raw.(*NodeUsage)
	}
	if sign > 0 {
		u.Used.Add(r)
	} else {
		u.Used.Subtract(r)
	}
	u.Allocs += sign
	if u.Allocs <= 0 {
		if raw != nil {
			if err := txn.Delete(tableNodeUsage, raw); err != nil {
				return fmt.Errorf("node usage delete: %w", err)
			}
		}
		return nil
	}
	if err := txn.Insert(tableNodeUsage, u); err != nil {
		return fmt.Errorf("node usage insert: %w", err)
	}
	return nil
}

// insertAllocTxn writes an allocation and keeps its node's usage.
func insertAllocTxn(txn *memdb.Txn, old, a *structs.Allocation) error {
	if err := txn.Insert(tableAllocs, a); err != nil {
		return fmt.Errorf("insert alloc: %w", err)
	}
	return trackAllocUsage(txn, old, a)
}

// deleteAllocTxn removes an allocation and keeps its node's usage. Code
// that deletes allocations must use it.
func deleteAllocTxn(txn *memdb.Txn, a *structs.Allocation) error {
	if err := txn.Delete(tableAllocs, a); err != nil {
		return fmt.Errorf("delete alloc: %w", err)
	}
	return trackAllocUsage(txn, a, nil)
}

// rebuildNodeUsage fills the usage table from the allocs table.
func rebuildNodeUsage(txn *memdb.Txn) error {
	if _, err := txn.DeleteAll(tableNodeUsage, "id"); err != nil {
		return fmt.Errorf("node usage reset: %w", err)
	}
	sums := map[string]*NodeUsage{}
	it, err := txn.Get(tableAllocs, "id")
	if err != nil {
		return fmt.Errorf("allocs: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		a := raw.(*structs.Allocation)
		r, ok := liveUsage(a)
		if !ok {
			continue
		}
		u := sums[a.NodeID]
		if u == nil {
			u = &NodeUsage{NodeID: a.NodeID}
			sums[a.NodeID] = u
		}
		u.Used.Add(r)
		u.Allocs++
	}
	for _, u := range sums {
		if err := txn.Insert(tableNodeUsage, u); err != nil {
			return fmt.Errorf("node usage insert: %w", err)
		}
	}
	return nil
}

// NodeUsage returns what the node's live allocations hold; zero for a node
// without any.
func (s *StateStore) NodeUsage(nodeID string) (NodeUsage, error) {
	raw, err := s.db.Txn(false).First(tableNodeUsage, "id", nodeID)
	if err != nil {
		return NodeUsage{}, fmt.Errorf("node usage lookup: %w", err)
	}
	if raw == nil {
		return NodeUsage{NodeID: nodeID}, nil
	}
	return *raw.(*NodeUsage), nil
}

// EachNodeUsage calls fn with the usage of every node that has live
// allocations: one walk of the table, for readers that would otherwise
// look up most nodes one by one.
func (s *StateStore) EachNodeUsage(fn func(NodeUsage)) error {
	it, err := s.db.Txn(false).Get(tableNodeUsage, "id")
	if err != nil {
		return fmt.Errorf("node usage: %w", err)
	}
	for raw := it.Next(); raw != nil; raw = it.Next() {
		fn(*raw.(*NodeUsage))
	}
	return nil
}
