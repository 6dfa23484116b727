package client

import (
	"context"
	"fmt"

	"github.com/nomadish/nomadish/nomadish/client/allocrunner"
	"github.com/nomadish/nomadish/nomadish/client/network"
	"github.com/nomadish/nomadish/nomadish/client/proxy"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// openUpstreams opens the listeners of a host-mode allocation's upstreams
// before its tasks start, and gives them back once its runner is done or
// the client stops. A bridge-mode allocation's are opened by its runner
// once its namespace exists (openUpstreamsInNetwork). A listener that
// cannot be opened is reported as a task event; the tasks run regardless.
func (c *Client) openUpstreams(ctx context.Context, ar *allocrunner.AllocRunner, a *structs.Allocation) {
	mode := a.GroupNetworkMode()
	if mode == network.ModeBridge {
		return
	}
	ups := c.upstreamsOf(ar, a)
	if len(ups) == 0 {
		return
	}
	if mode != network.ModeHost {
		c.logger.Warn("upstreams not served in this network mode", "alloc_id", a.ID, "mode", mode)
		ar.SetupEvent(fmt.Sprintf("Upstreams not served: the service proxy serves groups in host or bridge network mode, not %q", mode))
		return
	}
	release := c.serveUpstreams(ar, a.ID, proxy.HostScope, ups)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-ar.WaitCh():
		case <-ctx.Done():
		}
		release()
	}()
}

// openUpstreamsInNetwork is the runners' NetworkHook: it opens the
// listeners of a bridge-mode allocation's upstreams inside its namespace,
// where only its tasks reach them, once the namespace is set up (again
// after a client restart) and before the tasks start. The runner calls
// the func it returns once the tasks are all dead, before removing the
// namespace.
func (c *Client) openUpstreamsInNetwork(ar *allocrunner.AllocRunner, st *network.Status) func() {
	if st.Mode != network.ModeBridge {
		// Mode none is reported by openUpstreams.
		return nil
	}
	ups := c.upstreamsOf(ar, ar.Alloc())
	if len(ups) == 0 {
		return nil
	}
	id := st.AllocID
	scope := proxy.NamespaceScope("alloc/"+id, func(fn func() error) error {
		return c.InAllocNetwork(id, fn)
	})
	return c.serveUpstreams(ar, id, scope, ups)
}

// upstreamsOf returns the upstreams to serve for an allocation that is to
// run; an allocation whose stored job has bad ones gets an event.
func (c *Client) upstreamsOf(ar *allocrunner.AllocRunner, a *structs.Allocation) []proxy.Upstream {
	if a.ClientTerminalStatus() || (a.DesiredStatus != "" && a.DesiredStatus != structs.AllocDesiredStatusRun) {
		return nil
	}
	ups, err := proxy.UpstreamsOf(a)
	if err != nil {
		// Jobs are validated at the edge; this is a job stored before.
		c.logger.Error("upstreams not served", "alloc_id", a.ID, "error", err)
		ar.SetupEvent(fmt.Sprintf("Upstreams not served: %v", err))
	}
	return ups
}

// serveUpstreams opens the listeners in scope and returns their release.
func (c *Client) serveUpstreams(ar *allocrunner.AllocRunner, allocID string, scope proxy.Scope, ups []proxy.Upstream) func() {
	release, err := c.proxies.Open(scope, ups)
	if err != nil {
		c.logger.Error("upstream listener", "alloc_id", allocID, "error", err)
		ar.SetupEvent(fmt.Sprintf("Upstream proxy: %v", err))
	}
	return release
}
