package structs

import (
	"fmt"
	"strings"
)

// Service registration messages (block 40–59).
const (
	// ServiceRegistrationUpsertRequestType stores a ServiceRegistrationUpsertRequest.
	ServiceRegistrationUpsertRequestType MessageType = 40
	// ServiceRegistrationDeleteByIDRequestType stores a ServiceRegistrationDeleteByIDRequest.
	ServiceRegistrationDeleteByIDRequestType MessageType = 41
	// ServiceRegistrationDeleteByAllocRequestType stores a ServiceRegistrationDeleteByAllocRequest.
	ServiceRegistrationDeleteByAllocRequestType MessageType = 42
)

// Service providers.
const (
	// ServiceProviderNomad is the built-in provider, as Nomad names it.
	ServiceProviderNomad = "nomad"
	// ServiceProviderNomadish is an alias of the built-in provider.
	ServiceProviderNomadish = "nomadish"
	// ServiceProviderConsul is parsed but not run.
	ServiceProviderConsul = "consul"
)

// Check health states, as Nomad's checks report them.
const (
	CheckPassing  = "passing"
	CheckWarning  = "warning"
	CheckCritical = "critical"
	CheckPending  = "pending"
)

// Service address modes.
const (
	AddressModeAuto   = "auto"
	AddressModeHost   = "host"
	AddressModeAlloc  = "alloc"
	AddressModeDriver = "driver"
)

// BuiltinProvider reports whether a service is registered by nomadish
// itself rather than by an external catalog.
func (s *Service) BuiltinProvider() bool {
	return s != nil && (s.Provider == ServiceProviderNomad || s.Provider == ServiceProviderNomadish)
}

// ServiceRegistration is one running instance of a service, in the shape
// of Nomad's native service discovery.
type ServiceRegistration struct {
	// ID is unique per allocation, task, service and port.
	ID string
	// ServiceName is the service's name.
	ServiceName string
	// Namespace is the job's namespace.
	Namespace string
	// NodeID is the node running the instance.
	NodeID string
	// Datacenter of the node.
	Datacenter string
	// JobID of the allocation.
	JobID string
	// AllocID of the allocation.
	AllocID string
	// Tags of the service.
	Tags []string
	// Address to reach the instance.
	Address string
	// Port to reach the instance.
	Port int
	// Status is the aggregate of the instance's checks: passing or
	// critical, empty when it has none.
	Status string `json:",omitempty"`
	// CreateIndex and ModifyIndex are Raft indexes.
	CreateIndex uint64
	ModifyIndex uint64
}

// Copy returns a deep copy.
func (r *ServiceRegistration) Copy() *ServiceRegistration {
	if r == nil {
		return nil
	}
	c := *r
	c.Tags = append([]string(nil), r.Tags...)
	return &c
}

// Healthy reports whether the instance may receive traffic: it has no
// checks, or they pass.
func (r *ServiceRegistration) Healthy() bool {
	return r.Status != CheckCritical
}

// Equal reports whether two registrations carry the same instance data,
// ignoring Raft indexes.
func (r *ServiceRegistration) Equal(o *ServiceRegistration) bool {
	if r == nil || o == nil {
		return r == o
	}
	if r.ID != o.ID || r.ServiceName != o.ServiceName || r.Namespace != o.Namespace ||
		r.NodeID != o.NodeID || r.Datacenter != o.Datacenter || r.JobID != o.JobID ||
		r.AllocID != o.AllocID || r.Address != o.Address || r.Port != o.Port ||
		r.Status != o.Status || len(r.Tags) != len(o.Tags) {
		return false
	}
	for i := range r.Tags {
		if r.Tags[i] != o.Tags[i] {
			return false
		}
	}
	return true
}

// Validate checks what a client sends.
func (r *ServiceRegistration) Validate() error {
	var errs []string
	if r.ID == "" {
		errs = append(errs, "missing ID")
	}
	if r.ServiceName == "" {
		errs = append(errs, "missing service name")
	}
	if r.AllocID == "" {
		errs = append(errs, "missing alloc ID")
	}
	if r.Port < 0 || r.Port > 65535 {
		errs = append(errs, fmt.Sprintf("port %d out of range", r.Port))
	}
	if len(errs) > 0 {
		return fmt.Errorf("service registration %q: %s", r.ID, strings.Join(errs, ", "))
	}
	return nil
}

// ServiceRegistrationID names one instance as Nomad does:
// _nomad-task-<alloc>-<task>-<service>-<port> for a task's service and
// _nomad-task-<alloc>-group-<group>-<service>-<port> for a group's.
func ServiceRegistrationID(allocID, task, group, service, port string) string {
	owner := task
	if task == "" {
		owner = "group-" + group
	}
	return fmt.Sprintf("_nomad-task-%s-%s-%s-%s", allocID, owner, service, port)
}

// ServiceRegistrationUpsertRequest stores registrations.
type ServiceRegistrationUpsertRequest struct {
	Services []*ServiceRegistration
	WriteRequest
}

// ServiceRegistrationDeleteByIDRequest removes one registration.
type ServiceRegistrationDeleteByIDRequest struct {
	ID string
	WriteRequest
}

// ServiceRegistrationDeleteByAllocRequest removes allocations'
// registrations; with IDs set, only those.
type ServiceRegistrationDeleteByAllocRequest struct {
	AllocIDs []string
	IDs      []string
	WriteRequest
}

// ServiceRegistrationListRequest lists service names.
type ServiceRegistrationListRequest struct {
	QueryOptions
}

// ServiceRegistrationStub is a service name with the union of its tags.
type ServiceRegistrationStub struct {
	ServiceName string
	Tags        []string
}

// ServiceRegistrationListStub is the services of one namespace.
type ServiceRegistrationListStub struct {
	Namespace string
	Services  []*ServiceRegistrationStub
}

// ServiceRegistrationListResponse answers a list.
type ServiceRegistrationListResponse struct {
	Services []*ServiceRegistrationListStub
	QueryMeta
}

// ServiceRegistrationByNameRequest reads the instances of one service.
type ServiceRegistrationByNameRequest struct {
	ServiceName string
	// Choose is Nomad's choose parameter: "<n>|<key>" picks n instances
	// by rendezvous hashing on key.
	Choose string
	QueryOptions
}

// ServiceRegistrationByNameResponse answers a read of one service.
type ServiceRegistrationByNameResponse struct {
	Services []*ServiceRegistration
	QueryMeta
}

// ServiceWarnings lists the job's services nomadish does not register:
// those of the consul provider (Nomad's default), which is parsed but not
// run.
func (j *Job) ServiceWarnings() []string {
	var out []string
	warn := func(where string, s *Service) {
		if s == nil || s.BuiltinProvider() {
			return
		}
		p := s.Provider
		if p == "" {
			p = ServiceProviderConsul
		}
		out = append(out, fmt.Sprintf("%s service %q: provider %q is not supported; set provider = \"nomad\" to register it with nomadish", where, s.Name, p))
	}
	for _, tg := range j.TaskGroups {
		if tg == nil {
			continue
		}
		for _, s := range tg.Services {
			warn(fmt.Sprintf("group %q", tg.Name), s)
		}
		for _, t := range tg.Tasks {
			if t == nil {
				continue
			}
			for _, s := range t.Services {
				warn(fmt.Sprintf("task %q", t.Name), s)
			}
		}
	}
	return out
}
