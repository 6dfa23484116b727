package server

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadish/nomadish/nomadish/gossip"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Gossip tag names.
const (
	TagRole      = "role"
	TagRegion    = "region"
	TagDC        = "dc"
	TagID        = "id"
	TagRPCAddr   = "rpc_addr"
	TagHTTPAddr  = "http_addr"
	TagExpect    = "expect"
	TagNodeID    = "node_id"
	RoleServer   = "server"
	RoleClient   = "client"
	reconcileGap = 5 * time.Second
)

// serverMember is a server seen in gossip.
type serverMember struct {
	Name    string
	ID      string
	RPCAddr string
	Expect  int
	Status  string
}

// membership is the server's view of the gossip pool.
type membership struct {
	mu      sync.Mutex
	servers map[string]*serverMember
	// clients maps client node IDs to their gossip status, so that a new
	// leader can act on failures it did not see happen.
	clients      map[string]string
	bootstrapped bool
}

// GossipTags are the tags a server publishes in the gossip pool.
func (s *Server) GossipTags(httpAddr string) map[string]string {
	return map[string]string{
		TagRole:     RoleServer,
		TagRegion:   s.config.Region,
		TagDC:       s.config.Datacenter,
		TagID:       s.config.NodeName,
		TagRPCAddr:  s.advertiseAddr().String(),
		TagHTTPAddr: httpAddr,
		TagExpect:   strconv.Itoa(s.config.BootstrapExpect),
	}
}

// MemberEvent takes a gossip event: servers are added to Raft (and
// bootstrap the cluster once enough are seen); a client whose member
// failed is marked down at once instead of waiting for its heartbeat TTL.
func (s *Server) MemberEvent(e gossip.Event) {
	m := e.Member
	if m.Tags[TagRegion] != s.config.Region {
		return
	}
	switch m.Tags[TagRole] {
	case RoleServer:
		s.serverEvent(e)
	case RoleClient:
		id := m.Tags[TagNodeID]
		if id == "" {
			return
		}
		s.members.mu.Lock()
		s.members.clients[id] = m.Status
		s.members.mu.Unlock()
		if e.Kind == gossip.EventFailed && s.IsLeader() {
			go s.nodeFailed(id)
		}
	}
}

func (s *Server) serverEvent(e gossip.Event) {
	m := e.Member
	expect, _ := strconv.Atoi(m.Tags[TagExpect])
	sm := &serverMember{Name: m.Name, ID: m.Tags[TagID], RPCAddr: m.Tags[TagRPCAddr], Expect: expect, Status: m.Status}
	s.members.mu.Lock()
	s.members.servers[sm.ID] = sm
	s.members.mu.Unlock()
	if m.Status == gossip.StatusAlive {
		s.maybeBootstrap()
	}
	if s.IsLeader() {
		go s.reconcileRaft()
	}
}

// maybeBootstrap bootstraps Raft with every server seen once
// bootstrap_expect of them are alive, unless Raft already has state.
func (s *Server) maybeBootstrap() {
	if s.config.BootstrapExpect <= 1 || s.config.DevMode {
		return
	}
	s.members.mu.Lock()
	defer s.members.mu.Unlock()
	if s.members.bootstrapped || s.hasRaftState {
		return
	}
	var conf raft.Configuration
	for _, m := range s.members.servers {
		if m.Status != gossip.StatusAlive {
			continue
		}
		if m.Expect != s.config.BootstrapExpect {
			s.logger.Error("server has a different bootstrap_expect; not bootstrapping", "server", m.ID, "expect", m.Expect, "ours", s.config.BootstrapExpect)
			return
		}
		conf.Servers = append(conf.Servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.ID), Address: raft.ServerAddress(m.RPCAddr)})
	}
	if len(conf.Servers) < s.config.BootstrapExpect {
		return
	}
	s.members.bootstrapped = true
	s.logger.Info("bootstrapping the cluster", "servers", len(conf.Servers))
	if err := s.raft.BootstrapCluster(conf).Error(); err != nil && err != raft.ErrCantBootstrap {
		s.logger.Error("bootstrap failed", "error", err)
	}
}

// reconcileRaft, on the leader, makes the Raft configuration match the
// live servers: a new server becomes a voter, a server that left is
// removed, and failed servers are removed once a replacement keeps the
// quorum size (dead server cleanup).
func (s *Server) reconcileRaft() {
	if !s.IsLeader() {
		return
	}
	s.reconcileMu.Lock()
	defer s.reconcileMu.Unlock()
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return
	}
	inRaft := map[raft.ServerID]raft.Server{}
	for _, srv := range f.Configuration().Servers {
		inRaft[srv.ID] = srv
	}
	s.members.mu.Lock()
	var alive, failed, left []*serverMember
	for _, m := range s.members.servers {
		switch m.Status {
		case gossip.StatusAlive:
			alive = append(alive, m)
		case gossip.StatusFailed:
			failed = append(failed, m)
		case gossip.StatusLeft:
			left = append(left, m)
		}
	}
	s.members.mu.Unlock()
	self := raft.ServerID(s.config.NodeName)
	for _, m := range alive {
		cur, ok := inRaft[raft.ServerID(m.ID)]
		if ok && string(cur.Address) == m.RPCAddr {
			continue
		}
		s.logger.Info("adding server to raft", "server", m.ID, "addr", m.RPCAddr)
		if err := s.raft.AddVoter(raft.ServerID(m.ID), raft.ServerAddress(m.RPCAddr), 0, 10*time.Second).Error(); err != nil {
			s.logger.Error("add raft voter", "server", m.ID, "error", err)
		}
	}
	for _, m := range left {
		if _, ok := inRaft[raft.ServerID(m.ID)]; ok && raft.ServerID(m.ID) != self {
			s.logger.Info("removing departed server from raft", "server", m.ID)
			_ = s.raft.RemoveServer(raft.ServerID(m.ID), 0, 10*time.Second).Error()
		}
	}
	// Dead server cleanup: remove failed voters only while the remaining
	// live voters still outnumber the quorum the configuration needs.
	voters := 0
	for id := range inRaft {
		for _, m := range alive {
			if raft.ServerID(m.ID) == id {
				voters++
			}
		}
	}
	for _, m := range failed {
		if _, ok := inRaft[raft.ServerID(m.ID)]; !ok || raft.ServerID(m.ID) == self {
			continue
		}
		if voters < s.config.BootstrapExpect && voters < len(inRaft) {
			continue // no replacement yet: keep the failed server's seat
		}
		s.logger.Info("removing failed server from raft", "server", m.ID)
		_ = s.raft.RemoveServer(raft.ServerID(m.ID), 0, 10*time.Second).Error()
	}
}

// reconcileLoop re-runs reconcileRaft while this server leads.
func (s *Server) reconcileLoop(ctx context.Context) {
	t := time.NewTicker(reconcileGap)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reconcileRaft()
		}
	}
}

// nodeFailed marks a client node down when gossip says it failed.
func (s *Server) nodeFailed(nodeID string) {
	n, err := s.State().NodeByID(nil, nodeID)
	if err != nil {
		s.logger.Error("look up client node failed in gossip", "node_id", nodeID, "error", err)
		return
	}
	if n == nil {
		s.logger.Warn("client failed in gossip is not a registered node", "node_id", nodeID)
		return
	}
	if n.Status == structs.NodeStatusDown {
		return
	}
	s.logger.Warn("client node failed in gossip, marking it down", "node_id", nodeID)
	s.heartbeats.clear(nodeID)
	if err := s.setNodeStatus(nodeID, structs.NodeStatusDown, "Node failed gossip health check"); err != nil {
		s.logger.Error("mark failed node down", "node_id", nodeID, "error", err)
	}
}

// failedClients marks down every client node gossip saw fail; a new
// leader runs it so a failure during the election is not missed.
func (s *Server) failedClients() {
	s.members.mu.Lock()
	var failed []string
	for id, status := range s.members.clients {
		if status == gossip.StatusFailed {
			failed = append(failed, id)
		}
	}
	s.members.mu.Unlock()
	for _, id := range failed {
		s.nodeFailed(id)
	}
}
