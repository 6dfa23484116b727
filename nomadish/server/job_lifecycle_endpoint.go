package server

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// checkDispatch validates a dispatch against its parameterized parent, as
// Nomad does: payload rule and size, required and permitted meta keys.
func checkDispatch(parent *structs.Job, payload []byte, meta map[string]string) error {
	pj := parent.ParameterizedJob
	switch {
	case len(payload) > structs.DispatchPayloadSizeLimit:
		return fmt.Errorf("Payload exceeds maximum size; %d > %d", len(payload), structs.DispatchPayloadSizeLimit)
	case pj.Payload == "forbidden" && len(payload) > 0:
		return fmt.Errorf("Payload is not allowed")
	case pj.Payload == "required" && len(payload) == 0:
		return fmt.Errorf("Payload is required")
	}
	allowed := map[string]bool{}
	for _, k := range pj.MetaRequired {
		allowed[k] = true
	}
	for _, k := range pj.MetaOptional {
		allowed[k] = true
	}
	var unpermitted []string
	for k := range meta {
		if !allowed[k] {
			unpermitted = append(unpermitted, k)
		}
	}
	if len(unpermitted) > 0 {
		sort.Strings(unpermitted)
		return fmt.Errorf("Dispatch argument contained unpermitted metadata keys: %s", strings.Join(unpermitted, ", "))
	}
	var missing []string
	for _, k := range pj.MetaRequired {
		if _, ok := meta[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("Dispatch did not provide required meta keys: %s", strings.Join(missing, ", "))
	}
	return nil
}

// dispatchChildID names a dispatched child:
// <parent>/dispatch-[<prefix>-]<unix>-<rand>.
func dispatchChildID(parentID, prefix string, unix int64) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	if prefix != "" {
		prefix += "-"
	}
	return parentID + structs.DispatchLaunchSuffix + prefix + strconv.FormatInt(unix, 10) + "-" + hex.EncodeToString(b[:])
}

// Dispatch creates a child of a parameterized job with a payload and meta.
func (e *JobEndpoint) Dispatch(args *structs.JobDispatchRequest, reply *structs.JobDispatchResponse) error {
	if done, err := e.srv.forward("Job.Dispatch", false, args, reply); done {
		return err
	}
	if err := e.srv.registrationsAllowed(); err != nil {
		return err
	}
	ns := namespaceOf(args.Namespace)
	st := e.srv.State()
	parent, err := st.JobByID(nil, ns, args.JobID)
	if err != nil {
		return err
	}
	if parent == nil {
		return NewCodedError(404, fmt.Sprintf("parameterized job %q not found", args.JobID))
	}
	if !parent.IsParameterized() {
		return NewCodedError(400, fmt.Sprintf("Specified job %q is not a parameterized job", args.JobID))
	}
	if parent.Stop {
		return NewCodedError(400, fmt.Sprintf("Specified job %q is stopped", args.JobID))
	}
	if err := checkDispatch(parent, args.Payload, args.Meta); err != nil {
		return NewCodedError(400, err.Error())
	}
	if args.Priority != 0 && (args.Priority < structs.MinJobPriority || args.Priority > structs.MaxJobPriority) {
		return NewCodedError(400, fmt.Sprintf("job priority must be between [%d, %d]", structs.MinJobPriority, structs.MaxJobPriority))
	}
	if args.IdempotencyToken != "" {
		children, err := st.ChildJobs(nil, ns, parent.ID)
		if err != nil {
			return err
		}
		for _, c := range children {
			if c.DispatchIdempotencyToken == args.IdempotencyToken && c.Status != structs.JobStatusDead {
				reply.DispatchedJobID = c.ID
				reply.JobCreateIndex = c.CreateIndex
				reply.Index = c.ModifyIndex
				return nil
			}
		}
	}
	child := deriveChild(parent, dispatchChildID(parent.ID, args.IdPrefixTemplate, timeNow().Unix()))
	child.Dispatched = true
	child.SubmitTime = timeNow().UnixNano()
	if args.Priority != 0 {
		child.Priority = args.Priority
	}
	child.Payload = args.Payload
	child.DispatchIdempotencyToken = args.IdempotencyToken
	child.Meta = make(map[string]string, len(parent.Meta)+len(args.Meta))
	for k, v := range parent.Meta {
		child.Meta[k] = v
	}
	for k, v := range args.Meta {
		child.Meta[k] = v
	}
	eval := childEval(child, structs.EvalTriggerJobRegister)
	index, err := e.srv.raftApply(structs.JobRegisterRequestType, &structs.JobRegisterRequest{
		Job: child, Eval: eval, WriteRequest: structs.WriteRequest{Namespace: ns},
	})
	if err != nil {
		return err
	}
	reply.DispatchedJobID = child.ID
	reply.EvalID = eval.ID
	reply.EvalCreateIndex = index
	reply.JobCreateIndex = index
	reply.Index = index
	return nil
}

// checkScale validates a scaling request against the job and returns the
// group to scale.
func checkScale(job *structs.Job, args *structs.JobScaleRequest) (*structs.TaskGroup, error) {
	name := args.Target["Group"]
	if name == "" {
		return nil, fmt.Errorf("missing task group name for scaling action")
	}
	if job.Type == structs.JobTypeSystem || job.Type == structs.JobTypeSysBatch {
		return nil, fmt.Errorf("cannot scale jobs of type %q", job.Type)
	}
	tg := job.LookupTaskGroup(name)
	if tg == nil {
		return nil, fmt.Errorf("task group %q specified for scaling does not exist in job", name)
	}
	if args.Count == nil {
		return tg, nil
	}
	n := *args.Count
	if n < 0 {
		return nil, fmt.Errorf("scaling action count can't be negative")
	}
	if s := tg.Scaling; s != nil {
		if n < s.Min {
			return nil, fmt.Errorf("group count was less than scaling policy minimum: %d < %d", n, s.Min)
		}
		if s.Max < n {
			return nil, fmt.Errorf("group count was greater than scaling policy maximum: %d > %d", n, s.Max)
		}
	}
	return tg, nil
}

// Scale changes the count of one of a job's groups, making a new version.
func (e *JobEndpoint) Scale(args *structs.JobScaleRequest, reply *structs.JobRegisterResponse) error {
	if done, err := e.srv.forward("Job.Scale", false, args, reply); done {
		return err
	}
	if err := e.srv.registrationsAllowed(); err != nil {
		return err
	}
	ns := namespaceOf(args.Namespace)
	job, err := e.srv.State().JobByID(nil, ns, args.JobID)
	if err != nil {
		return err
	}
	if job == nil {
		return NewCodedError(404, fmt.Sprintf("job %q not found", args.JobID))
	}
	if args.EnforceIndex && args.JobModifyIndex != job.JobModifyIndex {
		return NewCodedError(400, fmt.Sprintf("%s %d: job exists with conflicting job modify index: %d",
			"Enforcing job modify index", args.JobModifyIndex, job.JobModifyIndex))
	}
	tg, err := checkScale(job, args)
	if err != nil {
		return NewCodedError(400, err.Error())
	}
	if args.Count == nil {
		reply.JobModifyIndex = job.JobModifyIndex
		reply.Index = job.ModifyIndex
		return nil
	}
	scaled := *job
	scaled.TaskGroups = make([]*structs.TaskGroup, len(job.TaskGroups))
	for i, g := range job.TaskGroups {
		if g == tg {
			c := *g
			c.Count = int(*args.Count)
			g = &c
		}
		scaled.TaskGroups[i] = g
	}
	var eval *structs.Evaluation
	if !scaled.Stop && !scaled.IsPeriodic() && !scaled.IsParameterized() {
		eval = childEval(&scaled, structs.EvalTriggerScaling)
	}
	return e.srv.registerVersion(&scaled, eval, reply)
}

// registerVersion commits a job and its evaluation and fills the reply.
func (s *Server) registerVersion(job *structs.Job, eval *structs.Evaluation, reply *structs.JobRegisterResponse) error {
	index, err := s.commitJob(job, eval)
	if err != nil {
		return err
	}
	stored, err := s.State().JobByID(nil, job.Namespace, job.ID)
	if err != nil {
		return err
	}
	if stored != nil {
		reply.JobModifyIndex = stored.JobModifyIndex
	}
	if eval != nil {
		reply.EvalID = eval.ID
		reply.EvalCreateIndex = index
	}
	reply.Index = index
	return nil
}

// Revert registers an earlier version of a job as its newest version.
func (e *JobEndpoint) Revert(args *structs.JobRevertRequest, reply *structs.JobRegisterResponse) error {
	if done, err := e.srv.forward("Job.Revert", false, args, reply); done {
		return err
	}
	if err := e.srv.registrationsAllowed(); err != nil {
		return err
	}
	ns := namespaceOf(args.Namespace)
	st := e.srv.State()
	cur, err := st.JobByID(nil, ns, args.JobID)
	if err != nil {
		return err
	}
	if cur == nil {
		return NewCodedError(404, fmt.Sprintf("job %q not found", args.JobID))
	}
	if args.EnforcePriorVersion != nil && *args.EnforcePriorVersion != cur.Version {
		return NewCodedError(400, fmt.Sprintf("Current job has version %d; enforcing version %d", cur.Version, *args.EnforcePriorVersion))
	}
	if args.JobVersion == cur.Version {
		return NewCodedError(400, fmt.Sprintf("can't revert to current version %d", cur.Version))
	}
	old, err := st.JobByVersion(ns, args.JobID, args.JobVersion)
	if err != nil {
		return err
	}
	if old == nil {
		return NewCodedError(404, fmt.Sprintf("job %q at version %d not found", args.JobID, args.JobVersion))
	}
	rev := *old
	rev.Stop = false
	rev.Status, rev.StatusDescription = "", ""
	var eval *structs.Evaluation
	if !rev.IsPeriodic() && !rev.IsParameterized() {
		eval = childEval(&rev, structs.EvalTriggerJobRegister)
	}
	return e.srv.registerVersion(&rev, eval, reply)
}

// ScaleStatus reads a job's desired and actual counts per group.
func (e *JobEndpoint) ScaleStatus(args *structs.JobSpecificRequest, reply *structs.JobScaleStatusResponse) error {
	if done, err := e.srv.forward("Job.ScaleStatus", args.AllowStale, args, reply); done {
		return err
	}
	ns := namespaceOf(args.Namespace)
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		job, err := st.JobByID(ws, ns, args.JobID)
		if err != nil {
			return 0, err
		}
		reply.JobScaleStatus = nil
		if job == nil {
			return st.MaxIndex(ws, "jobs"), nil
		}
		allocs, err := st.AllocsByJob(ws, ns, job.ID)
		if err != nil {
			return 0, err
		}
		reply.JobScaleStatus = scaleStatus(job, allocs)
		return st.MaxIndex(ws, "jobs", "allocs"), nil
	})
}

func scaleStatus(job *structs.Job, allocs []*structs.Allocation) *structs.JobScaleStatus {
	out := &structs.JobScaleStatus{
		JobID: job.ID, Namespace: job.Namespace, JobCreateIndex: job.CreateIndex,
		JobModifyIndex: job.JobModifyIndex, JobStopped: job.Stop,
		TaskGroups: map[string]*structs.TaskGroupScaleStatus{},
	}
	for _, tg := range job.TaskGroups {
		out.TaskGroups[tg.Name] = &structs.TaskGroupScaleStatus{Desired: tg.Count, Events: []interface{}{}}
	}
	for _, a := range allocs {
		g := out.TaskGroups[a.TaskGroup]
		if g == nil || a.Job == nil || a.Job.CreateIndex != job.CreateIndex || a.TerminalStatus() {
			continue
		}
		g.Placed++
		if a.ClientStatus == structs.AllocClientStatusRunning {
			g.Running++
		}
		if ds := a.DeploymentStatus; ds != nil && ds.Healthy != nil {
			if *ds.Healthy {
				g.Healthy++
			} else {
				g.Unhealthy++
			}
		}
	}
	return out
}
