package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// tableSchedulerConfig holds at most one row: the operator's scheduler
// configuration.
const tableSchedulerConfig = "scheduler_config"

// recSchedulerConfig is the snapshot record kind of the configuration.
const recSchedulerConfig byte = 70

func init() {
	registerTable(&memdb.TableSchema{
		Name: tableSchedulerConfig,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {
				Name:         "id",
				AllowMissing: true,
				Unique:       true,
				Indexer: &memdb.ConditionalIndex{
					Conditional: func(interface{}) (bool, error) { return true, nil },
				},
			},
		},
	})
	registerSnapshotTable(tableSchedulerConfig, recSchedulerConfig, func() interface{} {
		return &structs.SchedulerConfiguration{}
	})
}

// SchedulerConfig returns the stored configuration (nil when none was
// ever set) and the index of the table.
func (s *StateStore) SchedulerConfig(ws memdb.WatchSet) (uint64, *structs.SchedulerConfiguration, error) {
	txn := s.db.Txn(false)
	ch, raw, err := txn.FirstWatch(tableSchedulerConfig, "id")
	if err != nil {
		return 0, nil, fmt.Errorf("scheduler config lookup: %w", err)
	}
	ws.Add(ch)
	idx := indexOf(txn, ws, tableSchedulerConfig)
	if raw == nil {
		return idx, nil, nil
	}
	return idx, raw.(*structs.SchedulerConfiguration), nil
}

// SchedulerSetConfig stores the configuration. With cas set, it stores it
// only if the stored ModifyIndex equals cfg.ModifyIndex (0 meaning never
// set) and reports whether it did.
func (s *StateStore) SchedulerSetConfig(index uint64, cfg *structs.SchedulerConfiguration, cas bool) (bool, error) {
	txn := s.db.Txn(true)
	defer txn.Abort()
	raw, err := txn.First(tableSchedulerConfig, "id")
	if err != nil {
		return false, fmt.Errorf("scheduler config lookup: %w", err)
	}
	c := cfg.Copy()
	c.CreateIndex, c.ModifyIndex = index, index
	if raw != nil {
		old := raw.(*structs.SchedulerConfiguration)
		if cas && old.ModifyIndex != cfg.ModifyIndex {
			return false, nil
		}
		c.CreateIndex = old.CreateIndex
	} else if cas && cfg.ModifyIndex != 0 {
		return false, nil
	}
	if err := txn.Insert(tableSchedulerConfig, c); err != nil {
		return false, fmt.Errorf("insert scheduler config: %w", err)
	}
	if err := setIndex(txn, tableSchedulerConfig, index); err != nil {
		return false, err
	}
	txn.Commit()
	return true, nil
}
