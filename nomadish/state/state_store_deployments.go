package state

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// tableDeployments holds deployments.
const tableDeployments = "deployment"

// recDeployment is the snapshot record kind of a deployment.
const recDeployment byte = 81

func init() {
	registerTable(&memdb.TableSchema{
		Name: tableDeployments,
		Indexes: map[string]*memdb.IndexSchema{
			"id": {Name: "id", Unique: true, Indexer: &memdb.StringFieldIndex{Field: "ID"}},
			"job": {Name: "job", Indexer: &memdb.CompoundIndex{Indexes: []memdb.Indexer{
				&memdb.StringFieldIndex{Field: "Namespace"},
				&memdb.StringFieldIndex{Field: "JobID"},
			}}},
		},
	})
	registerSnapshotTable(tableDeployments, recDeployment, func() interface{} { return &structs.Deployment{} })
}

// ApplyJobRegisterDeployment registers a job and its evaluation and, when
// the job's specification changed, its new deployment, cancelling the
// job's earlier active deployments. One transaction.
func (s *StateStore) ApplyJobRegisterDeployment(index uint64, req *structs.JobRegisterDeploymentRequest) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	job := req.Job
	if err := upsertJobTxn(txn, index, job); err != nil {
		return err
	}
	raw, err := txn.First(tableJobs, "id", job.Namespace, job.ID)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	stored := raw.(*structs.Job)
	jobs := map[structs.NamespacedID]struct{}{job.NamespacedID(): {}}
	if req.Eval != nil {
		e := req.Eval.Copy()
		e.JobModifyIndex = stored.JobModifyIndex
		if err := upsertEvalsTxn(txn, index, []*structs.Evaluation{e}, jobs); err != nil {
			return err
		}
	}
	if d := req.Deployment; d != nil && stored.JobModifyIndex == index {
		if err := cancelDeploymentsTxn(txn, index, job.Namespace, job.ID, structs.DeploymentDescNewerJob); err != nil {
			return err
		}
		c := d.Copy()
		c.JobVersion, c.JobModifyIndex, c.JobSpecModifyIndex = stored.Version, stored.JobModifyIndex, stored.JobModifyIndex
		c.JobCreateIndex = stored.CreateIndex
		c.CreateIndex, c.ModifyIndex = index, index
		if err := txn.Insert(tableDeployments, c); err != nil {
			return fmt.Errorf("insert deployment: %w", err)
		}
		if err := setIndex(txn, tableDeployments, index); err != nil {
			return err
		}
	}
	if err := refreshJobStatus(txn, index, jobs); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

func cancelDeploymentsTxn(txn *memdb.Txn, index uint64, namespace, jobID, desc string) error {
	it, err := txn.Get(tableDeployments, "job", namespace, jobID)
	if err != nil {
		return fmt.Errorf("job deployments: %w", err)
	}
	var cancel []*structs.Deployment
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if d := raw.(*structs.Deployment); d.Active() {
			cancel = append(cancel, d)
		}
	}
	for _, d := range cancel {
		c := d.Copy()
		c.Status, c.StatusDescription, c.ModifyIndex = structs.DeploymentStatusCancelled, desc, index
		if err := txn.Insert(tableDeployments, c); err != nil {
			return fmt.Errorf("cancel deployment: %w", err)
		}
	}
	if len(cancel) > 0 {
		return setIndex(txn, tableDeployments, index)
	}
	return nil
}

// ApplyDeploymentUpdate stores a deployment change with its evaluation and
// marks a job version stable, in one transaction.
func (s *StateStore) ApplyDeploymentUpdate(index uint64, req *structs.DeploymentUpdateRequest) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	d := req.Deployment
	raw, err := txn.First(tableDeployments, "id", d.ID)
	if err != nil {
		return fmt.Errorf("deployment lookup: %w", err)
	}
	if raw == nil {
		return fmt.Errorf("deployment %q: %w", d.ID, ErrNotFound)
	}
	c := d.Copy()
	c.CreateIndex, c.ModifyIndex = raw.(*structs.Deployment).CreateIndex, index
	if err := txn.Insert(tableDeployments, c); err != nil {
		return fmt.Errorf("update deployment: %w", err)
	}
	if err := setIndex(txn, tableDeployments, index); err != nil {
		return err
	}
	if req.Eval != nil {
		jobs := map[structs.NamespacedID]struct{}{{ID: req.Eval.JobID, Namespace: req.Eval.Namespace}: {}}
		if err := upsertEvalsTxn(txn, index, []*structs.Evaluation{req.Eval}, jobs); err != nil {
			return err
		}
	}
	if v := req.StableVersion; v != nil {
		if err := markStableTxn(txn, index, d.Namespace, d.JobID, *v); err != nil {
			return err
		}
	}
	txn.Commit()
	return nil
}

// markStableTxn sets Stable on a job version, and on the job when that
// version is the current one.
func markStableTxn(txn *memdb.Txn, index uint64, namespace, jobID string, version uint64) error {
	raw, err := txn.First(tableJobVersions, "id", namespace, jobID, version)
	if err != nil {
		return fmt.Errorf("job version lookup: %w", err)
	}
	if raw != nil {
		v := *raw.(*structs.Job)
		v.Stable = true
		if err := txn.Insert(tableJobVersions, &v); err != nil {
			return fmt.Errorf("mark job version stable: %w", err)
		}
	}
	raw, err = txn.First(tableJobs, "id", namespace, jobID)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if raw != nil && raw.(*structs.Job).Version == version {
		j := *raw.(*structs.Job)
		j.Stable = true
		j.ModifyIndex = index
		if err := txn.Insert(tableJobs, &j); err != nil {
			return fmt.Errorf("mark job stable: %w", err)
		}
		return setIndex(txn, tableJobs, index)
	}
	return nil
}

// DeploymentByID returns a deployment or nil.
func (s *StateStore) DeploymentByID(ws memdb.WatchSet, id string) (*structs.Deployment, error) {
	ch, raw, err := s.db.Txn(false).FirstWatch(tableDeployments, "id", id)
	if err != nil {
		return nil, fmt.Errorf("deployment lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Deployment), nil
}

// Deployments lists deployments in a namespace ("*" or "" for all) whose
// ID starts with prefix, newest first.
func (s *StateStore) Deployments(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Deployment, error) {
	it, err := s.db.Txn(false).Get(tableDeployments, "id")
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Deployment
	for raw := it.Next(); raw != nil; raw = it.Next() {
		d := raw.(*structs.Deployment)
		if (namespace == "" || namespace == "*" || d.Namespace == namespace) && strings.HasPrefix(d.ID, prefix) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreateIndex > out[j].CreateIndex })
	return out, nil
}

// DeploymentsByJob lists a job's deployments, newest first.
func (s *StateStore) DeploymentsByJob(ws memdb.WatchSet, namespace, jobID string) ([]*structs.Deployment, error) {
	it, err := s.db.Txn(false).Get(tableDeployments, "job", namespace, jobID)
	if err != nil {
		return nil, fmt.Errorf("job deployments: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Deployment
	for raw := it.Next(); raw != nil; raw = it.Next() {
		out = append(out, raw.(*structs.Deployment))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreateIndex > out[j].CreateIndex })
	return out, nil
}

// LatestDeploymentByJobID returns a job's newest deployment or nil.
func (s *StateStore) LatestDeploymentByJobID(ws memdb.WatchSet, namespace, jobID string) (*structs.Deployment, error) {
	all, err := s.DeploymentsByJob(ws, namespace, jobID)
	if err != nil || len(all) == 0 {
		return nil, err
	}
	return all[0], nil
}
