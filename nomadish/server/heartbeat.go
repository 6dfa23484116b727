package server

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/hashicorp/go-memdb"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// heartbeats keeps one timer per client node on the leader. A node whose
// timer fires is marked down and its jobs are re-evaluated.
type heartbeats struct {
	srv *Server

	mu      sync.Mutex
	enabled bool
	timers  map[string]*time.Timer
}

func newHeartbeats(s *Server) *heartbeats {
	return &heartbeats{srv: s, timers: map[string]*time.Timer{}}
}

// run arms a timer for every live node, then waits for leadership to end.
func (h *heartbeats) run(ctx context.Context) {
	nodes, err := h.srv.State().Nodes(memdb.NewWatchSet(), "")
	if err != nil {
		h.srv.logger.Error("initialize heartbeat timers", "error", err)
	}
	h.mu.Lock()
	h.enabled = true
	h.mu.Unlock()
	for _, n := range nodes {
		if n.Status != structs.NodeStatusDown {
			h.reset(n.ID)
		}
	}
	<-ctx.Done()
	h.mu.Lock()
	h.enabled = false
	for id, t := range h.timers {
		t.Stop()
		delete(h.timers, id)
	}
	h.mu.Unlock()
}

// ttl is the interval a client is told to heartbeat at: at least the
// minimum, growing with the number of nodes so that the leader sees at
// most MaxHeartbeatsPerSecond, plus random stagger.
func (h *heartbeats) ttl() time.Duration {
	cfg := h.srv.config
	h.mu.Lock()
	n := len(h.timers)
	h.mu.Unlock()
	ttl := cfg.MinHeartbeatTTL
	if cfg.MaxHeartbeatsPerSecond > 0 {
		if scaled := time.Duration(float64(n) / cfg.MaxHeartbeatsPerSecond * float64(time.Second)); scaled > ttl {
			ttl = scaled
		}
	}
	return ttl + time.Duration(rand.Int64N(int64(ttl)/4+1))
}

// reset re-arms a node's timer and returns the TTL to hand the client.
func (h *heartbeats) reset(nodeID string) time.Duration {
	ttl := h.ttl()
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.enabled {
		return ttl
	}
	deadline := ttl + h.srv.config.HeartbeatGrace
	if t, ok := h.timers[nodeID]; ok {
		t.Reset(deadline)
		return ttl
	}
	h.timers[nodeID] = time.AfterFunc(deadline, func() { h.expire(nodeID) })
	return ttl
}

// clear drops a node's timer.
func (h *heartbeats) clear(nodeID string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.timers[nodeID]; ok {
		t.Stop()
		delete(h.timers, nodeID)
	}
}

func (h *heartbeats) expire(nodeID string) {
	h.mu.Lock()
	if !h.enabled {
		h.mu.Unlock()
		return
	}
	delete(h.timers, nodeID)
	h.mu.Unlock()
	h.srv.logger.Warn("node missed its heartbeat", "node_id", nodeID)
	if err := h.srv.setNodeStatus(nodeID, structs.NodeStatusDown, "Node heartbeat missed"); err != nil {
		h.srv.logger.Error("mark node down", "node_id", nodeID, "error", err)
	}
}

// setNodeStatus commits a node status change together with evaluations
// for every job affected by it.
func (s *Server) setNodeStatus(nodeID, status, why string) error {
	evals, err := s.nodeEvals(nodeID)
	if err != nil {
		return err
	}
	now := time.Now()
	_, err = s.raftApply(structs.NodeUpdateStatusRequestType, &nodeStatusUpdate{
		NodeID:    nodeID,
		Status:    status,
		UpdatedAt: now.Unix(),
		Event:     &structs.NodeEvent{Message: why, Subsystem: "Cluster", Timestamp: now},
		Evals:     evals,
	})
	return err
}

// nodeEvals makes one evaluation per job that has work on the node, plus
// one per system job (a node that comes up should run them).
func (s *Server) nodeEvals(nodeID string) ([]*structs.Evaluation, error) {
	st := s.State()
	allocs, err := st.AllocsByNode(nil, nodeID)
	if err != nil {
		return nil, err
	}
	seen := map[structs.NamespacedID]bool{}
	var evals []*structs.Evaluation
	add := func(j *structs.Job) {
		id := j.NamespacedID()
		if seen[id] || j.Stop {
			return
		}
		seen[id] = true
		now := time.Now().UnixNano()
		evals = append(evals, &structs.Evaluation{
			ID:          structs.GenerateUUID(),
			Namespace:   j.Namespace,
			Priority:    j.Priority,
			Type:        j.Type,
			TriggeredBy: structs.EvalTriggerNodeUpdate,
			JobID:       j.ID,
			NodeID:      nodeID,
			Status:      structs.EvalStatusPending,
			CreateTime:  now,
			ModifyTime:  now,
		})
	}
	for _, a := range allocs {
		if a.TerminalStatus() || a.Job == nil {
			continue
		}
		if j, _ := st.JobByID(nil, a.Namespace, a.JobID); j != nil {
			add(j)
		}
	}
	jobs, err := st.Jobs(nil, "*", "")
	if err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if j.Type == structs.JobTypeSystem || j.Type == structs.JobTypeSysBatch {
			add(j)
		}
	}
	return evals, nil
}
