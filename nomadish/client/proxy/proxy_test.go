package proxy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/nomadish/nomadish/nomadish/structs"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// server is a real TCP server on loopback that answers each line with
// "<name> <line>" until the client closes.
type server struct {
	name string
	ln   net.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	// accepted counts connections.
	accepted atomic.Int64
}

func startServer(t testing.TB, name string) *server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{name: name, ln: ln, conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns[c] = struct{}{}
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer func() {
					s.mu.Lock()
					delete(s.conns, c)
					s.mu.Unlock()
					c.Close()
				}()
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if _, err := fmt.Fprintf(c, "%s %s", s.name, line); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(s.stop)
	return s
}

func (s *server) addr() string { return s.ln.Addr().String() }

func (s *server) backend() Backend { return Backend{ID: s.name, Addr: s.addr()} }

// stop closes the listener and every connection: the instance is dead.
func (s *server) stop() {
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func startProxy(t testing.TB, cfg Config) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := New(ln, cfg)
	p.Start()
	t.Cleanup(func() { p.Close() })
	return p
}

// client is one connection through the proxy.
type client struct {
	c net.Conn
	r *bufio.Reader
}

func dial(t testing.TB, p *Proxy) *client {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{c: c, r: bufio.NewReader(c)}
}

// ask sends a line and returns the name of the server that answered.
func (c *client) ask(msg string) (string, error) {
	_ = c.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c.c, "%s\n", msg); err != nil {
		return "", err
	}
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	name, rest, _ := strings.Cut(strings.TrimSuffix(line, "\n"), " ")
	if rest != msg {
		return "", fmt.Errorf("answer %q does not echo %q", line, msg)
	}
	return name, nil
}

// once opens a connection, asks once and closes it.
func once(t testing.TB, p *Proxy) (string, error) {
	t.Helper()
	c := dial(t, p)
	defer c.c.Close()
	return c.ask("ping")
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func activeOf(p *Proxy, id string) int {
	for _, s := range p.Stats() {
		if s.ID == id {
			return s.Active
		}
	}
	return -1
}

func TestRoundRobinSpreadsConnectionsEvenly(t *testing.T) {
	a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
	p := startProxy(t, Config{})
	p.Update([]Backend{c.backend(), a.backend(), b.backend()})

	var got []string
	for i := 0; i < 9; i++ {
		name, err := once(t, p)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		got = append(got, name)
	}
	if want := "a b c a b c a b c"; strings.Join(got, " ") != want {
		t.Errorf("round robin order = %q, want %q", strings.Join(got, " "), want)
	}
	for _, s := range []*server{a, b, c} {
		if n := s.accepted.Load(); n != 3 {
			t.Errorf("server %s accepted %d connections, want 3", s.name, n)
		}
	}
}

// TestLeastConnPicksTheIdlestInstance holds connections open and checks
// that least_conn sends the next one where fewest are open, where round
// robin would send it to the next in turn.
func TestLeastConnPicksTheIdlestInstance(t *testing.T) {
	tests := []struct {
		name   string
		policy string
		want   string
	}{
		{"least_conn", structs.UpstreamPolicyLeastConn, "b"},
		{"round_robin", structs.UpstreamPolicyRoundRobin, "a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
			p := startProxy(t, Config{Policy: tc.policy})
			p.Update([]Backend{a.backend(), b.backend(), c.backend()})
			held := map[string]*client{}
			for i := 0; i < 3; i++ {
				cl := dial(t, p)
				name, err := cl.ask("hold")
				if err != nil {
					t.Fatal(err)
				}
				held[name] = cl
			}
			if len(held) != 3 {
				t.Fatalf("three held connections went to %d instances, want 3", len(held))
			}
			held["b"].c.Close()
			waitFor(t, "b's connection to close", func() bool { return activeOf(p, "b") == 0 })
			cl := dial(t, p)
			got, err := cl.ask("next")
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s sent the next connection to %s, want %s (a: %d, b: %d, c: %d open)",
					tc.policy, got, tc.want, activeOf(p, "a"), activeOf(p, "b"), activeOf(p, "c"))
			}
		})
	}
}

func TestLeastConnBalancesHeldConnections(t *testing.T) {
	a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
	p := startProxy(t, Config{Policy: structs.UpstreamPolicyLeastConn})
	p.Update([]Backend{a.backend(), b.backend(), c.backend()})
	count := map[string]int{}
	for i := 0; i < 12; i++ {
		// Close every fourth connection right away: the others stay open.
		cl := dial(t, p)
		name, err := cl.ask("x")
		if err != nil {
			t.Fatal(err)
		}
		if i%4 == 3 {
			cl.c.Close()
			waitFor(t, "close", func() bool { return activeOf(p, name) == count[name] })
			continue
		}
		count[name]++
	}
	for _, n := range []string{"a", "b", "c"} {
		if count[n] != 3 {
			t.Errorf("instance %s holds %d connections, want 3 each: %v", n, count[n], count)
		}
	}
}

// TestDialFailureMovesToTheNextInstance stops one instance: every
// connection still succeeds, on the others, and the dead one is dialed
// once and then left alone for the cooldown.
func TestDialFailureMovesToTheNextInstance(t *testing.T) {
	a, b, c := startServer(t, "a"), startServer(t, "b"), startServer(t, "c")
	var mu sync.Mutex
	dials := map[string]int{}
	var d net.Dialer
	p := startProxy(t, Config{FailCooldown: time.Minute, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dials[addr]++
		mu.Unlock()
		return d.DialContext(ctx, network, addr)
	}})
	p.Update([]Backend{a.backend(), b.backend(), c.backend()})
	b.stop()

	got := map[string]int{}
	for i := 0; i < 20; i++ {
		name, err := once(t, p)
		if err != nil {
			t.Fatalf("connection %d failed with an instance down: %v", i, err)
		}
		got[name]++
	}
	if got["b"] != 0 || got["a"] < 8 || got["c"] < 8 || got["a"]+got["c"] != 20 {
		t.Errorf("answers by instance = %v, want a and c about 10 each, b none", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := dials[b.addr()]; n != 1 {
		t.Errorf("dead instance dialed %d times within the cooldown, want 1", n)
	}
}

func TestEveryInstanceDownClosesTheConnection(t *testing.T) {
	a, b := startServer(t, "a"), startServer(t, "b")
	p := startProxy(t, Config{})
	p.Update([]Backend{a.backend(), b.backend()})
	a.stop()
	b.stop()
	start := time.Now()
	if name, err := once(t, p); err == nil {
		t.Fatalf("with every instance down a connection got an answer from %s", name)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("failing the connection took %v, want it prompt", d)
	}
	p.Update(nil)
	if _, err := once(t, p); err == nil {
		t.Fatal("with no instance a connection got an answer")
	}
}

// TestDrainLetsOpenConnectionsFinish removes an instance with a
// connection open: new connections avoid it at once, the open one keeps
// working until the drain timeout closes it.
func TestDrainLetsOpenConnectionsFinish(t *testing.T) {
	a, b := startServer(t, "a"), startServer(t, "b")
	const drain = 400 * time.Millisecond
	p := startProxy(t, Config{DrainTimeout: drain})
	p.Update([]Backend{a.backend(), b.backend()})
	old := dial(t, p)
	if name, err := old.ask("first"); err != nil || name != "a" {
		t.Fatalf("first connection answered by %q, %v; want a", name, err)
	}

	removed := time.Now()
	p.Update([]Backend{b.backend()})
	for i := 0; i < 5; i++ {
		if name, err := once(t, p); err != nil || name != "b" {
			t.Fatalf("new connection %d after the removal answered by %q, %v; want b", i, name, err)
		}
	}
	if name, err := old.ask("still there"); err != nil || name != "a" {
		t.Fatalf("open connection to the draining instance: %q, %v; want a's answer", name, err)
	}
	st := p.Stats()
	if len(st) != 2 || st[0].ID != "a" || !st[0].Draining || st[0].Active != 1 {
		t.Errorf("Stats() while draining = %+v, want a draining with one connection", st)
	}

	_ = old.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := old.r.ReadByte(); !errors.Is(err, io.EOF) && !isReset(err) {
		t.Fatalf("read on the drained connection = %v, want it closed", err)
	}
	if d := time.Since(removed); d < drain || d > drain+time.Second {
		t.Errorf("drained connection closed after %v, want about %v", d, drain)
	}
	waitFor(t, "a forgotten", func() bool { return activeOf(p, "a") == -1 })
}

func isReset(err error) bool {
	return err != nil && strings.Contains(err.Error(), "reset")
}

func TestDrainRevivedInstanceKeepsItsConnection(t *testing.T) {
	a, b := startServer(t, "a"), startServer(t, "b")
	p := startProxy(t, Config{DrainTimeout: 200 * time.Millisecond})
	p.Update([]Backend{a.backend(), b.backend()})
	old := dial(t, p)
	if name, err := old.ask("1"); err != nil || name != "a" {
		t.Fatalf("answered by %q, %v", name, err)
	}
	p.Update([]Backend{b.backend()})
	p.Update([]Backend{a.backend(), b.backend()})
	time.Sleep(400 * time.Millisecond)
	if name, err := old.ask("2"); err != nil || name != "a" {
		t.Fatalf("connection to an instance that came back before the drain timeout: %q, %v; want it open", name, err)
	}
}

func TestConnectionBeforeFirstUpdateWaits(t *testing.T) {
	a := startServer(t, "a")
	p := startProxy(t, Config{})
	cl := dial(t, p)
	go func() {
		time.Sleep(100 * time.Millisecond)
		p.Update([]Backend{a.backend()})
	}()
	if name, err := cl.ask("early"); err != nil || name != "a" {
		t.Fatalf("connection made before the instances were known: %q, %v; want a's answer", name, err)
	}
}

// TestHalfCloseIsPassedOn sends a request and closes the write side, as
// HTTP/1.0 clients and many scripts do: the answer still comes back.
func TestHalfCloseIsPassedOn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b, _ := io.ReadAll(c)
		fmt.Fprintf(c, "got %d bytes", len(b))
	}()
	p := startProxy(t, Config{})
	p.Update([]Backend{{ID: "x", Addr: ln.Addr().String()}})
	c, err := net.Dial("tcp", p.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(make([]byte, 100000)); err != nil {
		t.Fatal(err)
	}
	_ = c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil || string(b) != "got 100000 bytes" {
		t.Fatalf("answer after a half-close = %q, %v; want %q", b, err, "got 100000 bytes")
	}
	<-done
}

func TestCloseEndsOpenConnections(t *testing.T) {
	a := startServer(t, "a")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := New(ln, Config{})
	p.Start()
	p.Update([]Backend{a.backend()})
	cl := dial(t, p)
	if _, err := cl.ask("x"); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if _, err := cl.ask("y"); err == nil {
		t.Error("connection still answered after Close")
	}
	if _, err := net.Dial("tcp", ln.Addr().String()); err == nil {
		t.Error("listener still accepts after Close")
	}
}

func TestBalancerPick(t *testing.T) {
	now := time.Unix(1000, 0)
	b := newBalancer(structs.UpstreamPolicyRoundRobin, 5*time.Second, func() time.Time { return now })
	b.update([]Backend{{ID: "b", Addr: "h:2"}, {ID: "a", Addr: "h:1"}, {ID: "a", Addr: "h:1"}})
	if len(b.live) != 2 {
		t.Fatalf("update with a duplicate kept %d backends, want 2", len(b.live))
	}
	first := b.pick(nil)
	first.failedAt = now
	if got := b.pick(nil); got.ID != "b" {
		t.Errorf("pick after a's failure = %s, want b", got.ID)
	}
	if got := b.pick(nil); got.ID != "b" {
		t.Errorf("pick while a cools down = %s, want b", got.ID)
	}
	if got := b.pick(map[*backend]bool{b.live[1]: true}); got == nil || got.ID != "a" {
		t.Errorf("pick with only a cooling one left = %v, want a", got)
	}
	now = now.Add(6 * time.Second)
	seen := map[string]bool{}
	for i := 0; i < 2; i++ {
		seen[b.pick(nil).ID] = true
	}
	if !seen["a"] || !seen["b"] {
		t.Errorf("picks after the cooldown = %v, want both", seen)
	}
	if got := b.pick(map[*backend]bool{b.live[0]: true, b.live[1]: true}); got != nil {
		t.Errorf("pick with everything tried = %s, want none", got.ID)
	}
}
