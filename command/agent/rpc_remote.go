package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/nomadish/nomadish/nomadish/pool"
	"github.com/nomadish/nomadish/nomadish/server"
)

// Retry bounds for calls to remote servers.
const (
	rpcRetryBudget  = 30 * time.Second
	rpcBackoffStart = 100 * time.Millisecond
	rpcBackoffMax   = 3 * time.Second
	// rpcCallTimeout bounds one call; blocking queries add their wait.
	rpcCallTimeout = 30 * time.Second
)

// remoteServers is how an agent without its own server reaches one: the
// configured `client { servers }` plus the servers seen in gossip, tried in
// turn with backoff and jitter until one answers.
type remoteServers struct {
	static []string
	gossip func() []string
	pool   *pool.ConnPool

	mu   sync.Mutex
	next int
}

func (r *remoteServers) list() []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range r.static {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if r.gossip != nil {
		for _, s := range r.gossip() {
			if !seen[s] {
				seen[s] = true
				out = append(out, s)
			}
		}
	}
	return out
}

// retryable reports whether another server (or a later try) may succeed.
func retryable(err error) bool {
	if errors.Is(err, pool.ErrTransport) || errors.Is(err, server.ErrNoLeader) {
		return true
	}
	return strings.Contains(err.Error(), server.ErrNoLeader.Error())
}

// call sends one request, failing over between servers.
func (r *remoteServers) call(ctx context.Context, method string, args, reply interface{}, timeout time.Duration) error {
	deadline := time.Now().Add(rpcRetryBudget)
	backoff := rpcBackoffStart
	var lastErr error
	for {
		servers := r.list()
		if len(servers) > 0 {
			r.mu.Lock()
			addr := servers[r.next%len(servers)]
			r.mu.Unlock()
			err := r.pool.CallContext(ctx, addr, method, args, reply, timeout)
			if err == nil || !retryable(err) {
				return err
			}
			lastErr = err
			r.mu.Lock()
			r.next++
			r.mu.Unlock()
		} else {
			lastErr = errors.New("no servers known yet")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: no server answered: %w", method, lastErr)
		}
		wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if backoff *= 2; backoff > rpcBackoffMax {
			backoff = rpcBackoffMax
		}
	}
}
