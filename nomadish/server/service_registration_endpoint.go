package server

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerApply(structs.ServiceRegistrationUpsertRequestType, (*fsm).applyServiceUpsert)
	registerApply(structs.ServiceRegistrationDeleteByIDRequestType, (*fsm).applyServiceDeleteByID)
	registerApply(structs.ServiceRegistrationDeleteByAllocRequestType, (*fsm).applyServiceDeleteByAlloc)
}

func (f *fsm) applyServiceUpsert(index uint64, buf []byte) interface{} {
	var req structs.ServiceRegistrationUpsertRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	return f.State().UpsertServiceRegistrations(index, req.Services)
}

func (f *fsm) applyServiceDeleteByID(index uint64, buf []byte) interface{} {
	var req structs.ServiceRegistrationDeleteByIDRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	return f.State().DeleteServiceRegistrationByID(index, req.Namespace, req.ID)
}

func (f *fsm) applyServiceDeleteByAlloc(index uint64, buf []byte) interface{} {
	var req structs.ServiceRegistrationDeleteByAllocRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	return f.State().DeleteServiceRegistrationsByAlloc(index, req.AllocIDs, req.IDs)
}

// removeTerminalServices drops the registrations of allocations a client
// reported terminal, in the log entry that reported it. Called from the
// apply of that entry, so every server drops the same ones.
func (f *fsm) removeTerminalServices(index uint64, allocs []*structs.Allocation) {
	var ids []string
	for _, a := range allocs {
		if a.ClientTerminalStatus() {
			ids = append(ids, a.ID)
		}
	}
	if len(ids) == 0 {
		return
	}
	if err := f.State().DeleteServiceRegistrationsByAlloc(index, ids, nil); err != nil {
		f.logger.Error("remove services of terminal allocs", "error", err)
	}
}

// removeDownNodeServices drops every registration of a node marked down.
func (f *fsm) removeDownNodeServices(index uint64, nodeID, status string) {
	if status != structs.NodeStatusDown {
		return
	}
	if err := f.State().DeleteServiceRegistrationsByNode(index, []string{nodeID}); err != nil {
		f.logger.Error("remove services of down node", "node_id", nodeID, "error", err)
	}
}

// ServiceRegistrationEndpoint serves Nomad's native service discovery.
type ServiceRegistrationEndpoint struct {
	srv *Server
}

// Upsert stores registrations; clients call it as their tasks start and
// as check states change.
func (e *ServiceRegistrationEndpoint) Upsert(args *structs.ServiceRegistrationUpsertRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("ServiceRegistration.Upsert", false, args, reply); done {
		return err
	}
	if len(args.Services) == 0 {
		return NewCodedError(400, "no service registrations")
	}
	var errs []error
	for _, r := range args.Services {
		if r == nil {
			errs = append(errs, errors.New("nil service registration"))
			continue
		}
		errs = append(errs, r.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return NewCodedError(400, err.Error())
	}
	index, err := e.srv.raftApply(structs.ServiceRegistrationUpsertRequestType, args)
	if err != nil {
		return fmt.Errorf("upsert service registrations: %w", err)
	}
	reply.Index = index
	return nil
}

// DeleteByID removes one registration (the DELETE of /v1/service/:name/:id).
func (e *ServiceRegistrationEndpoint) DeleteByID(args *structs.ServiceRegistrationDeleteByIDRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("ServiceRegistration.DeleteByID", false, args, reply); done {
		return err
	}
	r, err := e.srv.State().ServiceRegistrationByID(nil, args.ID)
	if err != nil {
		return err
	}
	if r == nil || (args.Namespace != "" && args.Namespace != "*" && r.Namespace != args.Namespace) {
		return NewCodedError(404, fmt.Sprintf("service registration %q not found", args.ID))
	}
	index, err := e.srv.raftApply(structs.ServiceRegistrationDeleteByIDRequestType, args)
	if err != nil {
		if errors.Is(err, state.ErrNotFound) {
			return NewCodedError(404, err.Error())
		}
		return fmt.Errorf("delete service registration: %w", err)
	}
	reply.Index = index
	return nil
}

// DeleteByAlloc removes the registrations of allocations; clients call it
// as their tasks stop.
func (e *ServiceRegistrationEndpoint) DeleteByAlloc(args *structs.ServiceRegistrationDeleteByAllocRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("ServiceRegistration.DeleteByAlloc", false, args, reply); done {
		return err
	}
	if len(args.AllocIDs) == 0 {
		return NewCodedError(400, "no allocation IDs")
	}
	index, err := e.srv.raftApply(structs.ServiceRegistrationDeleteByAllocRequestType, args)
	if err != nil {
		return fmt.Errorf("delete service registrations: %w", err)
	}
	reply.Index = index
	return nil
}

// List returns the service names of a namespace ("*" for all) with their
// tags, grouped by namespace, as Nomad's /v1/services.
func (e *ServiceRegistrationEndpoint) List(args *structs.ServiceRegistrationListRequest, reply *structs.ServiceRegistrationListResponse) error {
	if done, err := e.srv.forward("ServiceRegistration.List", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		regs, err := st.ServiceRegistrations(ws, args.Namespace)
		if err != nil {
			return 0, err
		}
		reply.Services = listStubs(regs)
		return st.ServiceRegistrationsIndex(ws), nil
	})
}

// listStubs groups registrations by namespace and service name, with the
// sorted union of their tags.
func listStubs(regs []*structs.ServiceRegistration) []*structs.ServiceRegistrationListStub {
	byNS := map[string]map[string]map[string]bool{}
	for _, r := range regs {
		names := byNS[r.Namespace]
		if names == nil {
			names = map[string]map[string]bool{}
			byNS[r.Namespace] = names
		}
		tags := names[r.ServiceName]
		if tags == nil {
			tags = map[string]bool{}
			names[r.ServiceName] = tags
		}
		for _, t := range r.Tags {
			tags[t] = true
		}
	}
	out := []*structs.ServiceRegistrationListStub{}
	for ns, names := range byNS {
		stub := &structs.ServiceRegistrationListStub{Namespace: ns}
		for name, tags := range names {
			s := &structs.ServiceRegistrationStub{ServiceName: name, Tags: []string{}}
			for t := range tags {
				s.Tags = append(s.Tags, t)
			}
			sort.Strings(s.Tags)
			stub.Services = append(stub.Services, s)
		}
		sort.Slice(stub.Services, func(i, j int) bool { return stub.Services[i].ServiceName < stub.Services[j].ServiceName })
		out = append(out, stub)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace < out[j].Namespace })
	return out
}

// GetService returns the instances of one service, optionally narrowed by
// Choose.
func (e *ServiceRegistrationEndpoint) GetService(args *structs.ServiceRegistrationByNameRequest, reply *structs.ServiceRegistrationByNameResponse) error {
	if done, err := e.srv.forward("ServiceRegistration.GetService", args.AllowStale, args, reply); done {
		return err
	}
	n, key, err := parseChoose(args.Choose)
	if err != nil {
		return NewCodedError(400, err.Error())
	}
	ns := args.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		regs, err := st.ServiceRegistrationsByName(ws, ns, args.ServiceName)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			regs = chooseInstances(regs, n, key)
		}
		reply.Services = make([]*structs.ServiceRegistration, 0, len(regs))
		reply.Services = append(reply.Services, regs...)
		return st.ServiceRegistrationsIndex(ws), nil
	})
}

// parseChoose reads "<n>|<key>"; "" chooses all.
func parseChoose(s string) (int, string, error) {
	if s == "" {
		return 0, "", nil
	}
	num, key, ok := strings.Cut(s, "|")
	n, err := strconv.Atoi(num)
	if !ok || err != nil || n <= 0 || key == "" {
		return 0, "", fmt.Errorf("invalid choose parameter %q: want <number>|<key>", s)
	}
	return n, key, nil
}

// chooseInstances picks n instances by rendezvous hashing on key, so the
// same key keeps the same instances while they exist.
func chooseInstances(regs []*structs.ServiceRegistration, n int, key string) []*structs.ServiceRegistration {
	type scored struct {
		r     *structs.ServiceRegistration
		score uint64
	}
	all := make([]scored, 0, len(regs))
	for _, r := range regs {
		h := fnv.New64a()
		_, _ = h.Write([]byte(key))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(r.ID))
		all = append(all, scored{r, h.Sum64()})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].score > all[j].score })
	if n > len(all) {
		n = len(all)
	}
	out := make([]*structs.ServiceRegistration, n)
	for i := range out {
		out[i] = all[i].r
	}
	return out
}
