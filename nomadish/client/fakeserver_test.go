package client

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// fakeServer answers the client's RPCs from memory and records what the
// client sent. It implements ContextRPCer.
type fakeServer struct {
	mu         sync.Mutex
	cond       chan struct{} // closed and replaced on every change
	down       bool
	ttl        time.Duration
	index      uint64
	nodes      map[string]*structs.Node
	registers  int
	heartbeats int
	allocs     map[string]*structs.Allocation
	updates    []*structs.Allocation
	updateRPCs int
	// firstRunning records when each alloc was first reported running.
	firstRunning map[string]time.Time
}

func newFakeServer() *fakeServer {
	return &fakeServer{
		cond:         make(chan struct{}),
		ttl:          time.Second,
		nodes:        map[string]*structs.Node{},
		allocs:       map[string]*structs.Allocation{},
		firstRunning: map[string]time.Time{},
	}
}

var errNoServers = errors.New("no servers available")

func (s *fakeServer) notifyLocked() {
	close(s.cond)
	s.cond = make(chan struct{})
}

func (s *fakeServer) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *fakeServer) forgetNodes() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nodes = map[string]*structs.Node{}
}

// upsertAlloc places or changes an allocation, as the plan applier would.
func (s *fakeServer) upsertAlloc(a *structs.Allocation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.index++
	a = a.Copy()
	a.AllocModifyIndex = s.index
	a.ModifyIndex = s.index
	if old := s.allocs[a.ID]; old != nil {
		a.ClientStatus, a.TaskStates = old.ClientStatus, old.TaskStates
	}
	s.allocs[a.ID] = a
	s.notifyLocked()
}

func (s *fakeServer) deleteAlloc(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.allocs, id)
	s.index++
	s.notifyLocked()
}

func (s *fakeServer) alloc(id string) *structs.Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.allocs[id]; a != nil {
		return a.Copy()
	}
	return nil
}

func (s *fakeServer) node(id string) *structs.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[id]
}

func (s *fakeServer) counts() (registers, heartbeats, updateRPCs int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registers, s.heartbeats, s.updateRPCs
}

func (s *fakeServer) RPC(method string, args, reply interface{}) error {
	return s.RPCContext(context.Background(), method, args, reply)
}

func (s *fakeServer) RPCContext(ctx context.Context, method string, args, reply interface{}) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errNoServers
	}
	switch method {
	case structs.MethodNodeRegister:
		req := args.(*structs.NodeRegisterRequest)
		s.nodes[req.Node.ID] = req.Node
		s.registers++
		reply.(*structs.NodeUpdateResponse).HeartbeatTTL = s.ttl
	case structs.MethodNodeUpdateStatus:
		req := args.(*structs.NodeUpdateStatusRequest)
		n := s.nodes[req.NodeID]
		if n == nil {
			return fmt.Errorf("node not found: %s", req.NodeID)
		}
		n.Status = req.Status
		s.heartbeats++
		reply.(*structs.NodeUpdateResponse).HeartbeatTTL = s.ttl
	case structs.MethodNodeGetClientAllocs:
		req := args.(*structs.NodeSpecificRequest)
		deadline := time.NewTimer(req.MaxQueryTime)
		defer deadline.Stop()
		for s.index <= req.MinQueryIndex {
			ch := s.cond
			s.mu.Unlock()
			timedOut := false
			select {
			case <-ch:
			case <-deadline.C:
				timedOut = true
			case <-ctx.Done():
			}
			s.mu.Lock()
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if s.down {
				return errNoServers
			}
			if timedOut {
				break
			}
		}
		resp := reply.(*structs.NodeClientAllocsResponse)
		resp.Allocs = map[string]uint64{}
		for id, a := range s.allocs {
			if a.NodeID == req.NodeID {
				resp.Allocs[id] = a.AllocModifyIndex
			}
		}
		resp.Index = s.index
	case structs.MethodAllocGetAllocs:
		req := args.(*structs.AllocsGetRequest)
		resp := reply.(*structs.AllocsGetResponse)
		for _, id := range req.AllocIDs {
			if a := s.allocs[id]; a != nil {
				resp.Allocs = append(resp.Allocs, a.Copy())
			}
		}
		resp.Index = s.index
	case structs.MethodNodeUpdateAlloc:
		req := args.(*structs.AllocUpdateRequest)
		s.updateRPCs++
		for _, u := range req.Alloc {
			s.updates = append(s.updates, u)
			if u.ClientStatus == structs.AllocClientStatusRunning {
				if _, ok := s.firstRunning[u.ID]; !ok {
					s.firstRunning[u.ID] = time.Now()
				}
			}
			if a := s.allocs[u.ID]; a != nil {
				a.ClientStatus = u.ClientStatus
				a.ClientDescription = u.ClientDescription
				a.TaskStates = u.TaskStates
			}
		}
	default:
		return fmt.Errorf("unknown method %s", method)
	}
	return nil
}
