package agent

import (
	"net/http"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		m := h.mux
		m.HandleFunc("GET /v1/deployments", h.wrap(h.deploymentsList))
		m.HandleFunc("GET /v1/deployment/{id}", h.wrap(h.deploymentGet))
		m.HandleFunc("GET /v1/deployment/allocations/{id}", h.wrap(h.deploymentAllocs))
		m.HandleFunc("/v1/deployment/fail/{id}", h.wrap(h.deploymentFail))
		m.HandleFunc("/v1/deployment/pause/{id}", h.wrap(h.deploymentPause))
		m.HandleFunc("/v1/deployment/promote/{id}", h.wrap(h.deploymentPromote))
		m.HandleFunc("/v1/deployment/allocation-health/{id}", h.wrap(h.deploymentAllocHealth))
		m.HandleFunc("GET /v1/job/{id}/deployments", h.wrap(h.jobDeployments))
		m.HandleFunc("GET /v1/job/{id}/deployment", h.wrap(h.jobLatestDeployment))
	})
}

func (h *HTTPServer) deploymentsList(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.DeploymentListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	if r.URL.Query().Get("namespace") == "" {
		args.Namespace = "*"
	}
	var reply structs.DeploymentListResponse
	if err := h.rpc("Deployment.List", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Deployments == nil {
		reply.Deployments = []*structs.Deployment{}
	}
	return reply.Deployments, nil
}

func (h *HTTPServer) deploymentGet(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.DeploymentSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.DeploymentID = r.PathValue("id")
	var reply structs.SingleDeploymentResponse
	if err := h.rpc("Deployment.GetDeployment", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Deployment == nil {
		return nil, server.NewCodedError(404, "deployment not found")
	}
	return reply.Deployment, nil
}

func (h *HTTPServer) deploymentAllocs(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.DeploymentSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.DeploymentID = r.PathValue("id")
	var reply structs.DeploymentAllocationsResponse
	if err := h.rpc("Deployment.Allocations", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Allocations == nil {
		reply.Allocations = []*structs.AllocListStub{}
	}
	return reply.Allocations, nil
}

func (h *HTTPServer) deploymentUpdate(w http.ResponseWriter, r *http.Request, args *structs.DeploymentStatusRequest) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	args.DeploymentID = r.PathValue("id")
	args.WriteRequest = writeNamespace(r)
	var reply structs.DeploymentUpdateResponse
	if err := h.rpc("Deployment.UpdateStatus", args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}

// deploymentFailBody is Nomad's fail request body.
type deploymentFailBody struct {
	DeploymentID string
	structs.WriteRequest
}

func (h *HTTPServer) deploymentFail(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var body deploymentFailBody
	if isWrite(r) && r.ContentLength != 0 {
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
	}
	return h.deploymentUpdate(w, r, &structs.DeploymentStatusRequest{Fail: true})
}

// deploymentPauseBody is Nomad's pause request body.
type deploymentPauseBody struct {
	DeploymentID string
	Pause        bool
	structs.WriteRequest
}

func (h *HTTPServer) deploymentPause(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var body deploymentPauseBody
	if isWrite(r) {
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
	}
	return h.deploymentUpdate(w, r, &structs.DeploymentStatusRequest{Pause: &body.Pause})
}

// deploymentPromoteBody is Nomad's promote request body.
type deploymentPromoteBody struct {
	DeploymentID string
	All          bool
	Groups       []string
	structs.WriteRequest
}

func (h *HTTPServer) deploymentPromote(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var body deploymentPromoteBody
	if isWrite(r) {
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
	}
	return h.deploymentUpdate(w, r, &structs.DeploymentStatusRequest{Promote: true, All: body.All || len(body.Groups) == 0, Groups: body.Groups})
}

func (h *HTTPServer) jobDeploymentsReply(r *http.Request, w http.ResponseWriter) (*server.JobDeploymentsResponse, error) {
	var args structs.JobSpecificRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.JobID = r.PathValue("id")
	var reply server.JobDeploymentsResponse
	if err := h.rpc("Job.Deployments", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	return &reply, nil
}

func (h *HTTPServer) jobDeployments(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	reply, err := h.jobDeploymentsReply(r, w)
	if err != nil {
		return nil, err
	}
	if reply.Deployments == nil {
		return []*structs.Deployment{}, nil
	}
	return reply.Deployments, nil
}

func (h *HTTPServer) jobLatestDeployment(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	reply, err := h.jobDeploymentsReply(r, w)
	if err != nil {
		return nil, err
	}
	if len(reply.Deployments) == 0 {
		return nil, nil
	}
	return reply.Deployments[0], nil
}

func (h *HTTPServer) deploymentAllocHealth(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if !isWrite(r) {
		return nil, server.NewCodedError(405, "method not allowed")
	}
	var args structs.DeploymentAllocHealthRequest
	if err := decodeBody(r, &args); err != nil {
		return nil, err
	}
	args.DeploymentID = r.PathValue("id")
	args.WriteRequest = writeNamespace(r)
	var reply structs.DeploymentUpdateResponse
	if err := h.rpc("Deployment.SetAllocHealth", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return &reply, nil
}
