package state

import (
	"fmt"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// ReapGC deletes what a garbage collection pass found collectable, in one
// transaction. The leader decided from an earlier snapshot, so each object
// is checked again and kept if it is no longer finished: an allocation or
// evaluation that is not terminal, an active deployment, a node that is no
// longer down, a job changed since the decision. Jobs go with every stored
// version and their periodic launch record. It returns what it deleted.
func (s *StateStore) ReapGC(index uint64, req *structs.GCReapRequest) (structs.GCResult, error) {
	var res structs.GCResult
	txn := s.db.Txn(true)
	defer txn.Abort()
	// Jobs that lose evaluations or allocations and remain: their status
	// is computed again.
	touched := map[structs.NamespacedID]struct{}{}
	batch := newWriteBatch()

	for _, id := range req.Allocs {
		a, err := batch.alloc(txn, id)
		if err != nil {
			return res, err
		}
		if a == nil {
			continue
		}
		if !a.TerminalStatus() || !a.ClientTerminalStatus() {
			continue
		}
		if err := deleteAllocTxn(txn, batch, a); err != nil {
			return res, err
		}
		touched[structs.NamespacedID{ID: a.JobID, Namespace: a.Namespace}] = struct{}{}
		res.Allocs++
	}
	if err := batch.flush(txn); err != nil {
		return res, err
	}
	for _, id := range req.Evals {
		raw, err := txn.First(tableEvals, "id", id)
		if err != nil {
			return res, fmt.Errorf("eval lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		e := raw.(*structs.Evaluation)
		if !e.TerminalStatus() {
			continue
		}
		if err := txn.Delete(tableEvals, e); err != nil {
			return res, fmt.Errorf("delete eval: %w", err)
		}
		touched[structs.NamespacedID{ID: e.JobID, Namespace: e.Namespace}] = struct{}{}
		res.Evals++
	}
	for _, id := range req.Deployments {
		raw, err := txn.First(tableDeployments, "id", id)
		if err != nil {
			return res, fmt.Errorf("deployment lookup: %w", err)
		}
		if raw == nil || raw.(*structs.Deployment).Active() {
			continue
		}
		if err := txn.Delete(tableDeployments, raw); err != nil {
			return res, fmt.Errorf("delete deployment: %w", err)
		}
		res.Deployments++
	}
	for _, j := range req.Jobs {
		raw, err := txn.First(tableJobs, "id", j.Namespace, j.ID)
		if err != nil {
			return res, fmt.Errorf("job lookup: %w", err)
		}
		if raw == nil || raw.(*structs.Job).ModifyIndex != j.ModifyIndex {
			continue
		}
		if err := deleteJobTxn(txn, index, j.Namespace, j.ID); err != nil {
			return res, err
		}
		if _, err := txn.DeleteAll(tablePeriodicLaunch, "id", j.Namespace, j.ID); err != nil {
			return res, fmt.Errorf("delete periodic launch: %w", err)
		}
		delete(touched, structs.NamespacedID{ID: j.ID, Namespace: j.Namespace})
		res.Jobs++
	}
	for _, id := range req.Nodes {
		raw, err := txn.First(tableNodes, "id", id)
		if err != nil {
			return res, fmt.Errorf("node lookup: %w", err)
		}
		if raw == nil || raw.(*structs.Node).Status != structs.NodeStatusDown {
			continue
		}
		if err := txn.Delete(tableNodes, raw); err != nil {
			return res, fmt.Errorf("delete node: %w", err)
		}
		res.Nodes++
	}

	for table, n := range map[string]int{
		tableAllocs: res.Allocs, tableEvals: res.Evals, tableDeployments: res.Deployments,
		tableJobs: res.Jobs, tablePeriodicLaunch: res.Jobs, tableNodes: res.Nodes,
	} {
		if n == 0 {
			continue
		}
		if err := setIndex(txn, table, index); err != nil {
			return res, err
		}
	}
	if err := refreshReapedJobStatus(txn, index, touched); err != nil {
		return res, err
	}
	txn.Commit()
	return res, nil
}

// refreshReapedJobStatus computes again the status of jobs that lost
// finished evaluations or allocations. A job left with none of either was
// dead, and stays so (rather than looking new, that is pending).
func refreshReapedJobStatus(txn *memdb.Txn, index uint64, jobs map[structs.NamespacedID]struct{}) error {
	return refreshJobStatusWith(txn, index, jobs, func(txn *memdb.Txn, job *structs.Job, status string) (string, error) {
		if status != structs.JobStatusPending {
			return status, nil
		}
		empty, err := jobHasNoWork(txn, job)
		if err != nil || !empty {
			return status, err
		}
		return structs.JobStatusDead, nil
	})
}

// jobHasNoWork reports whether the job has no evaluation and no
// allocation left.
func jobHasNoWork(txn *memdb.Txn, job *structs.Job) (bool, error) {
	raw, err := txn.First(tableEvals, "job", job.Namespace, job.ID)
	if err != nil {
		return false, fmt.Errorf("job evals: %w", err)
	}
	if raw != nil {
		return false, nil
	}
	return noMembers(txn, tableJobAllocs, job.Namespace, job.ID)
}
