package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"
)

// Table names.
const (
	tableIndex       = "index"
	tableJobs        = "jobs"
	tableJobVersions = "job_version"
	tableNodes       = "nodes"
	// tableAllocs is not a memdb table (alloc_tree.go): its name keys the
	// allocations' index entry and snapshot records.
	tableAllocs = "allocs"
	tableEvals  = "evals"
)

// IndexEntry records the Raft index of the last change to a table.
type IndexEntry struct {
	Key   string
	Value uint64
}

func schema() *memdb.DBSchema {
	nsID := &memdb.CompoundIndex{Indexes: []memdb.Indexer{
		&memdb.StringFieldIndex{Field: "Namespace"},
		&memdb.StringFieldIndex{Field: "ID"},
	}}
	nsJob := &memdb.CompoundIndex{Indexes: []memdb.Indexer{
		&memdb.StringFieldIndex{Field: "Namespace"},
		&memdb.StringFieldIndex{Field: "JobID"},
	}}
	return &memdb.DBSchema{Tables: map[string]*memdb.TableSchema{
		tableIndex: {Name: tableIndex, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "Key"}},
		}},
		tableJobs: {Name: tableJobs, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: nsID},
		}},
		tableJobVersions: {Name: tableJobVersions, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"},
				&memdb.StringFieldIndex{Field: "ID"},
				&memdb.UintFieldIndex{Field: "Version"},
			}}},
		}},
		tableNodes: {Name: tableNodes, Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
		}},
		tableEvals: {Name: tableEvals, Indexes: map[string]*memdb.IndexSchema{
			"id":  {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"job": {Name: "job", Indexer: nsJob},
		}},
	}}
}

// extraTables are tables other files of this package add with
// registerTable, each in its own file, so that features own their tables.
var extraTables = map[string]*memdb.TableSchema{}

// registerTable adds a table to the schema; call it from init.
func registerTable(t *memdb.TableSchema) {
	if _, dup := extraTables[t.Name]; dup {
		panic("state: table registered twice: " + t.Name)
	}
	extraTables[t.Name] = t
}

func mustSchema() *memdb.DBSchema {
	s := schema()
	for name, t := range extraTables {
		s.Tables[name] = t
	}
	if err := s.Validate(); err != nil {
		panic(fmt.Sprintf("state schema: %v", err))
	}
	return s
}
