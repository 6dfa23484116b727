package api

import (
	"net/url"
	"strconv"
)

// RegisterEnforceIndexErrPrefix starts the error the servers return when a
// register with EnforceIndex loses the race.
const RegisterEnforceIndexErrPrefix = "Enforcing job modify index"

// Jobs is the /v1/jobs and /v1/job endpoint group.
type Jobs struct {
	client *Client
}

// Jobs returns the job endpoints.
func (c *Client) Jobs() *Jobs { return &Jobs{client: c} }

// JobRegisterRequest is the body of PUT /v1/jobs.
type JobRegisterRequest struct {
	Job *Job
	// EnforceIndex makes the register conditional on JobModifyIndex: zero
	// means "only if the job does not exist yet".
	EnforceIndex   bool   `json:",omitempty"`
	JobModifyIndex uint64 `json:",omitempty"`
	// PolicyOverride and PreserveCounts are Nomad's register options.
	PolicyOverride bool `json:",omitempty"`
	PreserveCounts bool `json:",omitempty"`
	// EvalPriority overrides the priority of the created evaluation.
	EvalPriority int `json:",omitempty"`
}

// JobRegisterResponse answers a register.
type JobRegisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	// Warnings are non-fatal problems with the job, one a line.
	Warnings string
	// Index is the Raft index of the write.
	Index uint64
}

// JobDeregisterResponse answers a deregister.
type JobDeregisterResponse struct {
	EvalID          string
	EvalCreateIndex uint64
	JobModifyIndex  uint64
	Index           uint64
}

// RegisterOptions are the options of RegisterOpts.
type RegisterOptions struct {
	EnforceIndex   bool
	ModifyIndex    uint64
	PolicyOverride bool
	PreserveCounts bool
	EvalPriority   int
}

// Register registers or updates a job.
func (j *Jobs) Register(job *Job, q *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	return j.RegisterOpts(job, nil, q)
}

// EnforceRegister registers the job only if its modify index on the servers
// is modifyIndex (zero: only if it does not exist).
func (j *Jobs) EnforceRegister(job *Job, modifyIndex uint64, q *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	return j.RegisterOpts(job, &RegisterOptions{EnforceIndex: true, ModifyIndex: modifyIndex}, q)
}

// RegisterOpts registers a job with options.
func (j *Jobs) RegisterOpts(job *Job, opts *RegisterOptions, q *WriteOptions) (*JobRegisterResponse, *WriteMeta, error) {
	req := &JobRegisterRequest{Job: job}
	if opts != nil {
		req.EnforceIndex = opts.EnforceIndex
		req.JobModifyIndex = opts.ModifyIndex
		req.PolicyOverride = opts.PolicyOverride
		req.PreserveCounts = opts.PreserveCounts
		req.EvalPriority = opts.EvalPriority
	}
	var resp JobRegisterResponse
	wm, err := j.client.put("/v1/jobs", req, &resp, q)
	if err != nil {
		return nil, nil, err
	}
	if wm.LastIndex == 0 {
		wm.LastIndex = resp.Index
	}
	return &resp, wm, nil
}

// List lists the jobs; q.Prefix filters by ID prefix.
func (j *Jobs) List(q *QueryOptions) ([]*JobListStub, *QueryMeta, error) {
	var resp []*JobListStub
	qm, err := j.client.query("/v1/jobs", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// PrefixList lists the jobs whose ID starts with prefix.
func (j *Jobs) PrefixList(prefix string) ([]*JobListStub, *QueryMeta, error) {
	return j.List(&QueryOptions{Prefix: prefix})
}

// Info reads one job.
func (j *Jobs) Info(jobID string, q *QueryOptions) (*Job, *QueryMeta, error) {
	var resp Job
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID), &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, qm, nil
}

// Allocations lists the job's allocations. With allAllocs, allocations of
// an earlier job of the same ID are included.
func (j *Jobs) Allocations(jobID string, allAllocs bool, q *QueryOptions) ([]*AllocationListStub, *QueryMeta, error) {
	q = withParam(q, "all", strconv.FormatBool(allAllocs))
	var resp []*AllocationListStub
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID)+"/allocations", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// Evaluations lists the job's evaluations.
func (j *Jobs) Evaluations(jobID string, q *QueryOptions) ([]*Evaluation, *QueryMeta, error) {
	var resp []*Evaluation
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID)+"/evaluations", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// Summary reads the job's allocation counts per group.
func (j *Jobs) Summary(jobID string, q *QueryOptions) (*JobSummary, *QueryMeta, error) {
	var resp JobSummary
	qm, err := j.client.query("/v1/job/"+url.PathEscape(jobID)+"/summary", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return &resp, qm, nil
}

// Deregister stops a job; purge also removes it. It returns the ID of the
// evaluation that stops the job's allocations.
func (j *Jobs) Deregister(jobID string, purge bool, q *WriteOptions) (string, *WriteMeta, error) {
	resp, wm, err := j.DeregisterResp(jobID, purge, q)
	if err != nil {
		return "", nil, err
	}
	return resp.EvalID, wm, nil
}

// DeregisterResp is Deregister returning the whole answer.
func (j *Jobs) DeregisterResp(jobID string, purge bool, q *WriteOptions) (*JobDeregisterResponse, *WriteMeta, error) {
	path := "/v1/job/" + url.PathEscape(jobID)
	if purge {
		path += "?purge=true"
	}
	var resp JobDeregisterResponse
	wm, err := j.client.delete(path, &resp, q)
	if err != nil {
		return nil, nil, err
	}
	if wm.LastIndex == 0 {
		wm.LastIndex = resp.Index
	}
	return &resp, wm, nil
}

// withParam returns a copy of q with one more query parameter.
func withParam(q *QueryOptions, key, value string) *QueryOptions {
	c := &QueryOptions{}
	if q != nil {
		*c = *q
	}
	params := make(map[string]string, len(c.Params)+1)
	for k, v := range c.Params {
		params[k] = v
	}
	params[key] = value
	c.Params = params
	return c
}

// JobValidateResponse is the server's verdict on a job.
type JobValidateResponse struct {
	DriverConfigValidated bool
	ValidationErrors      []string
	Error                 string
	Warnings              string
}

// Validate asks the agent to check a job as a register would, without
// registering it.
func (j *Jobs) Validate(job *Job, q *WriteOptions) (*JobValidateResponse, *WriteMeta, error) {
	var out JobValidateResponse
	wm, err := j.client.put("/v1/validate/job", map[string]any{"Job": job}, &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}
