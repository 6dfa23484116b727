package client

import (
	"context"
	"time"

	"github.com/nomadish/nomadish/nomadish/client/allocrunner"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// serviceWait bounds one blocking read of a service, so that a template
// watcher notices its context ending on a server that does not.
const serviceWait = 5 * time.Minute

// serviceRPC registers services and reads them through the servers.
type serviceRPC struct {
	c *Client
}

var _ allocrunner.ServiceClient = (*serviceRPC)(nil)

func (s *serviceRPC) UpsertServices(ctx context.Context, regs []*structs.ServiceRegistration) error {
	args := &structs.ServiceRegistrationUpsertRequest{Services: regs, WriteRequest: structs.WriteRequest{Region: s.c.cfg.Region}}
	var reply structs.GenericResponse
	return s.c.rpc(ctx, "ServiceRegistration.Upsert", args, &reply)
}

func (s *serviceRPC) RemoveServices(ctx context.Context, allocID string, ids []string) error {
	args := &structs.ServiceRegistrationDeleteByAllocRequest{AllocIDs: []string{allocID}, IDs: ids, WriteRequest: structs.WriteRequest{Region: s.c.cfg.Region}}
	var reply structs.GenericResponse
	return s.c.rpc(ctx, "ServiceRegistration.DeleteByAlloc", args, &reply)
}

func (s *serviceRPC) ServicesByName(ctx context.Context, namespace, name string, minIndex uint64) ([]*structs.ServiceRegistration, uint64, error) {
	args := &structs.ServiceRegistrationByNameRequest{
		ServiceName: name,
		QueryOptions: structs.QueryOptions{
			Region: s.c.cfg.Region, Namespace: namespace, AllowStale: true,
			MinQueryIndex: minIndex, MaxQueryTime: serviceWait,
		},
	}
	var reply structs.ServiceRegistrationByNameResponse
	if err := s.c.rpc(ctx, "ServiceRegistration.GetService", args, &reply); err != nil {
		return nil, 0, err
	}
	return reply.Services, reply.Index, nil
}

// AllocChecks returns the last results of an allocation's checks, by
// check ID.
func (c *Client) AllocChecks(allocID string) (map[string]*allocrunner.CheckResult, error) {
	ar := c.runner(allocID)
	if ar == nil {
		return nil, ErrUnknownAlloc
	}
	return ar.CheckResults(), nil
}
