package agent

import (
	"net/http"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		m := h.mux
		m.HandleFunc("GET /v1/services", h.wrap(h.servicesList))
		m.HandleFunc("GET /v1/service/{name}", h.wrap(h.serviceGet))
		m.HandleFunc("DELETE /v1/service/{name}/{id}", h.wrap(h.serviceDelete))
		m.HandleFunc("GET /v1/client/allocation/{alloc}/checks", h.clientAlloc(h.allocChecks))
	})
}

func (h *HTTPServer) servicesList(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.ServiceRegistrationListRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var reply structs.ServiceRegistrationListResponse
	if err := h.rpc("ServiceRegistration.List", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Services == nil {
		reply.Services = []*structs.ServiceRegistrationListStub{}
	}
	return filterAndPage(w, r, reply.Services)
}

func (h *HTTPServer) serviceGet(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	var args structs.ServiceRegistrationByNameRequest
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	args.ServiceName = r.PathValue("name")
	args.Choose = r.URL.Query().Get("choose")
	var reply structs.ServiceRegistrationByNameResponse
	if err := h.rpc("ServiceRegistration.GetService", &args, &reply); err != nil {
		return nil, err
	}
	setMeta(w, &reply.QueryMeta)
	if reply.Services == nil {
		reply.Services = []*structs.ServiceRegistration{}
	}
	return filterAndPage(w, r, reply.Services)
}

func (h *HTTPServer) serviceDelete(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	q := r.URL.Query()
	args := structs.ServiceRegistrationDeleteByIDRequest{ID: r.PathValue("id")}
	args.Namespace, args.Region = q.Get("namespace"), q.Get("region")
	if args.Namespace == "" {
		args.Namespace = structs.DefaultNamespace
	}
	var reply structs.GenericResponse
	if err := h.rpc("ServiceRegistration.DeleteByID", &args, &reply); err != nil {
		return nil, err
	}
	setIndex(w, reply.Index)
	return nil, nil
}

func (h *HTTPServer) allocChecks(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	c, err := h.localClient()
	if err != nil {
		return nil, err
	}
	res, err := c.AllocChecks(r.PathValue("alloc"))
	if err != nil {
		return nil, clientError(err)
	}
	return res, nil
}
