package api

import (
	"net/url"

	"github.com/nomadish/nomadish/nomadish/structs"
)

type (
	// JobDiff is the difference between two versions of a job.
	JobDiff = structs.JobDiff
	// JobScaleStatusResponse is a job's counts per group.
	JobScaleStatusResponse = structs.JobScaleStatus
)

// periodicForceResponse answers PUT /v1/job/:id/periodic/force.
type periodicForceResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	Index           uint64
}

// PeriodicForce launches a periodic job now and returns the child's
// evaluation ID.
func (j *Jobs) PeriodicForce(jobID string, q *WriteOptions) (string, *WriteMeta, error) {
	var resp periodicForceResponse
	wm, err := j.client.put("/v1/job/"+url.PathEscape(jobID)+"/periodic/force", nil, &resp, q)
	if err != nil {
		return "", nil, err
	}
	return resp.EvalID, wm, nil
}

// JobDispatchRequest is the body of PUT /v1/job/:id/dispatch.
type JobDispatchRequest struct {
	JobID            string
	Payload          []byte
	Meta             map[string]string
	IdempotencyToken string `json:",omitempty"`
	IdPrefixTemplate string `json:",omitempty"`
	Priority         int    `json:",omitempty"`
}

// JobDispatchResponse answers a dispatch.
type JobDispatchResponse struct {
	DispatchedJobID string
	EvalID          string
	EvalCreateIndex uint64
	JobCreateIndex  uint64
	Index           uint64
}

// Dispatch creates an instance of a parameterized job.
func (j *Jobs) Dispatch(jobID string, meta map[string]string, payload []byte, idempotencyToken string, q *WriteOptions) (*JobDispatchResponse, *WriteMeta, error) {
	return j.DispatchOpts(&JobDispatchRequest{JobID: jobID, Meta: meta, Payload: payload, IdempotencyToken: idempotencyToken}, q)
}

// DispatchOpts dispatches with every option of the request.
func (j *Jobs) DispatchOpts(req *JobDispatchRequest, q *WriteOptions) (*JobDispatchResponse, *WriteMeta, error) {
	jobID := req.JobID
	var resp JobDispatchResponse
	wm, err := j.client.put("/v1/job/"+url.PathEscape(jobID)+"/dispatch", req, &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}

// ScalingRequest is the body of PUT /v1/job/:id/scale.
type ScalingRequest struct {
	Count          *int64
	Target         map[string]string
	Message        string
	Error          bool
	Meta           map[string]interface{}
	PolicyOverride bool
	JobModifyIndex uint64 `json:",omitempty"`
}

// Scale sets the count of a group; a nil count records an event only.
func (j *Jobs) Scale(jobID, group string, count *int, message string, isError bool, meta map[string]interface{}, q *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	var c *int64
	if count != nil {
		n := int64(*count)
		c = &n
	}
	return j.ScaleWithRequest(jobID, &ScalingRequest{
		Count: c, Target: map[string]string{"Job": jobID, "Group": group},
		Message: message, Error: isError, Meta: meta,
	}, q)
}

// ScaleWithRequest sends a full scaling request.
func (j *Jobs) ScaleWithRequest(jobID string, req *ScalingRequest, q *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	var resp JobRegisterResponse
	wm, err := j.client.put("/v1/job/"+url.PathEscape(jobID)+"/scale", req, &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}

// ScaleStatus reads a job's desired and actual counts per group.
func (j *Jobs) ScaleStatus(jobID string, q *QueryOptions) (*JobScaleStatusResponse, *QueryMeta, error) {
	var resp JobScaleStatusResponse
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID)+"/scale", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, qm, nil
}

// JobRevertRequest is the body of PUT /v1/job/:id/revert.
type JobRevertRequest struct {
	JobID               string
	JobVersion          uint64
	EnforcePriorVersion *uint64 `json:",omitempty"`
}

// Revert registers an earlier version of the job again.
func (j *Jobs) Revert(jobID string, version uint64, enforcePriorVersion *uint64, q *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	req := &JobRevertRequest{JobID: jobID, JobVersion: version, EnforcePriorVersion: enforcePriorVersion}
	var resp JobRegisterResponse
	wm, err := j.client.put("/v1/job/"+url.PathEscape(jobID)+"/revert", req, &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}

// jobVersionsResponse answers GET /v1/job/:id/versions.
type jobVersionsResponse struct {
	Versions []*Job
	Diffs    []*JobDiff
}

// Versions lists the job's versions, newest first, and with diffs the
// difference of each version from the one before it.
func (j *Jobs) Versions(jobID string, diffs bool, q *QueryOptions) ([]*Job, []*JobDiff, *QueryMeta, error) {
	var resp jobVersionsResponse
	if diffs {
		q = withParam(q, "diffs", "true")
	}
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID)+"/versions", &resp, q)
	if err != nil {
		return nil, nil, nil, err
	}
	return resp.Versions, resp.Diffs, qm, nil
}

// JobPlanResponse is what registering a job would do.
type JobPlanResponse = structs.JobPlanResponse

// jobPlanRequest is the body of PUT /v1/job/:id/plan.
type jobPlanRequest struct {
	Job            *Job
	Diff           bool
	PolicyOverride bool
}

// Plan asks the servers what registering the job would do; with diff the
// answer carries the difference from the registered version.
func (j *Jobs) Plan(job *Job, diff bool, q *WriteOptions) (*JobPlanResponse, *WriteMeta, error) {
	return j.PlanOpts(job, diff, false, q)
}

// PlanOpts is Plan with the policy override option.
func (j *Jobs) PlanOpts(job *Job, diff, policyOverride bool, q *WriteOptions) (*JobPlanResponse, *WriteMeta, error) {
	var resp JobPlanResponse
	wm, err := j.client.put("/v1/job/"+url.PathEscape(job.ID)+"/plan", &jobPlanRequest{Job: job, Diff: diff, PolicyOverride: policyOverride}, &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, wm, nil
}
