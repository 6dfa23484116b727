package agent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/nomadish/client"
	"github.com/nomadish/nomadish/nomadish/gossip"
	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/server"
)

// Version of nomadish.
const Version = "0.1.0"

// Agent runs a server, a client, or both, and the HTTP API.
type Agent struct {
	config *Config
	logger hclog.Logger

	server  *server.Server
	client  *client.Client
	http    *HTTPServer
	remote  *remoteServers
	metrics *agentMetrics

	pluginsMu sync.Mutex
	plugins   []*goplugin.Client

	gossip       *gossip.Pool
	gossipEvents chan gossip.Event
	gossipCancel context.CancelFunc
	// gossipCtx ends with gossipCancel; joinGossip retries under it.
	gossipCtx context.Context
	wg        sync.WaitGroup

	// tempDir is removed on shutdown (dev mode without -data-dir).
	tempDir string
}

// NewAgent starts an agent from a validated config.
func NewAgent(cfg *Config, logger hclog.Logger) (*Agent, error) {
	a := &Agent{config: cfg, logger: logger}
	if cfg.DataDir == "" {
		dir, err := os.MkdirTemp("", "nomadish-dev-")
		if err != nil {
			return nil, fmt.Errorf("create dev data dir: %w", err)
		}
		cfg.DataDir = dir
		a.tempDir = dir
	}
	if cfg.Name == "" {
		host, err := os.Hostname()
		if err != nil {
			host = "nomadish"
		}
		cfg.Name = host
	}
	if cfg.ServerEnabled() {
		if err := a.setupServer(); err != nil {
			a.Shutdown()
			return nil, err
		}
	}
	var err error
	a.metrics = newAgentMetrics(a)
	a.http, err = newHTTPServer(a, cfg.addr(cfg.Addresses.HTTP, cfg.Ports.HTTP))
	if err != nil {
		a.Shutdown()
		return nil, err
	}
	a.remote = &remoteServers{static: withDefaultPort(cfg.Client.Servers, cfg.Ports.RPC), gossip: a.gossipServers, pool: &pool.ConnPool{}}
	if err := a.setupGossip(); err != nil {
		a.Shutdown()
		return nil, err
	}
	if cfg.ClientEnabled() {
		if err := a.setupClient(); err != nil {
			a.Shutdown()
			return nil, err
		}
		a.metrics.registerClient(a)
		if err := a.gossip.SetTags(a.gossipTags()); err != nil {
			a.logger.Warn("publish client gossip tags", "error", err)
		}
	}
	a.joinGossip()
	return a, nil
}

func (a *Agent) setupServer() error {
	c := a.config
	sc := server.DefaultConfig()
	sc.Logger = a.logger
	sc.NodeName = c.Name + "." + c.Region
	sc.Region = c.Region
	sc.Datacenter = c.Datacenter
	sc.DataDir = filepath.Join(c.DataDir, "server")
	sc.RPCAddr = c.addr(c.Addresses.RPC, c.Ports.RPC)
	if c.Advertise.RPC != "" {
		sc.RPCAdvertise = c.Advertise.RPC
	} else if c.BindAddr == "0.0.0.0" || c.BindAddr == "::" {
		sc.RPCAdvertise = net.JoinHostPort(advertiseIP(), strconv.Itoa(c.Ports.RPC))
	}
	sc.DevMode = c.DevMode
	if c.Server.BootstrapExpect > 0 {
		sc.BootstrapExpect = c.Server.BootstrapExpect
	}
	if c.Server.NumSchedulers != nil {
		sc.NumSchedulers = *c.Server.NumSchedulers
	}
	if c.Server.EventBufferSize != nil {
		sc.EventBufferSize = *c.Server.EventBufferSize
	}
	if d, err := time.ParseDuration(c.Server.HeartbeatGrace); err == nil && c.Server.HeartbeatGrace != "" {
		sc.HeartbeatGrace = d
	}
	if d, err := time.ParseDuration(c.Server.MinHeartbeatTTL); err == nil && c.Server.MinHeartbeatTTL != "" {
		sc.MinHeartbeatTTL = d
	}
	for _, g := range []struct {
		v   string
		dst *time.Duration
	}{
		{c.Server.JobGCInterval, &sc.JobGCInterval}, {c.Server.JobGCThreshold, &sc.JobGCThreshold},
		{c.Server.EvalGCThreshold, &sc.EvalGCThreshold}, {c.Server.BatchEvalGCThreshold, &sc.BatchEvalGCThreshold},
		{c.Server.DeploymentGCThreshold, &sc.DeploymentGCThreshold}, {c.Server.NodeGCThreshold, &sc.NodeGCThreshold},
	} {
		if d, err := time.ParseDuration(g.v); err == nil && d > 0 {
			*g.dst = d
		}
	}
	s, err := server.NewServer(sc)
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	a.server = s
	return nil
}

// RPC sends a request to the cluster: to this agent's own server when it
// runs one.
func (a *Agent) RPC(method string, args, reply interface{}) error {
	return a.RPCContext(context.Background(), method, args, reply)
}

// advertiseIP picks the address to advertise when binding to every
// interface: the first private IPv4 address, else the first other
// non-loopback one, else loopback.
func advertiseIP() string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "127.0.0.1"
	}
	var public string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() == nil || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		if ipn.IP.IsPrivate() {
			return ipn.IP.String()
		}
		if public == "" {
			public = ipn.IP.String()
		}
	}
	if public != "" {
		return public
	}
	return "127.0.0.1"
}

// RPCContext is RPC that stops waiting when ctx ends.
func (a *Agent) RPCContext(ctx context.Context, method string, args, reply interface{}) error {
	if a.server != nil {
		return a.server.RPCContext(ctx, method, args, reply)
	}
	timeout := rpcCallTimeout
	if q, ok := args.(interface{ TimeToBlock() time.Duration }); ok {
		timeout += q.TimeToBlock()
	}
	return a.remote.call(ctx, method, args, reply, timeout)
}

// HTTPAddr is the address the API listens on.
func (a *Agent) HTTPAddr() string { return a.http.Addr() }

// Shutdown stops the client (its tasks too in dev mode), the API and the server.
func (a *Agent) Shutdown() {
	if a.client != nil {
		if err := a.client.Shutdown(); err != nil {
			a.logger.Error("client shutdown", "error", err)
		}
	}
	// Plugins go with the agent; tasks outlive them (their executors
	// keep running) and are recovered by the next agent.
	a.pluginsMu.Lock()
	for _, pc := range a.plugins {
		pc.Kill()
	}
	a.plugins = nil
	a.pluginsMu.Unlock()
	if a.gossip != nil {
		if err := a.gossip.Leave(5 * time.Second); err != nil {
			a.logger.Warn("leave gossip pool", "error", err)
		}
	}
	if a.gossipCancel != nil {
		a.gossipCancel()
	}
	a.wg.Wait()
	if a.remote != nil {
		a.remote.pool.Close()
	}
	if a.http != nil {
		a.http.Shutdown()
	}
	if a.server != nil {
		if err := a.server.Shutdown(); err != nil {
			a.logger.Error("server shutdown", "error", err)
		}
	}
	if a.tempDir != "" {
		_ = os.RemoveAll(a.tempDir)
	}
}

// stats are the agent's per-subsystem counters, as /v1/agent/self shows them.
func (a *Agent) stats() map[string]map[string]string {
	out := map[string]map[string]string{}
	if a.server != nil {
		out["raft"] = a.server.RaftStats()
		out["nomad"] = map[string]string{
			"leader":       strconv.FormatBool(a.server.IsLeader()),
			"known_leader": strconv.FormatBool(a.server.Leader() != ""),
		}
	}
	if a.client != nil {
		out["client"] = map[string]string{"node_id": a.client.NodeID()}
	}
	return out
}
