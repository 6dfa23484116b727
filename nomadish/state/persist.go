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
)

var snapTables = []struct {
	table string
	kind  byte
}{
	{tableIndex, recIndex},
	{tableJobs, recJob},
	{tableJobVersions, recJobVersion},
	{tableNodes, recNode},
	{tableAllocs, recAlloc},
	{tableEvals, recEval},
}

// snapshotTable is a table another file adds to snapshots: its record
// kind (from 64 up, unique) and how to make an empty object to decode into.
type snapshotTable struct {
	table string
	kind  byte
	new   func() interface{}
}

var extraSnapTables []snapshotTable

// registerSnapshotTable adds a table to snapshots; call it from init.
func registerSnapshotTable(table string, kind byte, newObj func() interface{}) {
	extraSnapTables = append(extraSnapTables, snapshotTable{table: table, kind: kind, new: newObj})
}

// Persist writes every table to w as a stream of (kind, object) records.
func (s *StateStore) Persist(w io.Writer, h codec.Handle) error {
	enc := codec.NewEncoder(w, h)
	txn := s.db.Txn(false)
	tables := snapTables
	for _, e := range extraSnapTables {
		tables = append(tables, struct {
			table string
			kind  byte
		}{e.table, e.kind})
	}
	for _, t := range tables {
		it, err := txn.Get(t.table, "id")
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", t.table, err)
		}
		for raw := it.Next(); raw != nil; raw = it.Next() {
			if err := enc.Encode(t.kind); err != nil {
				return fmt.Errorf("snapshot %s: %w", t.table, err)
			}
			if err := enc.Encode(raw); err != nil {
				return fmt.Errorf("snapshot %s: %w", t.table, err)
			}
		}
	}
	return nil
}

// Restore reads a stream written by Persist into a new state store.
func Restore(r io.Reader, h codec.Handle) (*StateStore, error) {
	s := NewStateStore()
	dec := codec.NewDecoder(r, h)
	txn := s.db.Txn(true)
	defer txn.Abort()
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
		case recIndex:
			obj, table = &IndexEntry{}, tableIndex
		case recJob:
			obj, table = &structs.Job{}, tableJobs
		case recJobVersion:
			obj, table = &structs.Job{}, tableJobVersions
		case recNode:
			obj, table = &structs.Node{}, tableNodes
		case recAlloc:
			obj, table = &structs.Allocation{}, tableAllocs
		case recEval:
			obj, table = &structs.Evaluation{}, tableEvals
		default:
			for _, e := range extraSnapTables {
				if e.kind == kind {
					obj, table = e.new(), e.table
				}
			}
			if obj == nil {
				return nil, fmt.Errorf("restore: unknown record kind %d", kind)
			}
		}
		if err := dec.Decode(obj); err != nil {
			return nil, fmt.Errorf("restore: %w", err)
		}
		if err := txn.Insert(table, obj); err != nil {
			return nil, fmt.Errorf("restore %s: %w", table, err)
		}
	}
	if err := rebuildNodeUsage(txn); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	txn.Commit()
	return s, nil
}
