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
//
// The table has one row, a usageArray: the usages in a copy-on-write
// array indexed by node slot (tableNodeSlots), in chunks without pointers.
// A scheduler reads every node's usage for each large evaluation; as rows
// of a memdb table that was a radix walk and a lookup by ID per node, a
// few cache misses each, and at 5,000 nodes near a million allocations it
// took a seventh of the server's time. Now it is an index into an array.
const tableNodeUsage = "node_usage"

// tableNodeSlots numbers the nodes the store knows (registered, or named
// by an allocation): a node's slot is its place in the usage array and
// never changes while the store lives. Slots are never taken back, so an
// allocation left on a deleted node still has its usage where it was.
const tableNodeSlots = "node_slots"

const usageKey = "usage"

func init() {
	registerTable(&memdb.TableSchema{Name: tableNodeUsage, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
	}})
	registerTable(&memdb.TableSchema{Name: tableNodeSlots, Indexes: map[string]*memdb.IndexSchema{
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

// nodeSlot is a row of tableNodeSlots.
type nodeSlot struct {
	NodeID string
	Slot   int32
}

// usageRow is the row of tableNodeUsage.
type usageRow struct {
	Key   string
	Usage usageArray
}

// usageChunkLen is the number of slots in a chunk: a write copies the
// chunks of the nodes it changes, 2 KB each.
const usageChunkLen = 64

// usageArray is a version of the usages by slot. A value never changes;
// a transaction (usageTxn) copies the chunk list and each chunk it
// changes, once.
type usageArray struct {
	chunks []*usageChunk
	// slots is the number of slots handed out.
	slots int32
}

type usageChunk struct {
	// gen is the transaction that made the chunk; only it may change it.
	gen  uint64
	uses [usageChunkLen]slotUse
}

type slotUse struct {
	used   structs.ComparableResources
	allocs int64
}

// at returns the usage of a slot; zero past the chunks written.
func (u usageArray) at(slot int32) slotUse {
	if slot < 0 || int(slot)/usageChunkLen >= len(u.chunks) {
		return slotUse{}
	}
	c := u.chunks[int(slot)/usageChunkLen]
	if c == nil {
		return slotUse{}
	}
	return c.uses[int(slot)%usageChunkLen]
}

// usageTxn changes a copy of a usageArray within one write transaction.
type usageTxn struct {
	u       usageArray
	gen     uint64
	ownList bool
}

func usageIn(txn *memdb.Txn) (usageArray, error) {
	raw, err := txn.First(tableNodeUsage, "id", usageKey)
	if err != nil {
		return usageArray{}, fmt.Errorf("node usage: %w", err)
	}
	if raw == nil {
		return usageArray{}, nil
	}
	return raw.(*usageRow).Usage, nil
}

func newUsageTxn(txn *memdb.Txn) (*usageTxn, error) {
	u, err := usageIn(txn)
	if err != nil {
		return nil, err
	}
	return &usageTxn{u: u, gen: allocTreeGen.Add(1)}, nil
}

// slotOf returns the node's slot, handing out the next one to a node the
// store has not numbered yet.
func (x *usageTxn) slotOf(txn *memdb.Txn, nodeID string) (int32, error) {
	raw, err := txn.First(tableNodeSlots, "id", nodeID)
	if err != nil {
		return 0, fmt.Errorf("node slot lookup: %w", err)
	}
	if raw != nil {
		return raw.(*nodeSlot).Slot, nil
	}
	slot := x.u.slots
	x.u.slots++
	if err := txn.Insert(tableNodeSlots, &nodeSlot{NodeID: nodeID, Slot: slot}); err != nil {
		return 0, fmt.Errorf("node slot insert: %w", err)
	}
	return slot, nil
}

// change adds add and takes away sub from a slot's usage, and allocs from
// its count.
func (x *usageTxn) change(slot int32, add, sub *structs.ComparableResources, allocs int) {
	if !x.ownList {
		x.u.chunks = append([]*usageChunk(nil), x.u.chunks...)
		x.ownList = true
	}
	ci := int(slot) / usageChunkLen
	for len(x.u.chunks) <= ci {
		x.u.chunks = append(x.u.chunks, nil)
	}
	c := x.u.chunks[ci]
	switch {
	case c == nil:
		c = &usageChunk{gen: x.gen}
	case c.gen != x.gen:
		cp := *c
		cp.gen = x.gen
		c = &cp
	}
	x.u.chunks[ci] = c
	use := &c.uses[int(slot)%usageChunkLen]
	use.used.Add(add)
	use.used.Subtract(sub)
	use.allocs += int64(allocs)
	if use.allocs <= 0 {
		*use = slotUse{}
	}
}

// commit writes the transaction's usage array.
func (x *usageTxn) commit(txn *memdb.Txn) error {
	if err := txn.Insert(tableNodeUsage, &usageRow{Key: usageKey, Usage: x.u}); err != nil {
		return fmt.Errorf("node usage insert: %w", err)
	}
	x.gen = allocTreeGen.Add(1)
	x.ownList = false
	return nil
}

// numberNode gives a node a slot when the store first writes it, in the
// same transaction, so that every snapshot holding the node holds its slot.
func numberNode(txn *memdb.Txn, nodeID string) error {
	raw, err := txn.First(tableNodeSlots, "id", nodeID)
	if err != nil {
		return fmt.Errorf("node slot lookup: %w", err)
	}
	if raw != nil {
		return nil
	}
	x, err := newUsageTxn(txn)
	if err != nil {
		return err
	}
	if _, err := x.slotOf(txn, nodeID); err != nil {
		return err
	}
	return x.commit(txn)
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
	if len(b.usage) > 0 {
		x, err := newUsageTxn(txn)
		if err != nil {
			return err
		}
		for nodeID, d := range b.usage {
			slot, err := x.slotOf(txn, nodeID)
			if err != nil {
				return err
			}
			x.change(slot, &d.add, &d.sub, d.allocs)
		}
		if err := x.commit(txn); err != nil {
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
	for _, table := range []string{tableNodeUsage, tableNodeSlots, tableAllocCounts, tableNodeAllocs, tableJobAllocs, tableAllocsChanged} {
		if _, err := txn.DeleteAll(table, "id"); err != nil {
			return fmt.Errorf("reset %s: %w", table, err)
		}
	}
	allocs, err := allocsIn(txn, nil)
	if err != nil {
		return err
	}
	// Registered nodes are numbered first, in ID order, then the nodes
	// only allocations name, as the allocations come.
	nodes, err := txn.Get(tableNodes, "id")
	if err != nil {
		return fmt.Errorf("list nodes: %w", err)
	}
	for raw := nodes.Next(); raw != nil; raw = nodes.Next() {
		if err := numberNode(txn, raw.(*structs.Node).ID); err != nil {
			return err
		}
	}
	batch := newWriteBatch()
	allocs.Ascend("", func(a *structs.Allocation) bool {
		trackAllocWrite(batch, nil, a)
		return true
	})
	return batch.flush(txn)
}

// NodeUsage returns what the node's live allocations hold; zero for a node
// without any.
func (s *StateStore) NodeUsage(nodeID string) (NodeUsage, error) {
	txn := s.db.Txn(false)
	raw, err := txn.First(tableNodeSlots, "id", nodeID)
	if err != nil {
		return NodeUsage{}, fmt.Errorf("node slot lookup: %w", err)
	}
	if raw == nil {
		return NodeUsage{NodeID: nodeID}, nil
	}
	u, err := usageIn(txn)
	if err != nil {
		return NodeUsage{}, err
	}
	use := u.at(raw.(*nodeSlot).Slot)
	return NodeUsage{NodeID: nodeID, Used: use.used, Allocs: int(use.allocs)}, nil
}

// FillUsage sets used[i] to the usage of c.Nodes[i], for a catalogue from
// this store (NodeCatalog): by slot, without a lookup by ID. used must be
// as long as c.Nodes.
func (s *StateStore) FillUsage(c *structs.NodeCatalog, used []structs.ComparableResources) error {
	if len(used) != len(c.Nodes) {
		return fmt.Errorf("fill usage: %d entries for %d nodes", len(used), len(c.Nodes))
	}
	if len(c.Slots) != len(c.Nodes) {
		// Not made by a store: look the nodes up.
		for i := range c.Nodes {
			u, err := s.NodeUsage(c.Nodes[i].Node.ID)
			if err != nil {
				return err
			}
			used[i] = u.Used
		}
		return nil
	}
	u, err := usageIn(s.db.Txn(false))
	if err != nil {
		return err
	}
	for i, slot := range c.Slots {
		used[i] = u.at(slot).used
	}
	return nil
}
