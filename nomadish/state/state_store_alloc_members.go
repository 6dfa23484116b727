package state

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Allocations are stored by ID alone (allocTree). They are found by node
// and by job through membership tables: one row per node and per job
// listing its allocations' IDs, rewritten (copied) once by each
// transaction that places or deletes allocations there, never by client
// status reports, which are the store's most frequent writes and change
// nothing an allocation is found by. A row per node or job, rather than a
// row per allocation, also keeps the live heap's object count down: the
// garbage collector's marking is what slows the store near a million
// allocations. A read by node or by job takes the row and looks each
// allocation up by ID.
//
// A node's row also carries each allocation's AllocModifyIndex, which only
// the servers' writes move, and is rewritten when one moves: a client
// waiting for work watches its node's row and learns from it alone which
// allocations changed for it.
//
// Watching allocations for any change, status included, goes through
// tableAllocsChanged: one row per job with allocations, rewritten once by
// each transaction that writes any of them. A job's allocations are read
// and watched by the schedulers and deployment watchers; a watch on one
// allocation or on a node's is a watch on their jobs' rows, which may wake
// a blocking query for a sibling's write (it reads again and waits on).
//
// All three tables are derived from the allocations in the same
// transactions (writeBatch); they are not in Raft snapshots, Restore
// rebuilds them.
const (
	tableNodeAllocs    = "node_allocs"
	tableJobAllocs     = "job_allocs"
	tableAllocsChanged = "allocs_changed"
)

func init() {
	registerTable(&memdb.TableSchema{Name: tableNodeAllocs, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "NodeID"}},
	}})
	registerTable(&memdb.TableSchema{Name: tableJobAllocs, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
			&memdb.StringFieldIndex{Field: "Namespace"},
			&memdb.StringFieldIndex{Field: "JobID"},
		}}},
	}})
	registerTable(&memdb.TableSchema{Name: tableAllocsChanged, Indexes: map[string]*memdb.IndexSchema{
		"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
	}})
}

// nodeAllocs is a row of tableNodeAllocs. Rows are replaced, never changed
// in place: older snapshots hold them.
type nodeAllocs struct {
	NodeID string
	// Allocs is sorted by ID; the strings are the allocations' own.
	Allocs []nodeAllocEntry
}

type nodeAllocEntry struct {
	ID               string
	AllocModifyIndex uint64
}

// jobAllocs is a row of tableJobAllocs.
type jobAllocs struct {
	Namespace, JobID string
	// AllocIDs is sorted.
	AllocIDs []string
}

// allocsChanged is a row of tableAllocsChanged: Index is the last Raft
// index at which an allocation of the job was written.
type allocsChanged struct {
	Key   string
	Index uint64
}

func jobChangedKey(ns, jobID string) string { return ns + "\x00" + jobID }

// memberEdits are a transaction's changes to one membership row: allocation
// IDs added or updated (with their AllocModifyIndex) and removed.
type memberEdits map[string]memberEdit

type memberEdit struct {
	index   uint64
	deleted bool
}

// writeAllocMembers gathers in batch the membership changes of an
// allocation written over old (nil for a new one).
func writeAllocMembers(batch *writeBatch, old, a *structs.Allocation) {
	if old != nil && !sameMembers(old, a) {
		deleteAllocMembers(batch, old)
		batch.changedAt(old, a.ModifyIndex)
		old = nil
	}
	if old == nil {
		batch.jobEdits(a)[a.ID] = memberEdit{}
	}
	if old == nil || old.AllocModifyIndex != a.AllocModifyIndex {
		batch.nodeEdits(a.NodeID)[a.ID] = memberEdit{index: a.AllocModifyIndex}
	}
	batch.changedAt(a, a.ModifyIndex)
}

// deleteAllocMembers gathers in batch the removal of a deleted
// allocation's memberships.
func deleteAllocMembers(batch *writeBatch, a *structs.Allocation) {
	batch.jobEdits(a)[a.ID] = memberEdit{deleted: true}
	batch.nodeEdits(a.NodeID)[a.ID] = memberEdit{deleted: true}
}

func (b *writeBatch) jobEdits(a *structs.Allocation) memberEdits {
	j := structs.NamespacedID{Namespace: a.Namespace, ID: a.JobID}
	e := b.jobMembers[j]
	if e == nil {
		e = memberEdits{}
		b.jobMembers[j] = e
	}
	return e
}

func (b *writeBatch) nodeEdits(nodeID string) memberEdits {
	e := b.nodeMembers[nodeID]
	if e == nil {
		e = memberEdits{}
		b.nodeMembers[nodeID] = e
	}
	return e
}

// flushMembers rewrites the membership rows the batch changed, deleting
// those left empty; it records the jobs so left in b.jobsEmptied.
func (b *writeBatch) flushMembers(txn *memdb.Txn) error {
	for nodeID, edits := range b.nodeMembers {
		raw, err := txn.First(tableNodeAllocs, "id", nodeID)
		if err != nil {
			return fmt.Errorf("node allocs lookup: %w", err)
		}
		var old []nodeAllocEntry
		if raw != nil {
			old = raw.(*nodeAllocs).Allocs
		}
		entries := applyEdits(old, edits, func(e nodeAllocEntry) string { return e.ID },
			func(id string, e memberEdit) nodeAllocEntry { return nodeAllocEntry{ID: id, AllocModifyIndex: e.index} })
		if err := replaceRow(txn, tableNodeAllocs, raw, len(entries) == 0, &nodeAllocs{NodeID: nodeID, Allocs: entries}); err != nil {
			return err
		}
	}
	for j, edits := range b.jobMembers {
		raw, err := txn.First(tableJobAllocs, "id", j.Namespace, j.ID)
		if err != nil {
			return fmt.Errorf("job allocs lookup: %w", err)
		}
		var old []string
		if raw != nil {
			old = raw.(*jobAllocs).AllocIDs
		}
		ids := applyEdits(old, edits, func(id string) string { return id }, func(id string, _ memberEdit) string { return id })
		if len(ids) == 0 {
			b.jobsEmptied[j] = true
		}
		if err := replaceRow(txn, tableJobAllocs, raw, len(ids) == 0, &jobAllocs{Namespace: j.Namespace, JobID: j.ID, AllocIDs: ids}); err != nil {
			return err
		}
	}
	return nil
}

// applyEdits returns a copy of rows, sorted by key, with the edits made:
// the edited keys' rows dropped, and made again unless deleted. It costs a
// binary search per edit and one copy of rows: a job's row may list many
// thousands of allocations, while a transaction edits a few of them.
func applyEdits[T any](rows []T, edits memberEdits, key func(T) string, row func(string, memberEdit) T) []T {
	ids := slices.Sorted(maps.Keys(edits))
	out := make([]T, 0, len(rows)+len(ids))
	for _, id := range ids {
		i, found := slices.BinarySearchFunc(rows, id, func(r T, id string) int { return strings.Compare(key(r), id) })
		out = append(out, rows[:i]...)
		if found {
			i++
		}
		rows = rows[i:]
		if e := edits[id]; !e.deleted {
			out = append(out, row(id, e))
		}
	}
	return append(out, rows...)
}

// replaceRow deletes old when remove is set, else writes row.
func replaceRow(txn *memdb.Txn, table string, old interface{}, remove bool, row interface{}) error {
	if !remove {
		if err := txn.Insert(table, row); err != nil {
			return fmt.Errorf("%s insert: %w", table, err)
		}
		return nil
	}
	if old != nil {
		if err := txn.Delete(table, old); err != nil {
			return fmt.Errorf("%s delete: %w", table, err)
		}
	}
	return nil
}

// sameMembers reports whether two versions of an allocation are found by
// the same rows.
func sameMembers(a, b *structs.Allocation) bool {
	return a.NodeID == b.NodeID && a.Namespace == b.Namespace && a.JobID == b.JobID
}

// changedAt records in the batch that an allocation of the job was
// written at index (0 for a delete, which carries no index of its own).
func (b *writeBatch) changedAt(a *structs.Allocation, index uint64) {
	j := structs.NamespacedID{Namespace: a.Namespace, ID: a.JobID}
	b.jobsChanged[j] = max(b.jobsChanged[j], index)
}

// flushChanged rewrites the changed rows of the batch's jobs, and drops
// those of jobs left without allocations. It runs after flushMembers.
func (b *writeBatch) flushChanged(txn *memdb.Txn) error {
	for j, index := range b.jobsChanged {
		if err := setAllocsChanged(txn, jobChangedKey(j.Namespace, j.ID), index, b.jobsEmptied[j]); err != nil {
			return err
		}
	}
	return nil
}

// noMembers reports whether a membership row is missing: rows left empty
// are deleted.
func noMembers(txn *memdb.Txn, table string, args ...interface{}) (bool, error) {
	raw, err := txn.First(table, "id", args...)
	if err != nil {
		return false, fmt.Errorf("%s lookup: %w", table, err)
	}
	return raw == nil, nil
}

// setAllocsChanged rewrites (or, for a job left without allocations,
// deletes) a changed row; either wakes its watchers. A batch of deletes
// alone carries no index (0): the row keeps its own.
func setAllocsChanged(txn *memdb.Txn, key string, index uint64, remove bool) error {
	if remove {
		if _, err := txn.DeleteAll(tableAllocsChanged, "id", key); err != nil {
			return fmt.Errorf("allocs changed delete: %w", err)
		}
		return nil
	}
	if index == 0 {
		raw, err := txn.First(tableAllocsChanged, "id", key)
		if err != nil {
			return fmt.Errorf("allocs changed lookup: %w", err)
		}
		if raw != nil {
			index = raw.(*allocsChanged).Index
		}
	}
	if err := txn.Insert(tableAllocsChanged, &allocsChanged{Key: key, Index: index}); err != nil {
		return fmt.Errorf("allocs changed insert: %w", err)
	}
	return nil
}

// watchAllocsChanged adds to ws a watch that fires when any allocation
// under key is written, or the first one arrives.
func watchAllocsChanged(txn *memdb.Txn, ws memdb.WatchSet, key string) error {
	if ws == nil {
		return nil
	}
	ch, _, err := txn.FirstWatch(tableAllocsChanged, "id", key)
	if err != nil {
		return fmt.Errorf("allocs changed lookup: %w", err)
	}
	ws.Add(ch)
	return nil
}

// lookupAlloc looks up an allocation a membership row names.
func lookupAlloc(allocs allocTree, id string) (*structs.Allocation, error) {
	a := allocs.Get(id)
	if a == nil {
		return nil, fmt.Errorf("allocation %s is a member but not stored", id)
	}
	return a, nil
}

// eachJobAlloc calls fn with each of a job's allocations until it returns
// false.
func eachJobAlloc(txn *memdb.Txn, ns, jobID string, fn func(*structs.Allocation) bool) error {
	raw, err := txn.First(tableJobAllocs, "id", ns, jobID)
	if err != nil || raw == nil {
		return err
	}
	allocs, err := allocsIn(txn, nil)
	if err != nil {
		return err
	}
	for _, id := range raw.(*jobAllocs).AllocIDs {
		a, err := lookupAlloc(allocs, id)
		if err != nil {
			return err
		}
		if !fn(a) {
			return nil
		}
	}
	return nil
}

// allocsOfJob lists a job's allocations, adding to ws (when not nil) a
// watch that fires when any of them, or a new one, is written.
func allocsOfJob(txn *memdb.Txn, ws memdb.WatchSet, ns, jobID string) ([]*structs.Allocation, error) {
	if err := watchAllocsChanged(txn, ws, jobChangedKey(ns, jobID)); err != nil {
		return nil, err
	}
	var out []*structs.Allocation
	err := eachJobAlloc(txn, ns, jobID, func(a *structs.Allocation) bool {
		out = append(out, a)
		return true
	})
	return out, err
}

// allocsOfNode lists a node's allocations, adding to ws (when not nil) a
// watch on the node's row and on the changed row of each of their jobs.
func allocsOfNode(txn *memdb.Txn, ws memdb.WatchSet, nodeID string) ([]*structs.Allocation, error) {
	ch, raw, err := txn.FirstWatch(tableNodeAllocs, "id", nodeID)
	if err != nil {
		return nil, fmt.Errorf("node allocs lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	allocs, err := allocsIn(txn, nil)
	if err != nil {
		return nil, err
	}
	entries := raw.(*nodeAllocs).Allocs
	out := make([]*structs.Allocation, 0, len(entries))
	var last *structs.Job
	for _, e := range entries {
		a, err := lookupAlloc(allocs, e.ID)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
		if ws != nil && a.Job != last {
			last = a.Job
			if err := watchAllocsChanged(txn, ws, jobChangedKey(a.Namespace, a.JobID)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// NodeAllocModifyIndexes returns, for each allocation of the node, its
// AllocModifyIndex, from the node's row alone: what a client asks for each
// time the servers change its allocations. The watch it adds to ws fires
// when the servers place, update or delete the node's allocations, but not
// on client status reports. For a node without a row it watches the part
// of the table the row would join, which may fire for other nodes too.
func (s *StateStore) NodeAllocModifyIndexes(ws memdb.WatchSet, nodeID string) (map[string]uint64, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableNodeAllocs, "id", nodeID)
	if err != nil {
		return nil, fmt.Errorf("node allocs lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return map[string]uint64{}, nil
	}
	entries := raw.(*nodeAllocs).Allocs
	out := make(map[string]uint64, len(entries))
	for _, e := range entries {
		out[e.ID] = e.AllocModifyIndex
	}
	return out, nil
}
