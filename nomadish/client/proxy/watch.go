package proxy

import (
	"context"
	"net"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Lookup reads a service's instances through the servers. With minIndex
// > 0 ServicesByName blocks until the registrations change past minIndex
// or a server-side timeout, and returns the index of its answer. It is
// called from the watch goroutines and must honour ctx.
type Lookup interface {
	ServicesByName(ctx context.Context, namespace, name string, minIndex uint64) ([]*structs.ServiceRegistration, uint64, error)
}

// Target names the instances an upstream reaches.
type Target struct {
	Namespace string
	Service   string
	// Datacenter, when set, keeps only the instances of that datacenter.
	Datacenter string
}

// minQueryGap separates two queries that returned the same index, so a
// server that does not block is not hammered.
const minQueryGap = 50 * time.Millisecond

// Watch follows the target's healthy instances (those whose checks are not
// critical) and calls update with each changed set, sorted by ID, until
// ctx ends. On errors it keeps the last set and retries with backoff.
func Watch(ctx context.Context, l Lookup, t Target, update func([]Backend), logger hclog.Logger) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	var index uint64
	var last []Backend
	first := true
	failures := 0
	for {
		regs, next, err := l.ServicesByName(ctx, t.Namespace, t.Service, index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
			logger.Warn("read service instances", "service", t.Service, "error", err, "attempt", failures)
			if !sleep(ctx, retryDelay(failures)) {
				return
			}
			continue
		}
		failures = 0
		if !first && next == index {
			if !sleep(ctx, minQueryGap) {
				return
			}
			continue
		}
		index = next
		bs := healthy(regs, t.Datacenter)
		if first || !slices.Equal(bs, last) {
			first = false
			last = bs
			update(bs)
		}
	}
}

// healthy converts the registrations that are not critical (and in dc,
// when set) to backends sorted by ID.
func healthy(regs []*structs.ServiceRegistration, dc string) []Backend {
	out := []Backend{}
	for _, r := range regs {
		if r == nil || !r.Healthy() || r.Port <= 0 || r.Address == "" {
			continue
		}
		if dc != "" && r.Datacenter != dc {
			continue
		}
		out = append(out, Backend{ID: r.ID, Addr: net.JoinHostPort(r.Address, strconv.Itoa(r.Port))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func retryDelay(n int) time.Duration {
	d := 250 * time.Millisecond
	for i := 1; i < n && d < 10*time.Second; i++ {
		d *= 2
	}
	return min(d, 10*time.Second)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
