package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/client/allocrunner"
	"github.com/nomadish/nomadish/nomadish/client/fingerprint"
	"github.com/nomadish/nomadish/nomadish/client/network"
	"github.com/nomadish/nomadish/nomadish/client/proxy"
	"github.com/nomadish/nomadish/nomadish/client/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// ErrUnknownAlloc is returned for an allocation this client does not run.
var ErrUnknownAlloc = errors.New("unknown allocation")

// Client is the client agent.
type Client struct {
	cfg     *Config
	logger  hclog.Logger
	state   *state.Store
	drivers *driverManager
	updates *updater
	// network makes bridge-mode allocations' namespaces.
	network *network.Manager
	// proxies serves the allocations' upstreams.
	proxies *proxy.Manager

	nodeMu sync.Mutex
	node   *structs.Node

	// firstFingerprint receives each driver's name on its first fingerprint.
	firstFingerprint chan string
	// nodeChanged asks the register loop to re-register the node.
	nodeChanged chan struct{}
	// registered is closed after the first successful registration.
	registered     chan struct{}
	registeredOnce sync.Once

	allocMu sync.Mutex
	allocs  map[string]*allocrunner.AllocRunner

	lifeMu   sync.Mutex
	started  bool
	shutdown bool
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// arWG tracks alloc runner goroutines separately, so a DevMode
	// shutdown can wait for tasks to stop before stopping the loops.
	arWG sync.WaitGroup
}

// NewClient fingerprints the host, loads (or creates) the node identity and
// opens the state database. It starts nothing; call Start.
func NewClient(cfg *Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid client config: %w", err)
	}
	cfg.canonicalize()
	logger := cfg.Logger.Named("client")

	stateDir := filepath.Join(cfg.DataDir, "client")
	for _, d := range []string{stateDir, filepath.Join(cfg.DataDir, "alloc")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create client dir: %w", err)
		}
	}
	id, err := persistedID(filepath.Join(stateDir, "client-id"))
	if err != nil {
		return nil, err
	}
	secret, err := persistedID(filepath.Join(stateDir, "secret-id"))
	if err != nil {
		return nil, err
	}
	st, err := state.Open(filepath.Join(stateDir, "state.db"))
	if err != nil {
		return nil, err
	}

	c := &Client{
		cfg:         cfg,
		logger:      logger,
		state:       st,
		nodeChanged: make(chan struct{}, 1),
		registered:  make(chan struct{}),
		allocs:      map[string]*allocrunner.AllocRunner{},
	}
	c.drivers = newDriverManager(cfg, logger)
	c.updates = newUpdater(c)
	if c.network, err = newNetworkManager(cfg, logger); err != nil {
		st.Close()
		return nil, err
	}
	c.proxies = proxy.NewManager(&serviceRPC{c: c}, proxy.Config{}, logger.Named("proxy"))
	fp := fingerprint.Host(cfg.DataDir)
	if err := c.network.Usable(); err != nil {
		logger.Info("bridge and none network modes unavailable", "reason", err)
	} else {
		fp.Attributes[structs.NodeAttrNetworkBridge] = "true"
	}
	c.node = c.buildNode(id, secret, fp)
	return c, nil
}

// persistedID reads a UUID from path, creating it on first use.
func persistedID(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	id := structs.GenerateUUID()
	if err := os.WriteFile(path, []byte(id), 0o600); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return id, nil
}

func (c *Client) buildNode(id, secret string, fp *fingerprint.Result) *structs.Node {
	cfg := c.cfg
	name := cfg.Name
	if name == "" {
		name = fp.HostnameValue
	}
	attrs := fp.Attributes
	attrs["unique.hostname"] = nonEmpty(attrs["unique.hostname"], name)
	if cfg.CPUTotalCompute > 0 {
		attrs["cpu.totalcompute"] = fmt.Sprint(cfg.CPUTotalCompute)
	}
	if cfg.MemoryTotalMB > 0 {
		attrs["memory.totalbytes"] = fmt.Sprint(int64(cfg.MemoryTotalMB) * 1024 * 1024)
	}
	meta := map[string]string{}
	for k, v := range cfg.Meta {
		meta[k] = v
	}
	reserved := &structs.NodeReservedResources{}
	if cfg.Reserved != nil {
		*reserved = *cfg.Reserved
	}
	return &structs.Node{
		ID:                    id,
		SecretID:              secret,
		Datacenter:            cfg.Datacenter,
		Name:                  name,
		HTTPAddr:              cfg.HTTPAddr,
		Attributes:            attrs,
		NodeResources:         fp.Resources(cfg.CPUTotalCompute, cfg.MemoryTotalMB),
		ReservedResources:     reserved,
		Meta:                  meta,
		NodeClass:             cfg.NodeClass,
		NodePool:              cfg.NodePool,
		SchedulingEligibility: structs.NodeSchedulingEligible,
		Status:                structs.NodeStatusInit,
		Drivers:               map[string]*structs.DriverInfo{},
	}
}

// NodeID returns the node's persisted ID.
func (c *Client) NodeID() string {
	c.nodeMu.Lock()
	defer c.nodeMu.Unlock()
	return c.node.ID
}

// Node returns a copy of the node as the client would register it now.
func (c *Client) Node() *structs.Node {
	c.nodeMu.Lock()
	defer c.nodeMu.Unlock()
	return copyNode(c.node)
}

func copyNode(n *structs.Node) *structs.Node {
	out := *n
	out.Attributes = copyMap(n.Attributes)
	out.Meta = copyMap(n.Meta)
	out.Drivers = make(map[string]*structs.DriverInfo, len(n.Drivers))
	for k, v := range n.Drivers {
		d := *v
		d.Attributes = copyMap(v.Attributes)
		out.Drivers[k] = &d
	}
	if n.NodeResources != nil {
		r := *n.NodeResources
		out.NodeResources = &r
	}
	if n.ReservedResources != nil {
		r := *n.ReservedResources
		out.ReservedResources = &r
	}
	return &out
}

func copyMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Start starts the driver fingerprint loops, restores allocations from the
// state database (re-attaching to their tasks), and starts the
// register/heartbeat loop (which first waits briefly for the drivers' first
// fingerprints), the alloc watcher and the status updater. It returns
// without waiting for drivers or servers.
func (c *Client) Start() error {
	c.lifeMu.Lock()
	defer c.lifeMu.Unlock()
	if c.started || c.shutdown {
		return errors.New("client already started")
	}
	c.started = true
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel

	c.startDriverFingerprints(ctx)

	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		c.updates.run(ctx)
	}()
	if err := c.restoreAllocs(ctx); err != nil {
		c.logger.Error("restore allocations", "error", err)
	}
	c.cleanupNetworks(ctx)
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		c.registerLoop(ctx)
	}()
	go func() {
		defer c.wg.Done()
		c.watchAllocs(ctx)
	}()
	if err := c.startDNS(ctx); err != nil {
		c.logger.Error("service dns", "error", err)
	}
	c.logger.Info("client started", "node_id", c.NodeID(), "data_dir", c.cfg.DataDir)
	return nil
}

// Shutdown stops the client's loops and waits for them. In DevMode it
// first stops every task; otherwise tasks keep running.
func (c *Client) Shutdown() error {
	c.lifeMu.Lock()
	if c.shutdown {
		c.lifeMu.Unlock()
		return nil
	}
	c.shutdown = true
	started := c.started
	c.lifeMu.Unlock()

	if started {
		if c.cfg.DevMode {
			c.killAllAllocs()
		}
		c.cancel()
		c.wg.Wait()
		c.arWG.Wait()
	}
	c.proxies.Close()
	return c.state.Close()
}

// killAllAllocs stops every task and waits, bounded by ShutdownTimeout.
func (c *Client) killAllAllocs() {
	c.allocMu.Lock()
	runners := make([]*allocrunner.AllocRunner, 0, len(c.allocs))
	for _, ar := range c.allocs {
		runners = append(runners, ar)
	}
	c.allocMu.Unlock()
	for _, ar := range runners {
		ar.Kill()
	}
	deadline := time.NewTimer(c.cfg.ShutdownTimeout)
	defer deadline.Stop()
	for _, ar := range runners {
		select {
		case <-ar.WaitCh():
		case <-deadline.C:
			c.logger.Warn("timed out stopping tasks on shutdown")
			return
		}
	}
	// Give the updater a moment to report the final states.
	c.updates.flush(500 * time.Millisecond)
}

// AllocDir returns the host path of an allocation's directory.
func (c *Client) AllocDir(allocID string) (string, error) {
	ar := c.runner(allocID)
	if ar == nil {
		return "", fmt.Errorf("%w: %s", ErrUnknownAlloc, allocID)
	}
	return ar.AllocDir().AllocDir, nil
}

// Alloc returns the client's view of an allocation: the server's version
// with the client's task states and status.
func (c *Client) Alloc(allocID string) (*structs.Allocation, error) {
	ar := c.runner(allocID)
	if ar == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAlloc, allocID)
	}
	return ar.Alloc(), nil
}

// RestartAlloc restarts a running task of an allocation, or all its running
// tasks when task is "", outside the restart policy (`alloc restart`).
// Errors wrap ErrUnknownAlloc, ErrUnknownTask or ErrTaskNotRunning.
func (c *Client) RestartAlloc(allocID, task string) error {
	ar := c.runner(allocID)
	if ar == nil {
		return fmt.Errorf("%w: %s", ErrUnknownAlloc, allocID)
	}
	return ar.RestartTask(task)
}

// SignalAlloc sends a signal to a running task (`alloc signal`). With task
// "", the allocation must have exactly one task.
func (c *Client) SignalAlloc(ctx context.Context, allocID, task, signal string) error {
	ar := c.runner(allocID)
	if ar == nil {
		return fmt.Errorf("%w: %s", ErrUnknownAlloc, allocID)
	}
	if task == "" {
		a := ar.Alloc()
		if len(a.TaskStates) != 1 {
			return fmt.Errorf("%w: allocation has %d tasks; name one", ErrUnknownTask, len(a.TaskStates))
		}
		for name := range a.TaskStates {
			task = name
		}
	}
	return ar.SignalTask(ctx, task, signal)
}

// ExecTask runs a command in a running task's environment, without a TTY,
// and returns its output (`alloc exec` without -t).
func (c *Client) ExecTask(ctx context.Context, allocID, task string, cmd []string, timeout time.Duration) (*drivers.ExecTaskResult, error) {
	ar := c.runner(allocID)
	if ar == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAlloc, allocID)
	}
	return ar.ExecTask(ctx, task, cmd, timeout)
}

// TaskStats returns one resource usage sample of a running task.
func (c *Client) TaskStats(ctx context.Context, allocID, task string) (*drivers.TaskResourceUsage, error) {
	ar := c.runner(allocID)
	if ar == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownAlloc, allocID)
	}
	return ar.TaskStats(ctx, task)
}

// NumAllocs returns how many allocations the client holds.
func (c *Client) NumAllocs() int {
	c.allocMu.Lock()
	defer c.allocMu.Unlock()
	return len(c.allocs)
}

func (c *Client) allocRoot() string { return filepath.Join(c.cfg.DataDir, "alloc") }

func (c *Client) runner(allocID string) *allocrunner.AllocRunner {
	c.allocMu.Lock()
	defer c.allocMu.Unlock()
	return c.allocs[allocID]
}

// rpc calls the servers, abandoning the call when ctx ends if the RPCer
// supports it.
func (c *Client) rpc(ctx context.Context, method string, args, reply interface{}) error {
	if r, ok := c.cfg.RPC.(ContextRPCer); ok {
		return r.RPCContext(ctx, method, args, reply)
	}
	return c.cfg.RPC.RPC(method, args, reply)
}

// backoff returns the delay before retry n (from 0): base doubled per
// attempt, capped, with up to 25% jitter.
func backoff(n int, base, limit time.Duration) time.Duration {
	d := base
	for i := 0; i < n && d < limit; i++ {
		d *= 2
	}
	if d > limit {
		d = limit
	}
	return d + time.Duration(rand.Int64N(int64(d)/4+1))
}

// sleepCtx sleeps for d; it returns false if ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// isNodeNotFound reports a server error meaning the node is not registered.
func isNodeNotFound(err error) bool {
	if err == nil {
		return false
	}
	s := strings.ToLower(err.Error())
	return strings.Contains(s, "node not found") || strings.Contains(s, "unknown node") ||
		(strings.Contains(s, "node") && strings.Contains(s, "not found"))
}
