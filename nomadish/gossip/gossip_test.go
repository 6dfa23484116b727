package gossip

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

func freePort(t *testing.T) int {
	t.Helper()
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		pc.Close()
		return port
	}
}

type member struct {
	pool   *Pool
	events chan Event
	addr   string
	// early holds events read while waiting for another one: joins of
	// several members arrive in any order.
	early []Event
}

func start(t *testing.T, name string, key []byte) *member {
	t.Helper()
	port := freePort(t)
	ev := make(chan Event, 64)
	p, err := New(&Config{
		Name: name, BindAddr: "127.0.0.1", BindPort: port,
		Tags:       map[string]string{"role": "test", "name": name},
		EncryptKey: key, Events: ev,
		Logger: hclog.NewNullLogger(),
	})
	if err != nil {
		t.Fatalf("New(%s) error = %v", name, err)
	}
	t.Cleanup(func() { p.Shutdown() })
	return &member{pool: p, events: ev, addr: fmt.Sprintf("127.0.0.1:%d", port)}
}

func waitEvent(t *testing.T, m *member, kind, name string) Event {
	t.Helper()
	for i, e := range m.early {
		if e.Kind == kind && e.Member.Name == name {
			m.early = append(m.early[:i], m.early[i+1:]...)
			return e
		}
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case e := <-m.events:
			if e.Kind == kind && e.Member.Name == name {
				return e
			}
			m.early = append(m.early, e)
		case <-deadline:
			t.Fatalf("no %s event for %s", kind, name)
		}
	}
}

func TestPool_JoinFailLeave(t *testing.T) {
	a := start(t, "a", nil)
	b := start(t, "b", nil)
	c := start(t, "c", nil)
	for _, m := range []*member{b, c} {
		if n, err := m.pool.Join([]string{a.addr}); err != nil || n != 1 {
			t.Fatalf("Join() = %d, %v; want 1, nil", n, err)
		}
	}
	e := waitEvent(t, a, EventJoin, "b")
	if e.Member.Tags["name"] != "b" || e.Member.Status != StatusAlive {
		t.Errorf("join event = %+v, want b alive with its tags", e.Member)
	}
	waitEvent(t, a, EventJoin, "c")

	// A member that dies without a word is reported failed.
	if err := b.pool.Shutdown(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e = waitEvent(t, a, EventFailed, "b")
	if e.Member.Status != StatusFailed {
		t.Errorf("failed event status = %q, want %q", e.Member.Status, StatusFailed)
	}
	t.Logf("failure detected after %s", time.Since(start))

	// A member that leaves is reported as having left.
	if err := c.pool.Leave(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	e = waitEvent(t, a, EventLeave, "c")
	if e.Member.Status != StatusLeft {
		t.Errorf("leave event status = %q, want %q", e.Member.Status, StatusLeft)
	}
}

func TestPool_EncryptionKeysMustMatch(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	other := []byte("fedcba9876543210fedcba9876543210")
	a := start(t, "a", key)
	good := start(t, "good", key)
	bad := start(t, "bad", other)
	none := start(t, "none", nil)
	if n, err := good.pool.Join([]string{a.addr}); err != nil || n != 1 {
		t.Fatalf("Join() with the right key = %d, %v; want 1, nil", n, err)
	}
	if n, err := bad.pool.Join([]string{a.addr}); err == nil || n != 0 {
		t.Errorf("Join() with a wrong key = %d, %v; want 0 and an error", n, err)
	}
	if n, err := none.pool.Join([]string{a.addr}); err == nil || n != 0 {
		t.Errorf("Join() without a key = %d, %v; want 0 and an error", n, err)
	}
}
