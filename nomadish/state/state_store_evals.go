package state

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// UpsertEvals inserts or updates evaluations.
func (s *StateStore) UpsertEvals(index uint64, evals []*structs.Evaluation) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	jobs := map[structs.NamespacedID]struct{}{}
	if err := upsertEvalsTxn(txn, index, evals, jobs); err != nil {
		return err
	}
	if err := refreshJobStatus(txn, index, jobs); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

func upsertEvalsTxn(txn *memdb.Txn, index uint64, evals []*structs.Evaluation, jobs map[structs.NamespacedID]struct{}) error {
	if len(evals) == 0 {
		return nil
	}
	for _, in := range evals {
		e := in.Copy()
		raw, err := txn.First(tableEvals, "id", e.ID)
		if err != nil {
			return fmt.Errorf("eval lookup: %w", err)
		}
		if raw != nil {
			e.CreateIndex = raw.(*structs.Evaluation).CreateIndex
		} else {
			e.CreateIndex = index
		}
		e.ModifyIndex = index
		if err := txn.Insert(tableEvals, e); err != nil {
			return fmt.Errorf("insert eval: %w", err)
		}
		jobs[structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}] = struct{}{}
	}
	return setIndex(txn, tableEvals, index)
}

// EvalByID returns an evaluation or nil.
func (s *StateStore) EvalByID(ws memdb.WatchSet, id string) (*structs.Evaluation, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableEvals, "id", id)
	if err != nil {
		return nil, fmt.Errorf("eval lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Evaluation), nil
}

// Evals lists evaluations whose ID starts with prefix, in namespace ns ("" or "*" for all).
func (s *StateStore) Evals(ws memdb.WatchSet, ns, prefix string) ([]*structs.Evaluation, error) {
	it, err := s.db.Txn(false).Get(tableEvals, "id_prefix", prefix)
	if err != nil {
		return nil, fmt.Errorf("list evals: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Evaluation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.Evaluation)
		if strings.HasPrefix(e.ID, prefix) && (ns == "" || ns == "*" || e.Namespace == ns) {
			out = append(out, e)
		}
	}
	return out, nil
}

// EvalsByJob lists a job's evaluations.
func (s *StateStore) EvalsByJob(ws memdb.WatchSet, ns, jobID string) ([]*structs.Evaluation, error) {
	it, err := s.db.Txn(false).Get(tableEvals, "job", ns, jobID)
	if err != nil {
		return nil, fmt.Errorf("evals by job: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Evaluation
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Evaluation))
	}
	return out, nil
}
