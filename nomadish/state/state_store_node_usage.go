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

// trackAllocUsage moves a node's usage, and the count of allocations per
// client status, from the old version of an allocation to the new one.
// Every write of the allocs table calls it in the same transaction: old is
// nil for an insert, new is nil for a delete. With a batch, the changes are
// gathered there and written by its flush.
func trackAllocUsage(txn *memdb.Txn, batch *writeBatch, old, new *structs.Allocation) error {
	if err := countAllocStatus(txn, batch, old, new); err != nil {
		return err
	}
	if old != nil && new != nil && old.NodeID == new.NodeID {
		ou, oLive := liveUsage(old)
		nu, nLive := liveUsage(new)
		if oLive == nLive && (!oLive || *ou == *nu) {
			return nil // the common client update: nothing moves
		}
	}
	if u, ok := liveUsage(old); ok {
		if batch != nil {
			batch.add(old.NodeID, u, -1)
		} else if err := addNodeUsage(txn, old.NodeID, u, -1); err != nil {
			return err
		}
	}
	if u, ok := liveUsage(new); ok {
		if batch != nil {
			batch.add(new.NodeID, u, 1)
		} else if err := addNodeUsage(txn, new.NodeID, u, 1); err != nil {
			return err
		}
	}
	return nil
}

// writeBatch gathers the derived changes of one transaction's allocation
// writes: usage per node, so that a plan placing many allocations on a
// node rewrites its row once, and the counts per client status, written
// once per transaction. The writer flushes it before committing.
type writeBatch struct {
	usage  map[string]*usageDelta
	status map[string]int
	// nodes are the nodes whose allocations the servers changed, with
	// the index (tableNodeAllocsIndex).
	nodes map[string]uint64
}

type usageDelta struct {
	add, sub structs.ComparableResources
	allocs   int
}

func newWriteBatch() *writeBatch {
	return &writeBatch{usage: map[string]*usageDelta{}, status: map[string]int{}, nodes: map[string]uint64{}}
}

func (b *writeBatch) add(nodeID string, r *structs.ComparableResources, sign int) {
	d := b.usage[nodeID]
	if d == nil {
		d = &usageDelta{}
		b.usage[nodeID] = d
	}
	if sign > 0 {
		d.add.Add(r)
	} else {
		d.sub.Add(r)
	}
	d.allocs += sign
}

// flush writes the gathered changes.
func (b *writeBatch) flush(txn *memdb.Txn) error {
	for nodeID, d := range b.usage {
		if err := changeNodeUsage(txn, nodeID, &d.add, &d.sub, d.allocs); err != nil {
			return err
		}
	}
	for nodeID, index := range b.nodes {
		if err := setNodeAllocsIndex(txn, nodeID, index); err != nil {
			return err
		}
	}
	return changeAllocCounts(txn, b.status)
}

// addNodeUsage adds (sign 1) or takes away (sign -1) one allocation's
// resources.
func addNodeUsage(txn *memdb.Txn, nodeID string, r *structs.ComparableResources, sign int) error {
	var none structs.ComparableResources
	if sign > 0 {
		return changeNodeUsage(txn, nodeID, r, &none, 1)
	}
	return changeNodeUsage(txn, nodeID, &none, r, -1)
}

// changeNodeUsage adds add and takes away sub from a node's usage, and
// allocs from its count. Rows are replaced, never changed in place,
// because older snapshots still hold them.
func changeNodeUsage(txn *memdb.Txn, nodeID string, add, sub *structs.ComparableResources, allocs int) error {
	raw, err := txn.First(tableNodeUsage, "id", nodeID)
	if err != nil {
		return fmt.Errorf("node usage lookup: %w", err)
	}
	u := &NodeUsage{NodeID: nodeID}
	if raw != nil {
		*u = *raw.(*NodeUsage)
	}
	u.Used.Add(add)
	u.Used.Subtract(sub)
	u.Allocs += allocs
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
	return insertAllocBatched(txn, nil, old, a)
}

// insertAllocBatched writes an allocation and gathers the change of its
// node's usage in batch; the caller flushes the batch before committing.
func insertAllocBatched(txn *memdb.Txn, batch *writeBatch, old, a *structs.Allocation) error {
	if err := txn.Insert(tableAllocs, a); err != nil {
		return fmt.Errorf("insert alloc: %w", err)
	}
	return trackAllocUsage(txn, batch, old, a)
}

// deleteAllocTxn removes an allocation and keeps its node's usage. Code
// that deletes allocations must use it.
func deleteAllocTxn(txn *memdb.Txn, a *structs.Allocation) error {
	if err := txn.Delete(tableAllocs, a); err != nil {
		return fmt.Errorf("delete alloc: %w", err)
	}
	return trackAllocUsage(txn, nil, a, nil)
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
