package client

import (
	"context"
	"fmt"

	"github.com/nomadish/nomadish/nomadish/client/allocrunner"
	"github.com/nomadish/nomadish/nomadish/client/proxy"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// openUpstreams opens the listeners of the allocation's upstreams before
// its tasks start, and gives them back once its runner is done or the
// client stops. A listener that cannot be opened is reported as a task
// event; the tasks run regardless.
func (c *Client) openUpstreams(ctx context.Context, ar *allocrunner.AllocRunner, a *structs.Allocation) {
	if a.ClientTerminalStatus() || (a.DesiredStatus != "" && a.DesiredStatus != structs.AllocDesiredStatusRun) {
		return
	}
	ups, err := proxy.UpstreamsOf(a)
	if err != nil {
		// Jobs are validated at the edge; this is a job stored before.
		c.logger.Error("upstreams not served", "alloc_id", a.ID, "error", err)
		ar.SetupEvent(fmt.Sprintf("Upstreams not served: %v", err))
	}
	if len(ups) == 0 {
		return
	}
	if mode := groupNetworkMode(a); mode != "host" {
		c.logger.Warn("upstreams not served in this network mode", "alloc_id", a.ID, "mode", mode)
		ar.SetupEvent(fmt.Sprintf("Upstreams not served: the service proxy listens in host network mode only, not %q", mode))
		return
	}
	release, err := c.proxies.Open(proxy.HostScope, ups)
	if err != nil {
		c.logger.Error("upstream listener", "alloc_id", a.ID, "error", err)
		ar.SetupEvent(fmt.Sprintf("Upstream proxy: %v", err))
	}
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

// groupNetworkMode is the network mode of the allocation's group, "host"
// when it has no network block or leaves the mode out.
func groupNetworkMode(a *structs.Allocation) string {
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil || len(tg.Networks) == 0 || tg.Networks[0] == nil || tg.Networks[0].Mode == "" {
		return "host"
	}
	return tg.Networks[0].Mode
}
