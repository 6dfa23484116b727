package server

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// JobEndpoint serves job reads and writes.
type JobEndpoint struct {
	srv *Server
}

func namespaceOf(ns string) string {
	if ns == "" {
		return structs.DefaultNamespace
	}
	return ns
}

// Register validates a job and commits it with an evaluation.
func (e *JobEndpoint) Register(args *structs.JobRegisterRequest, reply *structs.JobRegisterResponse) error {
	if done, err := e.srv.forward("Job.Register", false, args, reply); done {
		return err
	}
	if err := e.srv.registrationsAllowed(); err != nil {
		return err
	}
	if args.Job == nil {
		return NewCodedError(400, "missing job")
	}
	job := args.Job
	if job.Namespace == "" {
		job.Namespace = namespaceOf(args.Namespace)
	}
	job.Canonicalize()
	if err := e.srv.validateJob(job); err != nil {
		return NewCodedError(400, err.Error())
	}
	if err := validateLifecycle(job); err != nil {
		return NewCodedError(400, err.Error())
	}
	st := e.srv.State()
	existing, err := st.JobByID(nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	if args.EnforceIndex {
		var cur uint64
		if existing != nil {
			cur = existing.JobModifyIndex
		}
		if cur != args.JobModifyIndex {
			if cur == 0 {
				return NewCodedError(400, fmt.Sprintf("Enforcing job modify index %d: job does not exist", args.JobModifyIndex))
			}
			return NewCodedError(400, fmt.Sprintf("Enforcing job modify index %d: job exists with conflicting job modify index: %d", args.JobModifyIndex, cur))
		}
	}
	job.Stop = false
	job.Status = ""
	var eval *structs.Evaluation
	if !job.IsPeriodic() && !job.IsParameterized() {
		eval = childEval(job, structs.EvalTriggerJobRegister)
	}
	if err := e.srv.registerVersion(job, eval, reply); err != nil {
		return err
	}
	reply.Warnings = strings.Join(jobvalidate.Unsupported(job), "\n")
	return nil
}

// Deregister stops a job, or purges it.
func (e *JobEndpoint) Deregister(args *structs.JobDeregisterRequest, reply *structs.JobDeregisterResponse) error {
	if done, err := e.srv.forward("Job.Deregister", false, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	job, err := e.srv.State().JobByID(nil, ns, args.JobID)
	if err != nil {
		return err
	}
	if job == nil {
		return NewCodedError(404, "job not found")
	}
	now := time.Now().UnixNano()
	eval := &structs.Evaluation{
		ID:          structs.GenerateUUID(),
		Namespace:   ns,
		Priority:    job.Priority,
		Type:        job.Type,
		TriggeredBy: structs.EvalTriggerJobDeregister,
		JobID:       job.ID,
		Status:      structs.EvalStatusPending,
		CreateTime:  now,
		ModifyTime:  now,
	}
	if job.IsPeriodic() || job.IsParameterized() {
		eval = nil
	}
	index, err := e.srv.raftApply(structs.JobDeregisterRequestType, &structs.JobDeregisterRequest{
		JobID: args.JobID, Purge: args.Purge, Eval: eval, WriteRequest: structs.WriteRequest{Namespace: ns},
	})
	if err != nil {
		return err
	}
	e.srv.blockedEvals.Untrack(job.NamespacedID())
	if eval != nil {
		reply.EvalID = eval.ID
		reply.EvalCreateIndex = index
	}
	reply.JobModifyIndex = index
	reply.Index = index
	return nil
}

// GetJob reads one job.
func (e *JobEndpoint) GetJob(args *structs.JobSpecificRequest, reply *structs.SingleJobResponse) error {
	if done, err := e.srv.forward("Job.GetJob", args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		job, err := st.JobByID(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		reply.Job = job
		if job != nil {
			return job.ModifyIndex, nil
		}
		return st.MaxIndex(ws, "jobs"), nil
	})
}

// GetJobVersions lists a job's versions, newest first.
func (e *JobEndpoint) GetJobVersions(args *structs.JobSpecificRequest, reply *structs.JobVersionsResponse) error {
	if done, err := e.srv.forward("Job.GetJobVersions", args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		v, err := st.JobVersions(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		reply.Versions = v
		return st.MaxIndex(ws, "jobs"), nil
	})
}

// List lists jobs.
func (e *JobEndpoint) List(args *structs.JobListRequest, reply *structs.JobListResponse) error {
	if done, err := e.srv.forward("Job.List", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		jobs, err := st.Jobs(ws, args.Namespace, args.Prefix)
		if err != nil {
			return 0, err
		}
		reply.Jobs = make([]*structs.JobListStub, 0, len(jobs))
		for _, j := range jobs {
			sum, err := st.JobSummary(ws, j)
			if err != nil {
				return 0, err
			}
			reply.Jobs = append(reply.Jobs, j.Stub(sum))
		}
		return st.MaxIndex(ws, "jobs", "allocs"), nil
	})
}

// Allocations lists a job's allocations.
func (e *JobEndpoint) Allocations(args *structs.JobSpecificRequest, reply *structs.JobAllocationsResponse) error {
	if done, err := e.srv.forward("Job.Allocations", args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.AllocsByJob(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		reply.Allocations = stubs(allocs)
		return maxModify(allocs, func() uint64 { return st.MaxIndex(ws, "allocs") }), nil
	})
}

// Evaluations lists a job's evaluations.
func (e *JobEndpoint) Evaluations(args *structs.JobSpecificRequest, reply *structs.JobEvaluationsResponse) error {
	if done, err := e.srv.forward("Job.Evaluations", args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		evals, err := st.EvalsByJob(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		sort.Slice(evals, func(i, j int) bool { return evals[i].CreateIndex > evals[j].CreateIndex })
		reply.Evaluations = evals
		return st.MaxIndex(ws, "evals"), nil
	})
}

// Summary reads a job's summary.
func (e *JobEndpoint) Summary(args *structs.JobSpecificRequest, reply *structs.JobSummaryResponse) error {
	if done, err := e.srv.forward("Job.Summary", args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		job, err := st.JobByID(ws, ns, args.JobID)
		if err != nil || job == nil {
			reply.JobSummary = nil
			return st.MaxIndex(ws, "jobs"), err
		}
		sum, err := st.JobSummary(ws, job)
		if err != nil {
			return 0, err
		}
		reply.JobSummary = sum
		return st.MaxIndex(ws, "jobs", "allocs"), nil
	})
}

func stubs(allocs []*structs.Allocation) []*structs.AllocListStub {
	out := make([]*structs.AllocListStub, 0, len(allocs))
	for _, a := range allocs {
		out = append(out, a.Stub())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreateIndex > out[j].CreateIndex })
	return out
}

// maxModify is the highest ModifyIndex of allocs. Only without any does it
// call fallback, which may watch the whole allocs table: a query that has
// allocations to answer with watches just those, and is not run again for
// every allocation written elsewhere.
func maxModify(allocs []*structs.Allocation, fallback func() uint64) uint64 {
	var max uint64
	for _, a := range allocs {
		if a.ModifyIndex > max {
			max = a.ModifyIndex
		}
	}
	if max == 0 {
		return fallback()
	}
	return max
}
