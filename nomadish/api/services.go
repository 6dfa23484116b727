package api

import (
	"net/url"

	"github.com/nomadish/nomadish/nomadish/structs"
)

type (
	// ServiceRegistration is one instance of a built-in service.
	ServiceRegistration = structs.ServiceRegistration
	// ServiceRegistrationListStub is the services of one namespace.
	ServiceRegistrationListStub = structs.ServiceRegistrationListStub
	// ServiceRegistrationStub is a service name and its tags.
	ServiceRegistrationStub = structs.ServiceRegistrationStub
)

// Services is the /v1/services and /v1/service endpoint group, Nomad's
// native service discovery.
type Services struct {
	client *Client
}

// Services returns the service discovery endpoints.
func (c *Client) Services() *Services { return &Services{client: c} }

// List lists service names with their tags, by namespace.
func (s *Services) List(q *QueryOptions) ([]*ServiceRegistrationListStub, *QueryMeta, error) {
	var resp []*ServiceRegistrationListStub
	qm, err := s.client.query("/v1/services", &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// Get lists the instances of one service.
func (s *Services) Get(name string, q *QueryOptions) ([]*ServiceRegistration, *QueryMeta, error) {
	var resp []*ServiceRegistration
	qm, err := s.client.query("/v1/service/"+url.PathEscape(name), &resp, q)
	if err != nil {
		return nil, nil, err
	}
	return resp, qm, nil
}

// Delete removes one registration.
func (s *Services) Delete(name, id string, q *WriteOptions) (*WriteMeta, error) {
	return s.client.delete("/v1/service/"+url.PathEscape(name)+"/"+url.PathEscape(id), nil, q)
}

// CheckQueryResult is the last result of one check of an allocation.
type CheckQueryResult struct {
	ID         string
	Check      string
	Group      string
	Mode       string
	Output     string
	Service    string
	Status     string
	StatusCode int
	Task       string
	Timestamp  int64
}

// Checks returns the last results of an allocation's checks, by check ID.
func (a *Allocations) Checks(allocID string, q *QueryOptions) (map[string]*CheckQueryResult, error) {
	var resp map[string]*CheckQueryResult
	if _, err := a.client.query("/v1/client/allocation/"+url.PathEscape(allocID)+"/checks", &resp, q); err != nil {
		return nil, err
	}
	return resp, nil
}
