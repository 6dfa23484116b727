package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// simNode is one simulated client node. It speaks the client side of the
// RPC protocol against the server: it registers, heartbeats at the TTL it
// is given, waits for its allocations with blocking queries, and reports
// every new allocation running. It starts no tasks.
type simNode struct {
	id   string
	node *structs.Node
	rpc  *pool.ConnPool
	addr string
	rec  *recorder

	// known are the allocation IDs already reported running.
	known map[string]bool
}

// simNodeResources sizes a node for slots allocations of the benchmark's
// task size, so that the whole cluster is exactly full at the end.
func simNodeResources(slots int) *structs.NodeResources {
	return &structs.NodeResources{
		Cpu:            structs.NodeCpuResources{CpuShares: int64(slots * taskCPU)},
		Memory:         structs.NodeMemoryResources{MemoryMB: int64(slots * taskMemoryMB)},
		Disk:           structs.NodeDiskResources{DiskMB: int64(slots*taskDiskMB + 1024)},
		MinDynamicPort: 20000,
		MaxDynamicPort: 32000,
	}
}

func newSimNode(i int, slots int, p *pool.ConnPool, addr string, rec *recorder) *simNode {
	id := structs.GenerateUUID()
	return &simNode{
		id: id,
		node: &structs.Node{
			ID:            id,
			SecretID:      structs.GenerateUUID(),
			Name:          fmt.Sprintf("sim-%05d", i),
			Datacenter:    "dc1",
			NodePool:      structs.DefaultNodePool,
			Status:        structs.NodeStatusReady,
			ComputedClass: "sim",
			Attributes: map[string]string{
				"kernel.name": "linux", "cpu.arch": "amd64", "driver.raw_exec": "1",
				"unique.hostname": fmt.Sprintf("sim-%05d", i),
			},
			Drivers:       map[string]*structs.DriverInfo{"raw_exec": {Detected: true, Healthy: true}},
			NodeResources: simNodeResources(slots),
		},
		rpc:   p,
		addr:  addr,
		rec:   rec,
		known: map[string]bool{},
	}
}

// register registers the node as ready and returns its heartbeat TTL.
func (n *simNode) register(ctx context.Context) (time.Duration, error) {
	var reply structs.NodeUpdateResponse
	err := retry(ctx, func() error {
		return n.rpc.CallContext(ctx, n.addr, structs.MethodNodeRegister,
			&structs.NodeRegisterRequest{Node: n.node}, &reply, 30*time.Second)
	})
	return reply.HeartbeatTTL, err
}

// heartbeat keeps the node alive until ctx ends, at half the TTL the
// server hands back each time.
func (n *simNode) heartbeat(ctx context.Context, ttl time.Duration) {
	for {
		wait := ttl / 2
		if wait <= 0 {
			wait = time.Second
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		var reply structs.NodeUpdateResponse
		err := n.rpc.CallContext(ctx, n.addr, structs.MethodNodeUpdateStatus,
			&structs.NodeUpdateStatusRequest{NodeID: n.id, Status: structs.NodeStatusReady}, &reply, 30*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				n.rec.errors.Add(1)
			}
			continue
		}
		ttl = reply.HeartbeatTTL
	}
}

// watchAllocs waits for new allocations and reports them running, until
// ctx ends.
func (n *simNode) watchAllocs(ctx context.Context) {
	var index uint64
	for ctx.Err() == nil {
		args := &structs.NodeSpecificRequest{NodeID: n.id, SecretID: n.node.SecretID}
		args.MinQueryIndex = index
		args.MaxQueryTime = 30 * time.Second
		var reply structs.NodeClientAllocsResponse
		err := n.rpc.CallContext(ctx, n.addr, structs.MethodNodeGetClientAllocs, args, &reply, args.TimeToBlock()+30*time.Second)
		if err != nil {
			if ctx.Err() == nil {
				n.rec.errors.Add(1)
				time.Sleep(100 * time.Millisecond)
			}
			continue
		}
		if reply.Index > index {
			index = reply.Index
		}
		var fresh []*structs.Allocation
		for id := range reply.Allocs {
			if !n.known[id] {
				fresh = append(fresh, &structs.Allocation{ID: id, NodeID: n.id, ClientStatus: structs.AllocClientStatusRunning})
			}
		}
		if len(fresh) == 0 {
			continue
		}
		n.rec.seen(len(fresh))
		err = retry(ctx, func() error {
			return n.rpc.CallContext(ctx, n.addr, structs.MethodNodeUpdateAlloc,
				&structs.AllocUpdateRequest{Alloc: fresh}, &structs.GenericResponse{}, 30*time.Second)
		})
		if err != nil {
			continue
		}
		for _, a := range fresh {
			n.known[a.ID] = true
		}
		n.rec.running(len(fresh))
	}
}

// retry calls fn until it succeeds, ctx ends, or 10 tries failed, with
// jittered exponential backoff.
func retry(ctx context.Context, fn func() error) error {
	var err error
	backoff := 50 * time.Millisecond
	for i := 0; i < 10; i++ {
		if err = fn(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(backoff + time.Duration(time.Now().UnixNano()%int64(backoff))):
		}
		backoff *= 2
	}
	return err
}

// recorder counts placements as the simulated nodes see them.
type recorder struct {
	total int64 // allocations expected

	mu sync.Mutex
	// seenAt[i] is when the i-th allocation was first seen by its node.
	seenAt []time.Time

	runningN atomic.Int64
	errors   atomic.Int64
	done     chan struct{}
	once     sync.Once
}

func newRecorder(total int) *recorder {
	return &recorder{total: int64(total), seenAt: make([]time.Time, 0, total), done: make(chan struct{})}
}

func (r *recorder) seen(n int) {
	now := time.Now()
	r.mu.Lock()
	for i := 0; i < n; i++ {
		r.seenAt = append(r.seenAt, now)
	}
	r.mu.Unlock()
}

func (r *recorder) running(n int) {
	if r.runningN.Add(int64(n)) >= r.total {
		r.once.Do(func() { close(r.done) })
	}
}

// rate is the placement rate while the cluster went from fraction lo to
// fraction hi of the expected allocations.
func (r *recorder) rate(lo, hi float64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.seenAt)
	a, b := int(lo*float64(r.total)), int(hi*float64(r.total))
	if b >= n {
		b = n - 1
	}
	if a >= b {
		return 0
	}
	d := r.seenAt[b].Sub(r.seenAt[a]).Seconds()
	if d <= 0 {
		return 0
	}
	return float64(b-a) / d
}

// printTimeline writes how many allocations were first seen in each
// second since start.
func (r *recorder) printTimeline(w io.Writer, start time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	counts := map[int]int{}
	last := 0
	for _, t := range r.seenAt {
		s := int(t.Sub(start).Seconds())
		counts[s]++
		last = max(last, s)
	}
	for s := 0; s <= last; s++ {
		if counts[s] > 0 {
			fmt.Fprintf(w, "timeline %ds %d\n", s, counts[s])
		}
	}
}
