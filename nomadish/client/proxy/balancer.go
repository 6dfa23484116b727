package proxy

import (
	"sort"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// Backend is one instance of an upstream service.
type Backend struct {
	// ID identifies the instance across updates (its registration ID).
	ID string
	// Addr is where it listens, host:port.
	Addr string
}

// backend is a Backend with the proxy's bookkeeping. Every field is
// guarded by the owning Proxy's mutex.
type backend struct {
	Backend
	// active counts connections picked for it and not yet closed
	// (including ones still dialing).
	active int
	// total counts the connections it accepted.
	total uint64
	// failedAt is the time of its last failed dial; zero after a success.
	failedAt time.Time
	// draining is set once an update removed it; drainGen tells one
	// removal from the next.
	draining bool
	drainGen uint64
	// sessions are its open proxied connections.
	sessions map[*session]struct{}
}

// balancer chooses the backend of each new connection. It is not safe
// for concurrent use: its Proxy holds a lock around every call.
type balancer struct {
	policy   string
	cooldown time.Duration
	now      func() time.Time

	// live are the backends new connections may use, sorted by ID.
	live []*backend
	// known are the live and the draining backends.
	known map[Backend]*backend
	// cursor is where the next round starts.
	cursor int
}

func newBalancer(policy string, cooldown time.Duration, now func() time.Time) *balancer {
	return &balancer{policy: policy, cooldown: cooldown, now: now, known: map[Backend]*backend{}}
}

// pick returns the backend for the next connection attempt, skipping
// those in tried, or nil when none is left. Backends whose last dial
// failed within the cooldown are used only when nothing else is left.
// The caller counts the returned backend's connection.
func (b *balancer) pick(tried map[*backend]bool) *backend {
	n := len(b.live)
	if n == 0 {
		return nil
	}
	now := b.now()
	best, bestIdx := (*backend)(nil), -1
	for pass := 0; pass < 2 && best == nil; pass++ {
		for i := 0; i < n; i++ {
			idx := (b.cursor + i) % n
			be := b.live[idx]
			if tried[be] || (pass == 0 && b.cooling(be, now)) {
				continue
			}
			if b.policy != structs.UpstreamPolicyLeastConn {
				best, bestIdx = be, idx
				break
			}
			// Least connections; ties go to the first from the cursor, so
			// equally loaded backends take turns.
			if best == nil || be.active < best.active {
				best, bestIdx = be, idx
			}
		}
	}
	if best != nil {
		b.cursor = (bestIdx + 1) % n
	}
	return best
}

func (b *balancer) cooling(be *backend, now time.Time) bool {
	return !be.failedAt.IsZero() && now.Sub(be.failedAt) < b.cooldown
}

// update makes bs the live set. Backends no longer in it start draining;
// it returns those that still have connections open (the others are
// forgotten at once). A draining backend that comes back is live again
// with its connections.
func (b *balancer) update(bs []Backend) []*backend {
	want := make(map[Backend]bool, len(bs))
	live := make([]*backend, 0, len(bs))
	for _, x := range bs {
		if want[x] {
			continue
		}
		want[x] = true
		be := b.known[x]
		if be == nil {
			be = &backend{Backend: x, sessions: map[*session]struct{}{}}
			b.known[x] = be
		}
		be.draining = false
		live = append(live, be)
	}
	sort.Slice(live, func(i, j int) bool {
		if live[i].ID != live[j].ID {
			return live[i].ID < live[j].ID
		}
		return live[i].Addr < live[j].Addr
	})
	var drained []*backend
	for _, be := range b.live {
		if want[be.Backend] {
			continue
		}
		be.draining = true
		be.drainGen++
		if be.active == 0 {
			delete(b.known, be.Backend)
			continue
		}
		drained = append(drained, be)
	}
	b.live = live
	return drained
}

// release ends one connection of be; a draining backend with none left is
// forgotten.
func (b *balancer) release(be *backend) {
	be.active--
	if be.draining && be.active == 0 {
		delete(b.known, be.Backend)
	}
}
