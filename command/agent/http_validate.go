package agent

import (
	"net/http"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		h.mux.HandleFunc("PUT /v1/validate/job", h.wrap(h.validateJob))
		h.mux.HandleFunc("POST /v1/validate/job", h.wrap(h.validateJob))
	})
}

// jobValidateBody is Nomad's validate request body.
type jobValidateBody struct {
	Job *structs.Job
	structs.WriteRequest
}

// validateJob serves PUT /v1/validate/job: the checks of a register,
// including each task's config against its driver's schema, without
// registering. Problems are in the answer, not the status code.
func (h *HTTPServer) validateJob(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var body jobValidateBody
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Job == nil {
		return nil, server.NewCodedError(400, "Job must be specified")
	}
	args := structs.JobValidateRequest{Job: body.Job}
	args.Namespace = r.URL.Query().Get("namespace")
	if body.Job.Namespace != "" {
		args.Namespace = body.Job.Namespace
	}
	var reply structs.JobValidateResponse
	if err := h.rpc("Job.Validate", &args, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}
