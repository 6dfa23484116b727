package agent

import (
	"net/http"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		m := h.mux
		m.HandleFunc("/v1/job/{id}/periodic/force", h.wrap(h.jobPeriodicForce))
		m.HandleFunc("/v1/job/{id}/dispatch", h.wrap(h.jobDispatch))
		m.HandleFunc("/v1/job/{id}/scale", h.wrap(h.jobScale))
		m.HandleFunc("/v1/job/{id}/revert", h.wrap(h.jobRevert))
		m.HandleFunc("GET /v1/job/{id}/versions", h.wrap(h.jobVersions))
		m.HandleFunc("/v1/job/{id}/plan", h.wrap(h.jobPlan))
	})
}

func isWrite(r *http.Request) bool {
	return r.Method == http.MethodPut || r.Method == http.MethodPost
}

func writeNamespace(r *http.Request) structs.WriteRequest {
	return structs.WriteRequest{Namespace: r.URL.Query().Get("namespace"), Region: r.URL.Query().Get("region")}
}

func (h *HTTPServer) jobPeriodicForce(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	args := structs.PeriodicForceRequest{JobID: r.PathValue("id"), WriteRequest: writeNamespace(r)}
	var reply structs.PeriodicForceResponse
	if err := h.rpc("Job.PeriodicForce", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}

// jobDispatchBody is Nomad's dispatch request body; Payload is base64.
type jobDispatchBody struct {
	JobID            string
	Payload          []byte
	Meta             map[string]string
	IdempotencyToken string
	IdPrefixTemplate string
	Priority         int
}

func (h *HTTPServer) jobDispatch(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	var body jobDispatchBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if body.JobID != "" && body.JobID != id {
		return nil, server.NewCodedError(400, "Job ID does not match")
	}
	args := structs.JobDispatchRequest{
		JobID: id, Payload: body.Payload, Meta: body.Meta,
		IdempotencyToken: body.IdempotencyToken, IdPrefixTemplate: body.IdPrefixTemplate, Priority: body.Priority,
		WriteRequest: writeNamespace(r),
	}
	if tok := r.URL.Query().Get("idempotency_token"); tok != "" {
		args.IdempotencyToken = tok
	}
	var reply structs.JobDispatchResponse
	if err := h.rpc("Job.Dispatch", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}

// jobScaleBody is Nomad's scaling request body.
type jobScaleBody struct {
	Count          *int64
	Target         map[string]string
	Message        string
	Error          bool
	Meta           map[string]interface{}
	PolicyOverride bool
	JobModifyIndex uint64
	EnforceIndex   bool
	structs.WriteRequest
}

func (h *HTTPServer) jobScale(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	id := r.PathValue("id")
	switch {
	case r.Method == http.MethodGet:
		var args structs.JobSpecificRequest
		if err := parseQuery(r, &args.QueryOptions); err != nil {
			return nil, err
		}
		args.JobID = id
		var reply structs.JobScaleStatusResponse
		if err := h.rpc("Job.ScaleStatus", &args, &reply); err != nil {
			return nil, err
		}
		setMeta(w, &reply.QueryMeta)
		if reply.JobScaleStatus == nil {
			return nil, server.NewCodedError(404, "job not found")
		}
		return reply.JobScaleStatus, nil
	case isWrite(r):
		var body jobScaleBody
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
		args := structs.JobScaleRequest{
			JobID: id, Target: body.Target, Count: body.Count, Message: body.Message,
			Error: body.Error, Meta: body.Meta, PolicyOverride: body.PolicyOverride,
			EnforceIndex: body.EnforceIndex || body.JobModifyIndex != 0, JobModifyIndex: body.JobModifyIndex,
			WriteRequest: writeNamespace(r),
		}
		var reply structs.JobRegisterResponse
		if err := h.rpc("Job.Scale", &args, &reply); err != nil {
			return nil, err
		}
		setIndex(w, reply.Index)
		return &reply, nil
	}
	return nil, server.NewCodedError(405, "method not allowed")
}

// jobRevertBody is Nomad's revert request body.
type jobRevertBody struct {
	JobID               string
	JobVersion          uint64
	EnforcePriorVersion *uint64
	structs.WriteRequest
}

func (h *HTTPServer) jobRevert(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	var body jobRevertBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if body.JobID != "" && body.JobID != id {
		return nil, server.NewCodedError(400, "Job ID does not match")
	}
	args := structs.JobRevertRequest{
		JobID: id, JobVersion: body.JobVersion, EnforcePriorVersion: body.EnforcePriorVersion,
		WriteRequest: writeNamespace(r),
	}
	var reply structs.JobRegisterResponse
	if err := h.rpc("Job.Revert", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}

func (h *HTTPServer) jobVersions(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.JobSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.JobID = r.PathValue("id")
	var reply structs.JobVersionsResponse
	if err := h.rpc("Job.GetJobVersions", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if len(reply.Versions) == 0 {
		return nil, server.NewCodedError(404, "job versions not found")
	}
	var diffs []*structs.JobDiff
	if r.URL.Query().Get("diffs") == "true" {
		diffs = versionDiffs(reply.Versions)
	}
	return map[string]interface{}{"Versions": reply.Versions, "Diffs": diffs}, nil
}

// versionDiffs compares each version (newest first) with the one before it.
func versionDiffs(versions []*structs.Job) []*structs.JobDiff {
	out := make([]*structs.JobDiff, 0, len(versions))
	for i := 0; i+1 < len(versions); i++ {
		out = append(out, versions[i+1].Diff(versions[i]))
	}
	return out
}

// jobPlanBody is Nomad's plan request body.
type jobPlanBody struct {
	Job            *structs.Job
	Diff           bool
	PolicyOverride bool
	structs.WriteRequest
}

func (h *HTTPServer) jobPlan(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	var body jobPlanBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Job == nil {
		return nil, server.NewCodedError(400, "Job must be specified")
	}
	if body.Job.ID != r.PathValue("id") {
		return nil, server.NewCodedError(400, "Job ID does not match")
	}
	args := structs.JobPlanRequest{Job: body.Job, Diff: body.Diff, PolicyOverride: body.PolicyOverride, WriteRequest: writeNamespace(r)}
	if body.Job.Namespace != "" {
		args.Namespace = body.Job.Namespace
	}
	var reply structs.JobPlanResponse
	if err := h.rpc("Job.Plan", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}
