package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// tableNodeUsage holds, per node, the summed resources of its live
// (non-terminal) allocations. It is derived from the allocations and kept
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

// trackAllocUsage gathers in batch what moves with one allocation write:
// its node's usage, from the old version to the new one, and the count of
// allocations per client status. Every write of an allocation calls it
// in the same transaction: old is nil for an insert, new is nil for a
// delete.
func trackAllocUsage(batch *writeBatch, old, new *structs.Allocation) {
	if old == nil || new == nil || old.ClientStatus != new.ClientStatus {
		if old != nil {
			batch.status[old.ClientStatus]--
		}
		if new != nil {
			batch.status[new.ClientStatus]++
		}
	}
	if old != nil && new != nil && old.NodeID == new.NodeID {
		ou, oLive := liveUsage(old)
		nu, nLive := liveUsage(new)
		if oLive == nLive && (!oLive || *ou == *nu) {
			return // the common client update: nothing moves
		}
	}
	if u, ok := liveUsage(old); ok {
		batch.add(old.NodeID, u, -1)
	}
	if u, ok := liveUsage(new); ok {
		batch.add(new.NodeID, u, 1)
	}
}

// writeBatch gathers the derived changes of one transaction's allocation
// writes, so that each derived row is rewritten once per transaction: the
// usage per node (a plan places many allocations on a node), the counts
// per client status, and the membership and changed rows of the nodes and
// jobs written.
// Every transaction that writes allocations makes one and flushes it
// before committing.
type writeBatch struct {
	usage  map[string]*usageDelta
	status map[string]int
	// nodeMembers and jobMembers are the changes to the membership rows
	// (tableNodeAllocs, tableJobAllocs).
	nodeMembers map[string]memberEdits
	jobMembers  map[structs.NamespacedID]memberEdits
	// jobsChanged are the jobs whose allocations were written, with the
	// last index (tableAllocsChanged); jobsEmptied those left without any.
	jobsChanged map[structs.NamespacedID]uint64
	jobsEmptied map[structs.NamespacedID]bool
	// allocs is the transaction's change to the allocations, started by
	// the first read or write through the batch.
	allocs *allocTreeTxn
}

type usageDelta struct {
	add, sub structs.ComparableResources
	allocs   int
}

func newWriteBatch() *writeBatch {
	return &writeBatch{usage: map[string]*usageDelta{}, status: map[string]int{},
		nodeMembers: map[string]memberEdits{}, jobMembers: map[structs.NamespacedID]memberEdits{},
		jobsChanged: map[structs.NamespacedID]uint64{}, jobsEmptied: map[structs.NamespacedID]bool{}}
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

// allocTxn returns the batch's change to the allocations: reads through
// it see the batch's writes.
func (b *writeBatch) allocTxn(txn *memdb.Txn) (*allocTreeTxn, error) {
	if b.allocs == nil {
		t, err := allocsIn(txn, nil)
		if err != nil {
			return nil, err
		}
		b.allocs = t.Txn()
	}
	return b.allocs, nil
}

// alloc reads an allocation as the batch left it; nil if there is none.
func (b *writeBatch) alloc(txn *memdb.Txn, id string) (*structs.Allocation, error) {
	x, err := b.allocTxn(txn)
	if err != nil {
		return nil, err
	}
	return x.Get(id), nil
}

// flush writes the gathered changes.
func (b *writeBatch) flush(txn *memdb.Txn) error {
	if b.allocs != nil {
		if err := setAllocs(txn, b.allocs.Commit()); err != nil {
			return err
		}
		b.allocs = nil
	}
	for nodeID, d := range b.usage {
		if err := changeNodeUsage(txn, nodeID, &d.add, &d.sub, d.allocs); err != nil {
			return err
		}
	}
	if err := b.flushMembers(txn); err != nil {
		return err
	}
	if err := b.flushChanged(txn); err != nil {
		return err
	}
	return changeAllocCounts(txn, b.status)
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

// insertAllocTxn writes an allocation and gathers what moves with it in
// batch.
func insertAllocTxn(txn *memdb.Txn, batch *writeBatch, old, a *structs.Allocation) error {
	if a.ID == "" {
		return fmt.Errorf("insert alloc: allocation has no ID")
	}
	x, err := batch.allocTxn(txn)
	if err != nil {
		return err
	}
	x.Put(a)
	trackAllocWrite(batch, old, a)
	return nil
}

// trackAllocWrite gathers in batch what moves with the write of a over
// old (nil for an insert): memberships and usage.
func trackAllocWrite(batch *writeBatch, old, a *structs.Allocation) {
	writeAllocMembers(batch, old, a)
	trackAllocUsage(batch, old, a)
}

// deleteAllocTxn removes an allocation and gathers what moves with it in
// batch. Code that deletes allocations must use it.
func deleteAllocTxn(txn *memdb.Txn, batch *writeBatch, a *structs.Allocation) error {
	x, err := batch.allocTxn(txn)
	if err != nil {
		return err
	}
	if x.Delete(a.ID) == nil {
		return fmt.Errorf("delete alloc: %s is not stored", a.ID)
	}
	deleteAllocMembers(batch, a)
	batch.changedAt(a, 0)
	trackAllocUsage(batch, a, nil)
	return nil
}

// rebuildDerived fills the tables derived from the allocations (node
// usage, counts per client status, the membership and changed rows) in
// one walk of it, as if every allocation were inserted in one transaction.
func rebuildDerived(txn *memdb.Txn) error {
	for _, table := range []string{tableNodeUsage, tableAllocCounts, tableNodeAllocs, tableJobAllocs, tableAllocsChanged} {
		if _, err := txn.DeleteAll(table, "id"); err != nil {
			return fmt.Errorf("reset %s: %w", table, err)
		}
	}
	allocs, err := allocsIn(txn, nil)
	if err != nil {
		return err
	}
	batch := newWriteBatch()
	allocs.Ascend("", func(a *structs.Allocation) bool {
		trackAllocUsage(batch, nil, a)
		writeAllocMembers(batch, nil, a)
		return true
	})
	return batch.flush(txn)
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
