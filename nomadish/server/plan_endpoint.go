package server

import (
	"github.com/nomadish/nomadish/nomadish/structs"
)

// PlanEndpoint takes plans from scheduler workers on other servers.
type PlanEndpoint struct {
	srv *Server
}

// Submit queues a plan on the leader and returns its result.
func (e *PlanEndpoint) Submit(args *structs.PlanRequest, reply *structs.PlanResponse) error {
	if done, err := e.srv.forward("Plan.Submit", false, args, reply); done {
		return err
	}
	res, err := e.srv.planQueue.Submit(e.srv.ctx, args.Plan)
	if err != nil {
		return err
	}
	reply.Result = res
	reply.Index = res.AllocIndex
	return nil
}
