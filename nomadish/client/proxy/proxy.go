package proxy

import (
	"context"
	"errors"
	"io"
	"net"
	"sort"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Defaults of Config.
const (
	// DefaultFailCooldown is how long an instance whose dial failed is
	// tried only after the others.
	DefaultFailCooldown = 5 * time.Second
	// DefaultFirstUpdateWait is how long a connection accepted before the
	// first set of instances is known waits for it.
	DefaultFirstUpdateWait = 10 * time.Second
)

// Config tunes a Proxy. Zero fields take their defaults.
type Config struct {
	// Name names the proxy in logs (the destination service).
	Name string
	// Policy is structs.UpstreamPolicyRoundRobin (the default) or
	// structs.UpstreamPolicyLeastConn.
	Policy string
	// ConnectTimeout bounds one dial to an instance.
	ConnectTimeout time.Duration
	// DrainTimeout is how long connections to a removed instance may stay
	// open; zero closes them at once.
	DrainTimeout time.Duration
	// FailCooldown is how long an instance whose dial failed is tried
	// last.
	FailCooldown time.Duration
	// FirstUpdateWait bounds how long a connection accepted before the
	// first Update waits for it.
	FirstUpdateWait time.Duration
	// Dial opens a connection to an instance; nil uses a net.Dialer.
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Logger; nil logs nothing.
	Logger hclog.Logger
}

// DefaultConfig returns a config with every default filled in.
func DefaultConfig() Config {
	return Config{
		Policy:          structs.UpstreamPolicyRoundRobin,
		ConnectTimeout:  structs.DefaultUpstreamConnectTimeout,
		DrainTimeout:    structs.DefaultUpstreamDrainTimeout,
		FailCooldown:    DefaultFailCooldown,
		FirstUpdateWait: DefaultFirstUpdateWait,
	}
}

func (c *Config) canonicalize() {
	d := DefaultConfig()
	if c.Policy == "" {
		c.Policy = d.Policy
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = d.ConnectTimeout
	}
	if c.DrainTimeout < 0 {
		c.DrainTimeout = 0
	}
	if c.FailCooldown <= 0 {
		c.FailCooldown = d.FailCooldown
	}
	if c.FirstUpdateWait <= 0 {
		c.FirstUpdateWait = d.FirstUpdateWait
	}
	if c.Dial == nil {
		var dl net.Dialer
		c.Dial = dl.DialContext
	}
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
}

// Proxy forwards the connections of one listener to the instances of one
// service. Start runs it; Update, Stats and Close may be called from any
// goroutine.
type Proxy struct {
	ln     net.Listener
	cfg    Config
	logger hclog.Logger

	// stop ends dials in progress on Close.
	stop     context.Context
	stopFunc context.CancelFunc
	wg       sync.WaitGroup

	// ready is closed by the first Update.
	ready     chan struct{}
	readyOnce sync.Once

	mu      sync.Mutex
	bal     *balancer
	closed  bool
	timers  map[*time.Timer]struct{}
	clients map[net.Conn]struct{}
	// lastWarn is when a failed connection was last logged as a warning.
	lastWarn time.Time
}

// session is one proxied connection.
type session struct {
	client, upstream net.Conn
}

func (s *session) close() {
	_ = s.client.Close()
	_ = s.upstream.Close()
}

// New returns a proxy serving ln. It owns ln from now on.
func New(ln net.Listener, cfg Config) *Proxy {
	cfg.canonicalize()
	stop, cancel := context.WithCancel(context.Background())
	return &Proxy{
		ln:       ln,
		cfg:      cfg,
		logger:   cfg.Logger,
		stop:     stop,
		stopFunc: cancel,
		ready:    make(chan struct{}),
		bal:      newBalancer(cfg.Policy, cfg.FailCooldown, time.Now),
		timers:   map[*time.Timer]struct{}{},
		clients:  map[net.Conn]struct{}{},
	}
}

// Addr is the listener's address.
func (p *Proxy) Addr() net.Addr { return p.ln.Addr() }

// Start accepts connections until Close.
func (p *Proxy) Start() {
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.acceptLoop()
	}()
}

func (p *Proxy) acceptLoop() {
	failures := 0
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if p.isClosed() || errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, then go on.
			failures++
			d := time.Duration(failures) * 5 * time.Millisecond
			if d > time.Second {
				d = time.Second
			}
			p.logger.Warn("accept failed", "error", err)
			select {
			case <-time.After(d):
			case <-p.stop.Done():
				return
			}
			continue
		}
		failures = 0
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.clients[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

func (p *Proxy) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// Update replaces the set of instances. New connections go to the new set
// at once; connections to removed instances may finish within the drain
// timeout, then are closed.
func (p *Proxy) Update(bs []Backend) {
	p.mu.Lock()
	defer p.readyOnce.Do(func() { close(p.ready) })
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	for _, be := range p.bal.update(bs) {
		p.logger.Debug("draining instance", "instance", be.ID, "addr", be.Addr, "connections", be.active)
		if p.cfg.DrainTimeout == 0 {
			p.closeSessionsLocked(be)
			continue
		}
		be, gen := be, be.drainGen
		var t *time.Timer
		t = time.AfterFunc(p.cfg.DrainTimeout, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			delete(p.timers, t)
			if be.draining && be.drainGen == gen {
				p.closeSessionsLocked(be)
			}
		})
		p.timers[t] = struct{}{}
	}
}

func (p *Proxy) closeSessionsLocked(be *backend) {
	for s := range be.sessions {
		s.close()
	}
}

// handle proxies one client connection.
func (p *Proxy) handle(client net.Conn) {
	defer func() {
		p.mu.Lock()
		delete(p.clients, client)
		p.mu.Unlock()
		_ = client.Close()
	}()
	if !p.waitReady() {
		return
	}
	be, s := p.connect(client)
	if be == nil {
		return
	}
	pipe(client, s.upstream)
	p.mu.Lock()
	delete(be.sessions, s)
	p.bal.release(be)
	p.mu.Unlock()
	_ = s.upstream.Close()
}

// waitReady waits, bounded by FirstUpdateWait, for the first set of
// instances; false when it did not come or the proxy closed.
func (p *Proxy) waitReady() bool {
	select {
	case <-p.ready:
		return true
	default:
	}
	t := time.NewTimer(p.cfg.FirstUpdateWait)
	defer t.Stop()
	select {
	case <-p.ready:
		return true
	case <-p.stop.Done():
		return false
	case <-t.C:
		p.logger.Warn("no instances known yet; connection closed")
		return false
	}
}

// connect dials instances in the balancer's order until one answers and
// records the session with it. It returns nil when none answered.
func (p *Proxy) connect(client net.Conn) (*backend, *session) {
	tried := map[*backend]bool{}
	for {
		p.mu.Lock()
		be := p.bal.pick(tried)
		if be != nil {
			tried[be] = true
			be.active++
		}
		p.mu.Unlock()
		if be == nil {
			if len(tried) == 0 {
				p.logger.Debug("no healthy instance; connection closed")
			} else if p.warnAllowed() {
				p.logger.Warn("no instance answered; connection closed", "tried", len(tried))
			}
			return nil, nil
		}
		ctx, cancel := context.WithTimeout(p.stop, p.cfg.ConnectTimeout)
		up, err := p.cfg.Dial(ctx, "tcp", be.Addr)
		cancel()
		p.mu.Lock()
		if err == nil {
			be.failedAt = time.Time{}
			be.total++
			s := &session{client: client, upstream: up}
			be.sessions[s] = struct{}{}
			p.mu.Unlock()
			return be, s
		}
		be.failedAt = p.bal.now()
		p.bal.release(be)
		p.mu.Unlock()
		if p.stop.Err() != nil {
			return nil, nil
		}
		p.logger.Debug("dial failed; trying the next instance", "instance", be.ID, "addr", be.Addr, "error", err)
	}
}

// warnGap is the least time between two warnings about connections no
// instance answered, so a dead service does not flood the log.
const warnGap = 10 * time.Second

func (p *Proxy) warnAllowed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if now.Sub(p.lastWarn) < warnGap {
		return false
	}
	p.lastWarn = now
	return true
}

// pipe copies both ways until both directions end. A clean end of one
// direction is passed on as a half-close; an error closes both.
func pipe(client, up net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		copyHalf(up, client)
	}()
	copyHalf(client, up)
	<-done
}

// copyBufs holds the copy buffers. A plain buffered copy measured as fast
// as splice(2) on loopback, or faster, and costs 64 KiB per connection.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func copyHalf(dst, src net.Conn) {
	buf := copyBufs.Get().(*[]byte)
	// Hiding ReadFrom and WriteTo keeps io.CopyBuffer on the buffer.
	_, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, *buf)
	copyBufs.Put(buf)
	if err != nil {
		_ = dst.Close()
		_ = src.Close()
		return
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok {
		if cw.CloseWrite() == nil {
			return
		}
	}
	_ = dst.Close()
}

// Close stops accepting, closes every connection and waits for the
// proxy's goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.wg.Wait()
		return nil
	}
	p.closed = true
	err := p.ln.Close()
	for t := range p.timers {
		t.Stop()
	}
	clear(p.timers)
	for c := range p.clients {
		_ = c.Close()
	}
	for _, be := range p.bal.known {
		p.closeSessionsLocked(be)
	}
	p.mu.Unlock()
	p.stopFunc()
	p.wg.Wait()
	return err
}

// BackendStats describes one instance as the proxy sees it.
type BackendStats struct {
	ID, Addr string
	// Active is the number of open connections.
	Active int
	// Total is the number of connections it accepted.
	Total uint64
	// Draining is set for an instance removed with connections open.
	Draining bool
}

// Stats returns the known instances, live and draining, sorted by ID.
func (p *Proxy) Stats() []BackendStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]BackendStats, 0, len(p.bal.known))
	for _, be := range p.bal.known {
		out = append(out, BackendStats{ID: be.ID, Addr: be.Addr, Active: be.active, Total: be.total, Draining: be.draining})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
