package state

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// tablePeriodicLaunch holds the last launch time of each periodic job.
const tablePeriodicLaunch = "periodic_launch"

// recPeriodicLaunch is the snapshot record kind of a launch.
const recPeriodicLaunch byte = 80

func init() {
	registerTable(&memdb.TableSchema{
		Name: tablePeriodicLaunch,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"},
				&memdb.StringFieldIndex{Field: "ID"},
			}}},
		},
	})
	registerSnapshotTable(tablePeriodicLaunch, recPeriodicLaunch, func() interface{} {
		return &structs.PeriodicLaunch{}
	})
}

// PeriodicLaunchByID returns a periodic job's last launch or nil.
func (s *StateStore) PeriodicLaunchByID(ws memdb.WatchSet, namespace, id string) (*structs.PeriodicLaunch, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tablePeriodicLaunch, "id", namespace, id)
	if err != nil {
		return nil, fmt.Errorf("periodic launch lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.PeriodicLaunch), nil
}

// ApplyPeriodicLaunch registers a periodic job's child with its evaluation
// (when req.Child is set) and records the launch, in one transaction.
func (s *StateStore) ApplyPeriodicLaunch(index uint64, req *structs.PeriodicLaunchRequest) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if req.Child != nil {
		if err := upsertJobTxn(txn, index, req.Child); err != nil {
			return err
		}
		if req.Eval != nil {
			e := req.Eval.Copy()
			raw, err := txn.First(tableJobs, "id", req.Child.Namespace, req.Child.ID)
			if err != nil {
				return fmt.Errorf("job lookup: %w", err)
			}
			e.JobModifyIndex = raw.(*structs.Job).JobModifyIndex
			jobs := map[structs.NamespacedID]struct{}{req.Child.NamespacedID(): {}}
			if err := upsertEvalsTxn(txn, index, []*structs.Evaluation{e}, jobs); err != nil {
				return err
			}
			if err := refreshJobStatus(txn, index, jobs); err != nil {
				return err
			}
		}
	}
	if l := req.Launch; l != nil {
		c := *l
		c.ModifyIndex = index
		c.CreateIndex = index
		raw, err := txn.First(tablePeriodicLaunch, "id", c.Namespace, c.ID)
		if err != nil {
			return fmt.Errorf("periodic launch lookup: %w", err)
		}
		if raw != nil {
			c.CreateIndex = raw.(*structs.PeriodicLaunch).CreateIndex
		}
		if err := txn.Insert(tablePeriodicLaunch, &c); err != nil {
			return fmt.Errorf("insert periodic launch: %w", err)
		}
		if err := setIndex(txn, tablePeriodicLaunch, index); err != nil {
			return err
		}
	}
	txn.Commit()
	return nil
}

// DeletePeriodicLaunch forgets a periodic job's launches.
func (s *StateStore) DeletePeriodicLaunch(index uint64, namespace, id string) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if _, err := txn.DeleteAll(tablePeriodicLaunch, "id", namespace, id); err != nil {
		return fmt.Errorf("delete periodic launch: %w", err)
	}
	if err := setIndex(txn, tablePeriodicLaunch, index); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

// ChildJobs lists the children of a periodic or parameterized job.
func (s *StateStore) ChildJobs(ws memdb.WatchSet, namespace, parentID string) ([]*structs.Job, error) {
	jobs, err := s.Jobs(ws, namespace, parentID+"/")
	if err != nil {
		return nil, err
	}
	out := jobs[:0:0]
	for _, j := range jobs {
		if j.ParentID == parentID && strings.HasPrefix(j.ID, parentID+"/") {
			out = append(out, j)
		}
	}
	return out, nil
}

// ChildrenSummary counts a parent job's children by status.
func (s *StateStore) ChildrenSummary(ws memdb.WatchSet, namespace, parentID string) (*structs.JobChildrenSummary, error) {
	children, err := s.ChildJobs(ws, namespace, parentID)
	if err != nil {
		return nil, err
	}
	sum := &structs.JobChildrenSummary{}
	for _, c := range children {
		switch c.Status {
		case structs.JobStatusPending:
			sum.Pending++
		case structs.JobStatusRunning:
			sum.Running++
		default:
			sum.Dead++
		}
	}
	return sum, nil
}
