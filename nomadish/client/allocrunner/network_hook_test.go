package allocrunner

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/client/network"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// hookRecorder is a NetworkHook that serves "hello <n>" over HTTP on
// 127.0.0.1:7000 inside the namespace, n counting its calls, and records
// what the runner did around it.
type hookRecorder struct {
	t *testing.T

	mu    sync.Mutex
	calls int
	paths []string
	// nsAtDone says, for each done call, whether the namespace still
	// existed.
	nsAtDone []bool
	// startedAtCall is how many tasks the driver had started at each call.
	startedAtCall []int
	started       func() int
}

func (r *hookRecorder) hook(ar *AllocRunner, st *network.Status) func() {
	r.mu.Lock()
	r.calls++
	n := r.calls
	r.paths = append(r.paths, st.Path)
	r.startedAtCall = append(r.startedAtCall, r.started())
	r.mu.Unlock()
	var ln net.Listener
	err := network.InNamespace(st.Path, func() error {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:7000")
		return err
	})
	if err != nil {
		r.t.Errorf("hook: listen in %s: %v", st.Path, err)
		return nil
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "hello %d\n", n)
	}), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	return func() {
		_, err := os.Lstat(st.Path)
		r.mu.Lock()
		r.nsAtDone = append(r.nsAtDone, err == nil)
		r.mu.Unlock()
		srv.Close()
		<-done
	}
}

func (r *hookRecorder) snapshot() (calls int, paths []string, nsAtDone []bool, startedAtCall []int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, append([]string(nil), r.paths...), append([]bool(nil), r.nsAtDone...), append([]int(nil), r.startedAtCall...)
}

func (h *harness) hookRunner(a *structs.Allocation, nw Network, restore bool, hook func(*AllocRunner, *network.Status) func()) *AllocRunner {
	h.t.Helper()
	ar, err := New(&Config{
		Logger:      hclog.NewNullLogger(),
		Alloc:       a,
		Node:        func() *structs.Node { return &structs.Node{ID: "node1", Datacenter: "dc1"} },
		Region:      "global",
		AllocRoot:   h.root,
		Drivers:     oneDriver{netnsDriver{h.driver}},
		State:       h.store,
		OnUpdate:    h.rec.add,
		Restore:     restore,
		Network:     nw,
		NetworkHook: hook,
	})
	if err != nil {
		h.t.Fatalf("New() error = %v", err)
	}
	return ar
}

// TestNetworkHook checks when a bridge-mode runner calls its NetworkHook:
// after the namespace is set up and before the task starts (the task
// reads the hook's listener on 127.0.0.1 once, with no retry); again in
// the same namespace when a restarted client restores the allocation;
// and its done func when the client stops and, once the task is dead,
// before the namespace is removed.
func TestNetworkHook(t *testing.T) {
	nh := needNetHost(t)
	h := newHarness(t)
	m := nh.manager(t)
	rec := &hookRecorder{t: t, started: func() int { n, _ := h.driver.Counts(); return n }}
	a := bridgeAlloc(freePort(t), &structs.Task{Name: "web", KillTimeout: time.Second,
		Config: sh(`busybox wget -q -O "$NOMAD_ALLOC_DIR/data/got" http://127.0.0.1:7000/ || echo failed > "$NOMAD_ALLOC_DIR/data/got"; exec sleep 60`)})
	ar := h.hookRunner(a, m, false, rec.hook)
	ctx, cancel := context.WithCancel(context.Background())
	go ar.Run(ctx)
	got := filepath.Join(h.root, a.ID, "alloc", "data", "got")
	waitFor(t, "the task to read the hook's listener", func() bool {
		b, _ := os.ReadFile(got)
		return len(b) > 0
	})
	if b, _ := os.ReadFile(got); string(b) != "hello 1\n" {
		t.Fatalf("the task read %q from 127.0.0.1:7000, want the hook's %q: the hook must run before the task starts", b, "hello 1\n")
	}
	st, ok := m.Status(a.ID)
	if !ok {
		t.Fatal("no network recorded for the allocation")
	}

	// The client stops: the hook's listener is closed, the namespace and
	// the task stay.
	cancel()
	<-ar.WaitCh()
	calls, paths, nsAtDone, startedAtCall := rec.snapshot()
	if calls != 1 || len(nsAtDone) != 1 || !nsAtDone[0] || startedAtCall[0] != 0 || paths[0] != st.Path {
		t.Fatalf("after the client stopped: hook calls %d in %v with %v tasks started, done calls with the namespace present %v; want 1 call in %s before any start, 1 done", calls, paths, startedAtCall, nsAtDone, st.Path)
	}

	// The client starts again and restores the allocation: the hook runs
	// in the namespace that exists, for the task that still runs there.
	allocs, err := h.store.Allocs()
	if err != nil || len(allocs) != 1 {
		t.Fatalf("stored allocs = %d, %v; want 1", len(allocs), err)
	}
	ar2 := h.hookRunner(allocs[0], m, true, rec.hook)
	start(t, ar2)
	waitFor(t, "the task to be recovered", func() bool { _, r := h.driver.Counts(); return r == 1 })
	// Dialed on the thread inside the namespace (an http.Client would
	// dial from another goroutine, thus another thread).
	var conn net.Conn
	err = network.InNamespace(st.Path, func() error {
		var err error
		conn, err = net.DialTimeout("tcp", "127.0.0.1:7000", 2*time.Second)
		return err
	})
	var body string
	if err == nil {
		body, err = httpGet(conn)
	}
	if err != nil || body != "hello 2\n" {
		t.Errorf("inside the namespace after the restore: GET 127.0.0.1:7000 = %q, %v; want the second hook call's %q", body, err, "hello 2\n")
	}
	if started, _ := h.driver.Counts(); started != 1 {
		t.Errorf("StartTask called %d times, want 1: the task is restored, not started again", started)
	}

	ar2.Kill()
	waitDone(t, ar2)
	calls, paths, nsAtDone, _ = rec.snapshot()
	if calls != 2 || paths[1] != st.Path || len(nsAtDone) != 2 || !nsAtDone[1] {
		t.Errorf("after the kill: hook calls %d in %v, done calls with the namespace present %v; want 2 calls in %s and the second done before the namespace went", calls, paths, nsAtDone, st.Path)
	}
	if _, err := os.Lstat(st.Path); err == nil {
		t.Errorf("namespace %s still there after the allocation stopped", st.Path)
	}
}

// httpGet asks for / over conn and returns the body.
func httpGet(conn net.Conn) (string, error) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:7000/", nil)
	req.Close = true
	if err := req.Write(conn); err != nil {
		return "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}
