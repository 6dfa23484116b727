package client

import (
	"context"
	"time"

	"sync"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// updater sends allocation client status to the servers. Updates for the
// same allocation coalesce (latest wins); a batch is sent as soon as the
// previous one returns, so a burst costs one RPC and nothing waits on a
// timer.
type updater struct {
	c *Client

	mu       sync.Mutex
	pending  map[string]*structs.Allocation
	inflight bool
	kick     chan struct{}
}

func newUpdater(c *Client) *updater {
	return &updater{c: c, pending: map[string]*structs.Allocation{}, kick: make(chan struct{}, 1)}
}

// update queues an allocation's client-side fields. It never blocks.
func (u *updater) update(a *structs.Allocation) {
	u.mu.Lock()
	u.pending[a.ID] = a
	u.mu.Unlock()
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

func (u *updater) take() []*structs.Allocation {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.pending) == 0 {
		return nil
	}
	batch := make([]*structs.Allocation, 0, len(u.pending))
	for _, a := range u.pending {
		batch = append(batch, a)
	}
	u.pending = map[string]*structs.Allocation{}
	u.inflight = true
	return batch
}

// requeue puts back a failed batch, keeping any newer update.
func (u *updater) requeue(batch []*structs.Allocation) {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, a := range batch {
		if _, newer := u.pending[a.ID]; !newer {
			u.pending[a.ID] = a
		}
	}
}

func (u *updater) done() {
	u.mu.Lock()
	u.inflight = false
	u.mu.Unlock()
}

func (u *updater) run(ctx context.Context) {
	attempt := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-u.kick:
		}
		for {
			batch := u.take()
			if batch == nil {
				break
			}
			err := u.send(ctx, batch)
			u.done()
			if err == nil {
				attempt = 0
				continue
			}
			if ctx.Err() != nil {
				return
			}
			u.requeue(batch)
			if isNodeNotFound(err) {
				u.c.requestRegister()
			}
			u.c.logger.Warn("alloc status update failed; retrying", "error", err, "allocs", len(batch))
			if !sleepCtx(ctx, backoff(attempt, 250*time.Millisecond, 10*time.Second)) {
				return
			}
			attempt++
		}
	}
}

func (u *updater) send(ctx context.Context, batch []*structs.Allocation) error {
	nodeID := u.c.NodeID()
	for _, a := range batch {
		if a.NodeID == "" {
			a.NodeID = nodeID
		}
	}
	req := &structs.AllocUpdateRequest{Alloc: batch, WriteRequest: structs.WriteRequest{Region: u.c.cfg.Region}}
	var resp structs.GenericResponse
	return u.c.rpc(ctx, structs.MethodNodeUpdateAlloc, req, &resp)
}

// flush waits until nothing is pending or in flight, at most timeout.
func (u *updater) flush(timeout time.Duration) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		u.mu.Lock()
		idle := len(u.pending) == 0 && !u.inflight
		u.mu.Unlock()
		if idle {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}
