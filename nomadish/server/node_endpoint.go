package server

import (
	"fmt"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// NodeEndpoint serves client nodes: registration, heartbeats, their
// allocations and their status updates; and node reads for the API.
type NodeEndpoint struct {
	srv *Server
	// allocUpdates batches client allocation updates into Raft entries.
	allocUpdates allocUpdateBatcher
}

// Register registers a node or refreshes it.
func (e *NodeEndpoint) Register(args *structs.NodeRegisterRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := e.srv.forward("Node.Register", false, args, reply); done {
		return err
	}
	n := args.Node
	if n == nil {
		return NewCodedError(400, "missing node")
	}
	switch {
	case n.ID == "":
		return NewCodedError(400, "missing node ID")
	case n.Name == "":
		return NewCodedError(400, "missing node name")
	case n.Datacenter == "":
		return NewCodedError(400, "missing node datacenter")
	}
	if n.Status == "" {
		n.Status = structs.NodeStatusInit
	}
	if n.NodePool == "" {
		n.NodePool = structs.DefaultNodePool
	}
	n.StatusUpdatedAt = time.Now().Unix()
	old, err := e.srv.State().NodeByID(nil, n.ID)
	if err != nil {
		return err
	}
	index, err := e.srv.raftApply(structs.NodeRegisterRequestType, args)
	if err != nil {
		return err
	}
	// A node that comes (back) up ready gets the system jobs and a look
	// at the jobs it had.
	if n.Status == structs.NodeStatusReady && (old == nil || old.Status != structs.NodeStatusReady) {
		if err := e.createNodeEvals(n.ID, reply); err != nil {
			return err
		}
	}
	reply.HeartbeatTTL = e.srv.heartbeats.reset(n.ID)
	reply.Index = index
	e.fillServers(reply)
	return nil
}

func (e *NodeEndpoint) createNodeEvals(nodeID string, reply *structs.NodeUpdateResponse) error {
	evals, err := e.srv.nodeEvals(nodeID)
	if err != nil || len(evals) == 0 {
		return err
	}
	if _, err := e.srv.raftApply(structs.EvalUpdateRequestType, &structs.EvalUpdateRequest{Evals: evals}); err != nil {
		return err
	}
	for _, ev := range evals {
		reply.EvalIDs = append(reply.EvalIDs, ev.ID)
	}
	return nil
}

func (e *NodeEndpoint) fillServers(reply *structs.NodeUpdateResponse) {
	reply.LeaderRPCAddr = e.srv.Leader()
	if peers, err := e.srv.Peers(); err == nil {
		reply.Servers = peers
	}
}

// UpdateStatus is the heartbeat, and changes the node's status.
func (e *NodeEndpoint) UpdateStatus(args *structs.NodeUpdateStatusRequest, reply *structs.NodeUpdateResponse) error {
	if done, err := e.srv.forward("Node.UpdateStatus", false, args, reply); done {
		return err
	}
	switch args.Status {
	case structs.NodeStatusInit, structs.NodeStatusReady, structs.NodeStatusDown, structs.NodeStatusDisconnected:
	default:
		return NewCodedError(400, fmt.Sprintf("invalid node status %q", args.Status))
	}
	node, err := e.srv.State().NodeByID(nil, args.NodeID)
	if err != nil {
		return err
	}
	if node == nil {
		return NewCodedError(404, "node not found")
	}
	if node.Status != args.Status {
		if err := e.srv.setNodeStatus(args.NodeID, args.Status, "Node status changed to "+args.Status); err != nil {
			return err
		}
	}
	if args.Status == structs.NodeStatusDown {
		e.srv.heartbeats.clear(args.NodeID)
	} else {
		reply.HeartbeatTTL = e.srv.heartbeats.reset(args.NodeID)
	}
	reply.Index = e.srv.State().LatestIndex()
	e.fillServers(reply)
	return nil
}

// GetClientAllocs returns the node's allocations with their modify
// indexes; it blocks until the servers place or update one of them. It
// watches only that (the node's row, NodeAllocModifyIndexes): the node's
// own status reports, and changes on other nodes, do not wake it.
func (e *NodeEndpoint) GetClientAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeClientAllocsResponse) error {
	if done, err := e.srv.forward("Node.GetClientAllocs", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.NodeAllocModifyIndexes(ws, args.NodeID)
		if err != nil {
			return 0, err
		}
		reply.Allocs = allocs
		var max uint64
		for _, index := range allocs {
			if index > max {
				max = index
			}
		}
		return max, nil
	})
}

// UpdateAlloc takes the client's allocation status updates, decoded as
// reports (the client sends an AllocUpdateRequest). Allocations that
// failed get an evaluation so the scheduler can replace them.
func (e *NodeEndpoint) UpdateAlloc(args *structs.AllocReportRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("Node.UpdateAlloc", false, args, reply); done {
		return err
	}
	if len(args.Alloc) == 0 {
		return NewCodedError(400, "no allocations to update")
	}
	st := e.srv.State()
	seen := map[structs.NamespacedID]bool{}
	var evals []*structs.Evaluation
	now := time.Now().UnixNano()
	for i := range args.Alloc {
		a := &args.Alloc[i]
		if a.ClientStatus != structs.AllocClientStatusFailed {
			continue
		}
		stored, err := st.AllocByID(nil, a.ID)
		if err != nil {
			return err
		}
		if stored == nil || stored.ClientStatus == structs.AllocClientStatusFailed {
			continue
		}
		job, err := st.JobByID(nil, stored.Namespace, stored.JobID)
		if err != nil {
			return err
		}
		if job == nil || job.Stop || seen[job.NamespacedID()] {
			continue
		}
		seen[job.NamespacedID()] = true
		evals = append(evals, &structs.Evaluation{
			ID:          structs.GenerateUUID(),
			Namespace:   job.Namespace,
			Priority:    job.Priority,
			Type:        job.Type,
			TriggeredBy: structs.EvalTriggerRetryFailedAlloc,
			JobID:       job.ID,
			Status:      structs.EvalStatusPending,
			CreateTime:  now,
			ModifyTime:  now,
		})
	}
	for i := range args.Alloc {
		args.Alloc[i].ModifyTime = now
	}
	index, err := e.allocUpdates.add(e.srv, args.Alloc, evals)
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}

// List lists nodes.
func (e *NodeEndpoint) List(args *structs.NodeListRequest, reply *structs.NodeListResponse) error {
	if done, err := e.srv.forward("Node.List", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		nodes, err := st.Nodes(ws, args.Prefix)
		if err != nil {
			return 0, err
		}
		reply.Nodes = make([]*structs.NodeListStub, 0, len(nodes))
		for _, n := range nodes {
			reply.Nodes = append(reply.Nodes, n.Stub())
		}
		return st.MaxIndex(ws, "nodes"), nil
	})
}

// GetNode reads one node.
func (e *NodeEndpoint) GetNode(args *structs.NodeSpecificRequest, reply *structs.SingleNodeResponse) error {
	if done, err := e.srv.forward("Node.GetNode", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		n, err := st.NodeByID(ws, args.NodeID)
		if err != nil {
			return 0, err
		}
		reply.Node = n
		if n != nil {
			return n.ModifyIndex, nil
		}
		return st.MaxIndex(ws, "nodes"), nil
	})
}

// GetAllocs lists a node's allocations.
func (e *NodeEndpoint) GetAllocs(args *structs.NodeSpecificRequest, reply *structs.NodeAllocsResponse) error {
	if done, err := e.srv.forward("Node.GetAllocs", args.AllowStale, args, reply); done {
		return err
	}
	return e.srv.blockingQuery(&args.QueryOptions, &reply.QueryMeta, func(ws memdb.WatchSet, st *state.StateStore) (uint64, error) {
		allocs, err := st.AllocsByNode(ws, args.NodeID)
		if err != nil {
			return 0, err
		}
		reply.Allocs = allocs
		return maxModify(allocs, func() uint64 { return st.MaxIndex(ws, "allocs") }), nil
	})
}
