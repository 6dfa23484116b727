package state

import (
	"fmt"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// RegisterJob upserts a job and its evaluation in one transaction, so a
// job is never visible without the evaluation that schedules it.
func (s *StateStore) RegisterJob(index uint64, job *structs.Job, eval *structs.Evaluation) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if err := upsertJobTxn(txn, index, job); err != nil {
		return err
	}
	if eval != nil {
		raw, err := txn.First(tableJobs, "id", job.Namespace, job.ID)
		if err != nil {
			return fmt.Errorf("job lookup: %w", err)
		}
		e := eval.Copy()
		e.JobModifyIndex = raw.(*structs.Job).JobModifyIndex
		jobs := map[structs.NamespacedID]struct{}{job.NamespacedID(): {}}
		if err := upsertEvalsTxn(txn, index, []*structs.Evaluation{e}, jobs); err != nil {
			return err
		}
		if err := refreshJobStatus(txn, index, jobs); err != nil {
			return err
		}
	}
	txn.Commit()
	return nil
}

// DeregisterJob stops a job (or purges it) and records its evaluation.
func (s *StateStore) DeregisterJob(index uint64, namespace, jobID string, purge bool, eval *structs.Evaluation) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	raw, err := txn.First(tableJobs, "id", namespace, jobID)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("job %q: %w", jobID, ErrNotFound)
	}
	jobs := map[structs.NamespacedID]struct{}{{ID: jobID, Namespace: namespace}: {}}
	if purge {
		if err := deleteJobTxn(txn, index, namespace, jobID); err != nil {
			return err
		}
	} else {
		stopped := *raw.(*structs.Job)
		stopped.Stop = true
		if err := upsertJobTxn(txn, index, &stopped); err != nil {
			return err
		}
	}
	if eval != nil {
		if err := upsertEvalsTxn(txn, index, []*structs.Evaluation{eval}, jobs); err != nil {
			return err
		}
	}
	if err := refreshJobStatus(txn, index, jobs); err != nil {
		return err
	}
	txn.Commit()
	return nil
}
