package state

import (
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// UpsertJob registers a job or a new version of it at index. The stored job
// gets its indexes, version, submit time and status set here; a job whose
// specification did not change keeps its version.
func (s *StateStore) UpsertJob(index uint64, job *structs.Job) error {
	txn := s.db.Txn(true)
	defer txn.Abort()
	if err := upsertJobTxn(txn, index, job); err != nil {
		return err
	}
	txn.Commit()
	return nil
}

func upsertJobTxn(txn *memdb.Txn, index uint64, in *structs.Job) error {
	job := *in
	raw, err := txn.First(tableJobs, "id", job.Namespace, job.ID)
	if err != nil {
		return fmt.Errorf("job lookup: %w", err)
	}
	if raw != nil {
		old := raw.(*structs.Job)
		job.CreateIndex = old.CreateIndex
		job.ModifyIndex = index
		if specChanged(old, &job) {
			job.JobModifyIndex = index
			job.Version = old.Version + 1
			job.Stable = false
		} else {
			job.JobModifyIndex = old.JobModifyIndex
			job.Version = old.Version
			job.Stable = old.Stable
			job.SubmitTime = old.SubmitTime
		}
	} else {
		job.CreateIndex = index
		job.ModifyIndex = index
		job.JobModifyIndex = index
		job.Version = 0
	}
	if job.SubmitTime == 0 {
		job.SubmitTime = time.Now().UnixNano()
	}
	status, err := jobStatus(txn, &job)
	if err != nil {
		return err
	}
	job.Status = status
	if err := txn.Insert(tableJobs, &job); err != nil {
		return fmt.Errorf("insert job: %w", err)
	}
	if err := txn.Insert(tableJobVersions, &job); err != nil {
		return fmt.Errorf("insert job version: %w", err)
	}
	if err := pruneJobVersions(txn, &job); err != nil {
		return err
	}
	return setIndex(txn, tableJobs, index)
}

// maxJobVersions bounds the stored history of each job.
const maxJobVersions = 6

func pruneJobVersions(txn *memdb.Txn, job *structs.Job) error {
	it, err := txn.Get(tableJobVersions, "id_prefix", job.Namespace, job.ID)
	if err != nil {
		return fmt.Errorf("job versions: %w", err)
	}
	var all []*structs.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		v := raw.(*structs.Job)
		if v.ID == job.ID {
			all = append(all, v)
		}
	}
	if len(all) <= maxJobVersions {
		return nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Version > all[j].Version })
	for _, v := range all[maxJobVersions:] {
		if v.Stable {
			continue
		}
		if err := txn.Delete(tableJobVersions, v); err != nil {
			return fmt.Errorf("prune job version: %w", err)
		}
	}
	return nil
}

// specChanged reports whether two jobs differ in what the user submitted.
func specChanged(a, b *structs.Job) bool {
	ac, bc := *a, *b
	for _, j := range []*structs.Job{&ac, &bc} {
		j.Status, j.StatusDescription = "", ""
		j.Stable = false
		j.Version = 0
		j.SubmitTime = 0
		j.CreateIndex, j.ModifyIndex, j.JobModifyIndex = 0, 0, 0
	}
	return !reflect.DeepEqual(&ac, &bc)
}

// deleteJobTxn removes a job and every stored version of it.
func deleteJobTxn(txn *memdb.Txn, index uint64, namespace, id string) error {
	if _, err := txn.DeleteAll(tableJobs, "id", namespace, id); err != nil {
		return fmt.Errorf("delete job: %w", err)
	}
	it, err := txn.Get(tableJobVersions, "id_prefix", namespace, id)
	if err != nil {
		return fmt.Errorf("job versions: %w", err)
	}
	var del []*structs.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*structs.Job); v.ID == id {
			del = append(del, v)
		}
	}
	for _, v := range del {
		if err := txn.Delete(tableJobVersions, v); err != nil {
			return fmt.Errorf("delete job version: %w", err)
		}
	}
	return setIndex(txn, tableJobs, index)
}

// JobByID returns a job or nil.
func (s *StateStore) JobByID(ws memdb.WatchSet, namespace, id string) (*structs.Job, error) {
	txn := s.db.Txn(false)
	ch, raw, err := txn.FirstWatch(tableJobs, "id", namespace, id)
	if err != nil {
		return nil, fmt.Errorf("job lookup: %w", err)
	}
	ws.Add(ch)
	if raw == nil {
		return nil, nil
	}
	return raw.(*structs.Job), nil
}

// JobVersions returns every stored version of a job, newest first.
func (s *StateStore) JobVersions(ws memdb.WatchSet, namespace, id string) ([]*structs.Job, error) {
	txn := s.db.Txn(false)
	it, err := txn.Get(tableJobVersions, "id_prefix", namespace, id)
	if err != nil {
		return nil, fmt.Errorf("job versions: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		if v := raw.(*structs.Job); v.ID == id {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version > out[j].Version })
	return out, nil
}

// JobByVersion returns one version of a job or nil.
func (s *StateStore) JobByVersion(namespace, id string, version uint64) (*structs.Job, error) {
	raw, err := s.db.Txn(false).First(tableJobVersions, "id", namespace, id, version)
	if err != nil || raw == nil {
		return nil, err
	}
	return raw.(*structs.Job), nil
}

// Jobs lists jobs in a namespace ("*" or "" for all) whose ID starts with prefix.
func (s *StateStore) Jobs(ws memdb.WatchSet, namespace, prefix string) ([]*structs.Job, error) {
	txn := s.db.Txn(false)
	var it memdb.ResultIterator
	var err error
	if namespace == "" || namespace == "*" {
		it, err = txn.Get(tableJobs, "id")
	} else {
		it, err = txn.Get(tableJobs, "id_prefix", namespace, prefix)
	}
	if err != nil {
		return nil, fmt.Errorf("list jobs: %w", err)
	}
	ws.Add(it.WatchCh())
	var out []*structs.Job
	for raw := it.Next(); raw != nil; raw = it.Next() {
		j := raw.(*structs.Job)
		if strings.HasPrefix(j.ID, prefix) {
			out = append(out, j)
		}
	}
	return out, nil
}

// JobSummary counts a job's allocations by client status.
func (s *StateStore) JobSummary(ws memdb.WatchSet, job *structs.Job) (*structs.JobSummary, error) {
	allocs, err := s.AllocsByJob(ws, job.Namespace, job.ID)
	if err != nil {
		return nil, err
	}
	sum := &structs.JobSummary{
		JobID:       job.ID,
		Namespace:   job.Namespace,
		Summary:     map[string]structs.TaskGroupSummary{},
		CreateIndex: job.CreateIndex,
		ModifyIndex: job.ModifyIndex,
	}
	for _, tg := range job.TaskGroups {
		sum.Summary[tg.Name] = structs.TaskGroupSummary{}
	}
	if job.IsPeriodic() || job.IsParameterized() {
		children, err := s.ChildrenSummary(ws, job.Namespace, job.ID)
		if err != nil {
			return nil, err
		}
		sum.Children = children
	}
	for _, a := range allocs {
		if a.Job != nil && a.Job.CreateIndex != job.CreateIndex {
			continue // an earlier job of the same ID
		}
		g := sum.Summary[a.TaskGroup]
		switch a.ClientStatus {
		case structs.AllocClientStatusPending:
			if a.DesiredStatus == structs.AllocDesiredStatusRun {
				g.Starting++
			}
		case structs.AllocClientStatusRunning:
			g.Running++
		case structs.AllocClientStatusComplete:
			g.Complete++
		case structs.AllocClientStatusFailed:
			g.Failed++
		case structs.AllocClientStatusLost:
			g.Lost++
		case structs.AllocClientStatusUnknown:
			g.Unknown++
		}
		sum.Summary[a.TaskGroup] = g
	}
	evals, err := s.EvalsByJob(ws, job.Namespace, job.ID)
	if err != nil {
		return nil, err
	}
	// Allocations still waiting for capacity: what the newest evaluation
	// could not place, while a blocked evaluation stands for them.
	var newest *structs.Evaluation
	blocked := false
	for _, e := range evals {
		if e.Status == structs.EvalStatusBlocked {
			blocked = true
		}
		if len(e.QueuedAllocations) > 0 && (newest == nil || e.CreateIndex > newest.CreateIndex) {
			newest = e
		}
	}
	if blocked && newest != nil {
		for tg, n := range newest.QueuedAllocations {
			g := sum.Summary[tg]
			g.Queued += n
			sum.Summary[tg] = g
		}
	}
	return sum, nil
}

// jobStatus computes a job's status from its allocations and evaluations,
// as Nomad does: system, periodic and parameterized jobs run until stopped;
// others run while any allocation does, are pending while any evaluation
// is, and are dead once everything finished.
func jobStatus(txn *memdb.Txn, job *structs.Job) (string, error) {
	if job.Type == structs.JobTypeSystem || job.IsParameterized() || job.IsPeriodic() {
		if job.Stop {
			return structs.JobStatusDead, nil
		}
		return structs.JobStatusRunning, nil
	}
	hasAlloc, running := false, false
	err := eachJobAlloc(txn, job.Namespace, job.ID, func(a *structs.Allocation) bool {
		hasAlloc = true
		running = !a.TerminalStatus()
		return !running
	})
	if err != nil {
		return "", err
	}
	if running {
		return structs.JobStatusRunning, nil
	}
	it, err := txn.Get(tableEvals, "job", job.Namespace, job.ID)
	if err != nil {
		return "", fmt.Errorf("job evals: %w", err)
	}
	hasEval := false
	for raw := it.Next(); raw != nil; raw = it.Next() {
		e := raw.(*structs.Evaluation)
		hasEval = true
		if !e.TerminalStatus() {
			return structs.JobStatusPending, nil
		}
	}
	if hasEval || hasAlloc || job.Stop {
		return structs.JobStatusDead, nil
	}
	return structs.JobStatusPending, nil
}

// refreshJobStatus recomputes the status of the given jobs after a change
// to their allocations or evaluations.
func refreshJobStatus(txn *memdb.Txn, index uint64, jobs map[structs.NamespacedID]struct{}) error {
	return refreshJobStatusWith(txn, index, jobs, nil)
}

// refreshJobStatusWith is refreshJobStatus with adjust, when not nil, given
// the last word on each computed status.
func refreshJobStatusWith(txn *memdb.Txn, index uint64, jobs map[structs.NamespacedID]struct{},
	adjust func(txn *memdb.Txn, job *structs.Job, status string) (string, error)) error {
	changed := false
	for id := range jobs {
		raw, err := txn.First(tableJobs, "id", id.Namespace, id.ID)
		if err != nil {
			return fmt.Errorf("job lookup: %w", err)
		}
		if raw == nil {
			continue
		}
		job := raw.(*structs.Job)
		status, err := jobStatus(txn, job)
		if err != nil {
			return err
		}
		if adjust != nil {
			if status, err = adjust(txn, job, status); err != nil {
				return err
			}
		}
		if status == job.Status {
			continue
		}
		c := *job
		c.Status = status
		c.ModifyIndex = index
		if err := txn.Insert(tableJobs, &c); err != nil {
			return fmt.Errorf("update job status: %w", err)
		}
		changed = true
	}
	if changed {
		return setIndex(txn, tableJobs, index)
	}
	return nil
}
