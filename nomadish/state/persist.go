package state

import (
	"fmt"
	"io"

	"github.com/hashicorp/go-msgpack/v2/codec"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Record kinds in a snapshot stream. Append only.
const (
	recIndex byte = iota + 1
	recJob
	recJobVersion
	recNode
	recAlloc
	recEval
	recAllocJob
	recAllocRef
)

// allocJob is a job that allocations point at, written once per snapshot
// however many allocations share it; Ref numbers it within the snapshot.
type allocJob struct {
	Ref uint64
	Job *structs.Job
}

// allocRef is an allocation written without its job, which is the
// allocJob numbered JobRef (0: none).
type allocRef struct {
	JobRef uint64
	Alloc  *structs.Allocation
}

// snapshotTable is a table in snapshots: its record kind and how to make
// an empty object to decode one of its records into.
type snapshotTable struct {
	table string
	kind  byte
	new   func() interface{}
}

// snapTables are the tables of this file, in the order Persist writes
// them; other files add theirs with registerSnapshotTable.
var snapTables = []snapshotTable{
	{tableIndex, recIndex, func() interface{} { return &IndexEntry{} }},
	{tableJobs, recJob, func() interface{} { return &structs.Job{} }},
	{tableJobVersions, recJobVersion, func() interface{} { return &structs.Job{} }},
	{tableNodes, recNode, func() interface{} { return &structs.Node{} }},
	// Allocations are written as recAllocJob and recAllocRef records;
	// recAlloc, one allocation with its job inline, is what older
	// snapshots hold.
	{tableAllocs, recAlloc, func() interface{} { return &structs.Allocation{} }},
	{tableEvals, recEval, func() interface{} { return &structs.Evaluation{} }},
}

// registerSnapshotTable adds a table to snapshots, with a record kind from
// 64 up, unique; call it from init.
func registerSnapshotTable(table string, kind byte, newObj func() interface{}) {
	for _, t := range snapTables {
		if t.kind == kind {
			panic(fmt.Sprintf("state: snapshot record kind %d registered twice", kind))
		}
	}
	snapTables = append(snapTables, snapshotTable{table: table, kind: kind, new: newObj})
}

// Persist writes every table to w as a stream of (kind, object) records.
func (s *StateStore) Persist(w io.Writer, h codec.Handle) error {
	enc := codec.NewEncoder(w, h)
	txn := s.db.Txn(false)
	for _, t := range snapTables {
		if t.table == tableAllocs {
			allocs, err := allocsIn(txn, nil)
			if err != nil {
				return fmt.Errorf("snapshot %s: %w", t.table, err)
			}
			if err := persistAllocs(enc, allocs); err != nil {
				return err
			}
			continue
		}
		it, err := txn.Get(t.table, "id")
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", t.table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if err := encodeRecord(enc, t.kind, raw); err != nil {
				return fmt.Errorf("snapshot %s: %w", t.table, err)
			}
		}
	}
	return nil
}

// persistAllocs writes the allocations with each job they point at once:
// the allocations of a plan share one job object, and writing it with
// every allocation would make the job most of the snapshot.
func persistAllocs(enc *codec.Encoder, allocs allocTree) error {
	refs := map[*structs.Job]uint64{}
	var err error
	allocs.Ascend("", func(a *structs.Allocation) bool {
		var ref uint64
		if a.Job != nil {
			var ok bool
			if ref, ok = refs[a.Job]; !ok {
				ref = uint64(len(refs) + 1)
				refs[a.Job] = ref
				if err = encodeRecord(enc, recAllocJob, &allocJob{Ref: ref, Job: a.Job}); err != nil {
					return false
				}
			}
		}
		bare := *a
		bare.Job = nil
		err = encodeRecord(enc, recAllocRef, &allocRef{JobRef: ref, Alloc: &bare})
		return err == nil
	})
	if err != nil {
		return fmt.Errorf("snapshot allocs: %w", err)
	}
	return nil
}

func encodeRecord(enc *codec.Encoder, kind byte, obj interface{}) error {
	if err := enc.Encode(kind); err != nil {
		return err
	}
	return enc.Encode(obj)
}

// Restore reads a stream written by Persist into a new state store.
func Restore(r io.Reader, h codec.Handle) (*StateStore, error) {
	s := NewStateStore()
	dec := codec.NewDecoder(r, h)
	txn := s.db.Txn(true)
	defer txn.Abort()
	allocJobs := map[uint64]*structs.Job{}
	var available map[string]int
	allocs := allocTree{}.Txn()
	putAlloc := func(a *structs.Allocation) error {
		if a.ID == "" {
			return fmt.Errorf("restore: allocation record without an ID")
		}
		available = shareNodesAvailable(a, available)
		s.scores.share(a)
		s.counts.share(a)
		allocs.Put(a)
		return nil
	}
	for {
		var kind byte
		if err := dec.Decode(&kind); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		var obj interface{}
		var table string
		switch kind {
		case recAllocJob:
			var j allocJob
			if err := dec.Decode(&j); err != nil {
				return nil, fmt.Errorf("restore: %w", err)
			}
			if j.Job == nil || j.Ref == 0 {
				return nil, fmt.Errorf("restore: allocation job record %d has no job", j.Ref)
			}
			allocJobs[j.Ref] = j.Job
			continue
		case recAllocRef:
			var r allocRef
			if err := dec.Decode(&r); err != nil {
				return nil, fmt.Errorf("restore: %w", err)
			}
			if r.Alloc == nil {
				return nil, fmt.Errorf("restore: empty allocation record")
			}
			if r.JobRef != 0 {
				if r.Alloc.Job = allocJobs[r.JobRef]; r.Alloc.Job == nil {
					return nil, fmt.Errorf("restore: allocation %s points at job record %d, which the snapshot lacks", r.Alloc.ID, r.JobRef)
				}
			}
			if err := putAlloc(r.Alloc); err != nil {
				return nil, err
			}
			continue
		default:
			for _, t := range snapTables {
				if t.kind == kind {
					obj, table = t.new(), t.table
				}
			}
			if obj == nil {
				return nil, fmt.Errorf("restore: unknown record kind %d", kind)
			}
		}
		if err := dec.Decode(obj); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		if table == tableAllocs {
			if err := putAlloc(obj.(*structs.Allocation)); err != nil {
				return nil, err
			}
			continue
		}
		if err := txn.Insert(table, obj); err != nil {
			return nil, fmt.Errorf("restore %s: %w", table, err)
		}
	}
	if err := setAllocs(txn, allocs.Commit()); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	if err := rebuildDerived(txn); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	txn.Commit()
	return s, nil
}
