package server

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/rpc"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Server is one nomadish server: a Raft member with a replicated state
// store, RPC endpoints, and, while leader, the eval broker, plan applier
// and heartbeat timers.
type Server struct {
	config *Config
	logger hclog.Logger

	fsm       *fsm
	raft      *raft.Raft
	raftStore *raftboltdb.BoltStore
	raftLayer *raftLayer
	raftTrans *raft.NetworkTransport

	rpcListener net.Listener
	rpcServer   *rpc.Server
	inproc      *inprocRPC
	pool        *pool.ConnPool
	connsMu     sync.Mutex
	conns       map[net.Conn]struct{}

	evalBroker   *EvalBroker
	blockedEvals *BlockedEvals
	planQueue    *PlanQueue
	planStats    planCounters
	heartbeats   *heartbeats

	events       *EventBroker
	members      membership
	reconcileMu  sync.Mutex
	hasRaftState bool

	// leaderReady is set once this leader's FSM has applied everything
	// committed before its term (the barrier in establishLeadership);
	// consistent reads wait for it.
	leaderReady atomic.Bool

	leaderMu     sync.Mutex
	leaderCancel context.CancelFunc
	leaderWG     sync.WaitGroup

	// gcMu keeps garbage collection passes from overlapping.
	gcMu sync.Mutex

	shutdownCh   chan struct{}
	shutdownOnce sync.Once
	wg           sync.WaitGroup
	ctx          context.Context
	cancel       context.CancelFunc
}

// NewServer starts a server: it opens the Raft log in the data dir,
// listens on the RPC address and starts its scheduler workers.
func NewServer(cfg *Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		config:     cfg,
		logger:     cfg.Logger.Named("server"),
		pool:       &pool.ConnPool{},
		conns:      map[net.Conn]struct{}{},
		shutdownCh: make(chan struct{}),
		members:    membership{servers: map[string]*serverMember{}, clients: map[string]string{}},
		ctx:        ctx,
		cancel:     cancel,
	}
	s.evalBroker = NewEvalBroker(cfg.EvalNackTimeout, cfg.EvalDeliveryLimit)
	s.blockedEvals = NewBlockedEvals(s.evalBroker)
	s.planQueue = NewPlanQueue()
	s.heartbeats = newHeartbeats(s)
	s.events = NewEventBroker(cfg.EventBufferSize)
	s.fsm = newFSM(s.logger)
	s.fsm.timetable = gcTimeTable(cfg)
	s.fsm.events = s.events
	s.fsm.onEvals = s.evalsCommitted
	s.fsm.onAllocsUpdated = func(allocs []*structs.Allocation) {
		// Capacity changes when a node comes up or allocations end;
		// a client reporting "running" frees nothing.
		freed := allocs == nil
		for _, a := range allocs {
			if a.ClientTerminalStatus() {
				freed = true
				break
			}
		}
		if freed {
			s.blockedEvals.UnblockAll(s.fsm.State().LatestIndex())
		}
	}

	if err := s.setupRPC(); err != nil {
		cancel()
		return nil, err
	}
	if err := s.setupRaft(); err != nil {
		s.rpcListener.Close()
		cancel()
		return nil, err
	}
	s.wg.Add(1)
	go s.monitorLeadership()
	for i := 0; i < cfg.NumSchedulers; i++ {
		w := newWorker(s, i)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.run(s.ctx)
		}()
	}
	return s, nil
}

func (s *Server) setupRPC() error {
	ln, err := net.Listen("tcp", s.config.RPCAddr)
	if err != nil {
		return fmt.Errorf("listen on rpc address: %w", err)
	}
	s.rpcListener = ln
	endpoints := map[string]interface{}{
		"Node":                &NodeEndpoint{srv: s},
		"Job":                 &JobEndpoint{srv: s},
		"Deployment":          &DeploymentEndpoint{srv: s},
		"Alloc":               &AllocEndpoint{srv: s},
		"Eval":                &EvalEndpoint{srv: s},
		"Status":              &StatusEndpoint{srv: s},
		"Plan":                &PlanEndpoint{srv: s},
		"Operator":            &OperatorEndpoint{srv: s},
		"ServiceRegistration": &ServiceRegistrationEndpoint{srv: s},
		"System":              &SystemEndpoint{srv: s},
	}
	s.rpcServer = rpc.NewServer()
	for name, ep := range endpoints {
		if err := s.rpcServer.RegisterName(name, ep); err != nil {
			ln.Close()
			return fmt.Errorf("register %s endpoint: %w", name, err)
		}
	}
	s.inproc = newInprocRPC(endpoints)
	s.wg.Add(1)
	go s.listen()
	return nil
}

// advertiseAddr is the RPC address other agents reach this server at.
func (s *Server) advertiseAddr() net.Addr {
	if s.config.RPCAdvertise != "" {
		if a, err := net.ResolveTCPAddr("tcp", s.config.RPCAdvertise); err == nil {
			return a
		}
	}
	return s.rpcListener.Addr()
}

func (s *Server) setupRaft() error {
	dir := filepath.Join(s.config.DataDir, "raft")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create raft dir: %w", err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
	if err != nil {
		return fmt.Errorf("open raft log: %w", err)
	}
	s.raftStore = store
	logs, err := raft.NewLogCache(512, store)
	if err != nil {
		store.Close()
		return fmt.Errorf("raft log cache: %w", err)
	}
	raftLogger := s.logger.Named("raft")
	snaps, err := raft.NewFileSnapshotStoreWithLogger(dir, 2, raftLogger)
	if err != nil {
		store.Close()
		return fmt.Errorf("raft snapshot store: %w", err)
	}
	s.raftLayer = newRaftLayer(s.advertiseAddr())
	s.raftTrans = raft.NewNetworkTransportWithLogger(s.raftLayer, 3, 10*time.Second, raftLogger)

	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(s.config.NodeName)
	rc.Logger = raftLogger
	rc.SnapshotThreshold = s.config.RaftSnapshotThreshold
	rc.SnapshotInterval = s.config.RaftSnapshotInterval
	if s.config.RaftTrailingLogs > 0 {
		rc.TrailingLogs = s.config.RaftTrailingLogs
	}
	if s.config.DevMode {
		rc.HeartbeatTimeout = 200 * time.Millisecond
		rc.ElectionTimeout = 200 * time.Millisecond
		rc.LeaderLeaseTimeout = 100 * time.Millisecond
	}
	existing, err := raft.HasExistingState(logs, store, snaps)
	if err != nil {
		store.Close()
		return fmt.Errorf("check raft state: %w", err)
	}
	s.hasRaftState = existing
	if !existing && (s.config.DevMode || s.config.BootstrapExpect == 1) {
		conf := raft.Configuration{Servers: []raft.Server{{
			Suffrage: raft.Voter,
			ID:       rc.LocalID,
			Address:  s.raftTrans.LocalAddr(),
		}}}
		if err := raft.BootstrapCluster(rc, logs, store, snaps, s.raftTrans, conf); err != nil {
			store.Close()
			return fmt.Errorf("bootstrap raft: %w", err)
		}
	}
	r, err := raft.NewRaft(rc, s.fsm, logs, store, snaps, s.raftTrans)
	if err != nil {
		store.Close()
		return fmt.Errorf("start raft: %w", err)
	}
	s.raft = r
	return nil
}

// State returns the current state store.
func (s *Server) State() *state.StateStore { return s.fsm.State() }

// IsLeader reports whether this server is the Raft leader.
func (s *Server) IsLeader() bool { return s.raft.State() == raft.Leader }

// Leader returns the leader's RPC address, or "" when none is known.
func (s *Server) Leader() string {
	addr, _ := s.raft.LeaderWithID()
	return string(addr)
}

// RPC calls an endpoint method in process: the agent's own client and HTTP
// API use it. Writes and consistent reads forward to the leader from there.
func (s *Server) RPC(method string, args, reply interface{}) error {
	return s.inproc.call(method, args, reply)
}

// Peers returns the Raft configuration's server addresses.
func (s *Server) Peers() ([]string, error) {
	f := s.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return nil, err
	}
	var out []string
	for _, srv := range f.Configuration().Servers {
		out = append(out, string(srv.Address))
	}
	return out, nil
}

// raftApply commits a message through Raft and returns its index.
func (s *Server) raftApply(t structs.MessageType, msg interface{}) (uint64, error) {
	buf, err := encodeMsg(t, msg)
	if err != nil {
		return 0, err
	}
	return s.raftApplyEntry(buf)
}

// raftApplyHanded is raftApply for a request this server's FSM applies as
// it is when this server leads, without decoding the entry it was just
// encoded into (see handoff): msg and everything it points to become the
// state's, so the caller must not change them afterwards nor share them
// with code that does. The message type must be one of handable.
func (s *Server) raftApplyHanded(t structs.MessageType, msg interface{}) (uint64, error) {
	if !handable[t] {
		return 0, fmt.Errorf("message type %d is not applied through decodeEntry", t)
	}
	buf, err := encodeMsg(t, msg)
	if err != nil {
		return 0, err
	}
	withdraw := s.fsm.handoff.offer(buf, t, msg)
	defer withdraw()
	return s.raftApplyEntry(buf)
}

// raftApplyEntry commits an encoded entry and returns its index.
func (s *Server) raftApplyEntry(buf []byte) (uint64, error) {
	f := s.raft.Apply(buf, rpcTimeout)
	if err := f.Error(); err != nil {
		if errors.Is(err, raft.ErrNotLeader) || errors.Is(err, raft.ErrLeadershipLost) {
			return 0, fmt.Errorf("%w: %v", ErrNoLeader, err)
		}
		return 0, fmt.Errorf("raft apply: %w", err)
	}
	if err, ok := f.Response().(error); ok && err != nil {
		return 0, err
	}
	return f.Index(), nil
}

// forward sends a request to the leader when this server is not it. It
// reports whether it handled the request.
func (s *Server) forward(method string, allowStale bool, args, reply interface{}) (bool, error) {
	if allowStale {
		return false, nil
	}
	if s.IsLeader() {
		s.waitLeaderReady()
		return false, nil
	}
	// The request is re-sent only when it surely never reached a leader:
	// no leader was known, or the connection could not be made.
	deadline := time.Now().Add(rpcHoldTimeout)
	backoff := 20 * time.Millisecond
	for {
		leader := s.waitForLeader()
		if leader == "" {
			return true, ErrNoLeader
		}
		if leader == s.advertiseAddr().String() {
			s.waitLeaderReady()
			return false, nil
		}
		err := s.pool.Call(leader, method, args, reply, rpcTimeout+10*time.Minute)
		if err == nil || time.Now().After(deadline) {
			return true, err
		}
		if !errors.Is(err, pool.ErrDial) && !strings.Contains(err.Error(), ErrNoLeader.Error()) {
			return true, err
		}
		select {
		case <-s.shutdownCh:
			return true, err
		case <-time.After(backoff):
		}
		if backoff *= 2; backoff > time.Second {
			backoff = time.Second
		}
	}
}

// waitLeaderReady waits a little for a new leader to catch up with the log.
func (s *Server) waitLeaderReady() {
	deadline := time.Now().Add(5 * time.Second)
	for !s.leaderReady.Load() && s.IsLeader() && time.Now().Before(deadline) {
		select {
		case <-s.shutdownCh:
			return
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// rpcHoldTimeout is how long a request waits for a leader to be elected.
const rpcHoldTimeout = 7 * time.Second

// waitForLeader waits a little for an election to finish.
func (s *Server) waitForLeader() string {
	deadline := time.Now().Add(rpcHoldTimeout)
	for {
		if l := s.Leader(); l != "" {
			return l
		}
		if time.Now().After(deadline) {
			return ""
		}
		select {
		case <-s.shutdownCh:
			return ""
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Shutdown stops the server. It is safe to call more than once.
func (s *Server) Shutdown() error {
	var err error
	s.shutdownOnce.Do(func() {
		s.logger.Info("shutting down server")
		close(s.shutdownCh)
		s.cancel()
		s.revokeLeadership()
		if s.raft != nil {
			if e := s.raft.Shutdown().Error(); e != nil {
				err = fmt.Errorf("shutdown raft: %w", e)
			}
		}
		if s.raftLayer != nil {
			s.raftLayer.Close()
		}
		if s.raftTrans != nil {
			s.raftTrans.Close()
		}
		s.rpcListener.Close()
		s.connsMu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.connsMu.Unlock()
		s.pool.Close()
		s.wg.Wait()
		if s.raftStore != nil {
			s.raftStore.Close()
		}
	})
	return err
}

// RPCContext is RPC that gives up waiting when ctx ends. The call itself
// finishes in the background (a blocking query ends at its wait time or
// at server shutdown).
func (s *Server) RPCContext(ctx context.Context, method string, args, reply interface{}) error {
	done := make(chan error, 1)
	go func() { done <- s.inproc.call(method, args, reply) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// RaftStats are Raft's own counters: state, term, indexes.
func (s *Server) RaftStats() map[string]string { return s.raft.Stats() }

// BrokerStats counts the eval broker's evaluations.
func (s *Server) BrokerStats() BrokerStats { return s.evalBroker.Stats() }

// PlanStats counts the plans this server applied while it led.
func (s *Server) PlanStats() PlanStats { return s.planStats.stats() }

// BlockedEvals is how many evaluations wait for capacity.
func (s *Server) BlockedEvals() int { return s.blockedEvals.Len() }
