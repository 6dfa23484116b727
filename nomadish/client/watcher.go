package client

import (
	"context"
	"time"

	"github.com/nomadish/nomadish/nomadish/client/allocrunner"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// watchAllocs follows the node's allocations with blocking queries: it
// fetches the ones whose modify index changed, starts runners for new ones,
// updates existing ones and removes the ones the servers dropped.
func (c *Client) watchAllocs(ctx context.Context) {
	select {
	case <-c.registered:
	case <-ctx.Done():
		return
	}
	var index uint64
	seen := map[string]uint64{}
	attempt := 0
	for ctx.Err() == nil {
		node := c.Node()
		req := &structs.NodeSpecificRequest{
			NodeID:   node.ID,
			SecretID: node.SecretID,
			QueryOptions: structs.QueryOptions{
				Region:        c.cfg.Region,
				MinQueryIndex: index,
				MaxQueryTime:  c.cfg.MaxQueryTime,
				AllowStale:    true,
			},
		}
		var resp structs.NodeClientAllocsResponse
		if err := c.rpc(ctx, structs.MethodNodeGetClientAllocs, req, &resp); err != nil {
			if ctx.Err() != nil {
				return
			}
			if isNodeNotFound(err) {
				c.requestRegister()
			}
			c.logger.Warn("get client allocs failed; retrying", "error", err, "attempt", attempt+1)
			if !sleepCtx(ctx, backoff(attempt, 250*time.Millisecond, 10*time.Second)) {
				return
			}
			attempt++
			continue
		}
		attempt = 0
		if index != 0 && resp.Index == index {
			// The query timed out with nothing new; a short pause keeps a
			// server that does not block from being hammered.
			if !sleepCtx(ctx, 50*time.Millisecond) {
				return
			}
			continue
		}

		var pull []string
		for id, mi := range resp.Allocs {
			if c.runner(id) == nil || seen[id] < mi || mi == 0 {
				pull = append(pull, id)
			}
		}
		if len(pull) > 0 {
			allocs, err := c.fetchAllocs(ctx, pull)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				c.logger.Warn("get allocs failed; retrying", "error", err)
				if !sleepCtx(ctx, backoff(attempt, 250*time.Millisecond, 10*time.Second)) {
					return
				}
				attempt++
				continue
			}
			for _, a := range allocs {
				c.applyAlloc(ctx, a)
				seen[a.ID] = resp.Allocs[a.ID]
			}
			if len(allocs) < len(pull) {
				// A stale server has not caught up with the listing yet:
				// ask again shortly rather than wait for the next change.
				if !sleepCtx(ctx, 20*time.Millisecond) {
					return
				}
				continue
			}
		}
		c.allocMu.Lock()
		var gone []string
		for id := range c.allocs {
			if _, ok := resp.Allocs[id]; !ok {
				gone = append(gone, id)
			}
		}
		c.allocMu.Unlock()
		for _, id := range gone {
			delete(seen, id)
			c.removeAlloc(ctx, id)
		}
		index = resp.Index
	}
}

func (c *Client) requestRegister() {
	select {
	case c.nodeChanged <- struct{}{}:
	default:
	}
}

func (c *Client) fetchAllocs(ctx context.Context, ids []string) ([]*structs.Allocation, error) {
	req := &structs.AllocsGetRequest{AllocIDs: ids, QueryOptions: structs.QueryOptions{Region: c.cfg.Region, AllowStale: true}}
	var resp structs.AllocsGetResponse
	if err := c.rpc(ctx, structs.MethodAllocGetAllocs, req, &resp); err != nil {
		return nil, err
	}
	return resp.Allocs, nil
}

// applyAlloc hands a server version of an allocation to its runner, or
// starts a runner for a new one.
func (c *Client) applyAlloc(ctx context.Context, a *structs.Allocation) {
	if ar := c.runner(a.ID); ar != nil {
		ar.Update(a)
		return
	}
	if a.ClientTerminalStatus() {
		// Finished before this client knew it (for example a lost state
		// database): nothing to run.
		return
	}
	c.addAlloc(ctx, a, false)
}

// addAlloc creates and runs an alloc runner.
func (c *Client) addAlloc(ctx context.Context, a *structs.Allocation, restore bool) {
	ar, err := allocrunner.New(&allocrunner.Config{
		Logger:    c.logger.Named("alloc_runner"),
		Alloc:     a,
		Node:      c.Node,
		Region:    c.cfg.Region,
		AllocRoot: c.allocRoot(),
		Drivers:   c.drivers,
		State:     c.state,
		OnUpdate:  c.updates.update,
		Restore:   restore,
		Services:  &serviceRPC{c: c},
		Network:   c.network,

		NetworkHook: c.openUpstreamsInNetwork,

		ArtifactHostFiles: c.cfg.ArtifactHostFiles,
	})
	if err != nil {
		c.logger.Error("cannot run allocation", "alloc_id", a.ID, "error", err)
		if !restore {
			c.updates.update(&structs.Allocation{ID: a.ID, NodeID: c.NodeID(), ClientStatus: structs.AllocClientStatusFailed, ClientDescription: err.Error()})
		}
		return
	}
	c.allocMu.Lock()
	c.allocs[a.ID] = ar
	c.allocMu.Unlock()
	c.openUpstreams(ctx, ar, a)
	c.arWG.Add(1)
	go func() {
		defer c.arWG.Done()
		ar.Run(ctx)
	}()
}

// removeAlloc stops an allocation the servers no longer list, then deletes
// its directory and state.
func (c *Client) removeAlloc(ctx context.Context, id string) {
	c.allocMu.Lock()
	ar := c.allocs[id]
	delete(c.allocs, id)
	c.allocMu.Unlock()
	if ar == nil {
		return
	}
	c.logger.Debug("removing allocation", "alloc_id", id)
	ar.Kill()
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		select {
		case <-ar.WaitCh():
		case <-ctx.Done():
			return
		}
		if err := ar.AllocDir().Destroy(); err != nil {
			c.logger.Warn("remove alloc dir", "alloc_id", id, "error", err)
		}
		if err := c.state.DeleteAlloc(id); err != nil {
			c.logger.Warn("delete alloc state", "alloc_id", id, "error", err)
		}
	}()
}

// restoreAllocs re-creates runners for the allocations in the state
// database; they re-attach to their tasks.
func (c *Client) restoreAllocs(ctx context.Context) error {
	allocs, err := c.state.Allocs()
	if err != nil {
		return err
	}
	for _, a := range allocs {
		c.addAlloc(ctx, a, true)
	}
	if len(allocs) > 0 {
		c.logger.Info("restored allocations", "count", len(allocs))
	}
	return nil
}
