package client

import (
	"context"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// defaultHeartbeat is used when a server returns no TTL.
const defaultHeartbeat = 10 * time.Second

// registerLoop registers the node (retrying with backoff while the servers
// are unreachable), then heartbeats before each TTL runs out. It registers
// again when the node changes or a server no longer knows the node.
func (c *Client) registerLoop(ctx context.Context) {
	c.waitDriverFingerprints(ctx)
	needRegister := true
	attempt := 0
	next := time.Duration(0)
	for {
		if needRegister {
			select {
			case <-c.nodeChanged:
			default:
			}
			if err := c.register(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				if attempt == 0 || attempt%10 == 0 {
					c.logger.Warn("node registration failed; retrying", "error", err, "attempt", attempt+1)
				}
				if !sleepCtx(ctx, backoff(attempt, 250*time.Millisecond, 15*time.Second)) {
					return
				}
				attempt++
				continue
			}
			if attempt > 0 {
				c.logger.Info("node registered after retries", "attempts", attempt+1)
			}
			attempt, needRegister = 0, false
			c.registeredOnce.Do(func() { close(c.registered) })
			// Heartbeat at once so the node is ready even on servers that
			// take the registration's status as initializing.
			next = 0
		}

		t := time.NewTimer(next)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-c.nodeChanged:
			t.Stop()
			needRegister = true
			continue
		case <-t.C:
		}

		ttl, err := c.heartbeat(ctx)
		switch {
		case err == nil:
			attempt = 0
			next = heartbeatInterval(ttl)
		case ctx.Err() != nil:
			return
		case isNodeNotFound(err):
			c.logger.Warn("server does not know this node; registering again", "error", err)
			needRegister = true
		default:
			c.logger.Warn("heartbeat failed; retrying", "error", err, "attempt", attempt+1)
			next = backoff(attempt, 250*time.Millisecond, 5*time.Second)
			attempt++
		}
	}
}

// heartbeatInterval is half the TTL, leaving room for a retry or two.
func heartbeatInterval(ttl time.Duration) time.Duration {
	if ttl <= 0 {
		ttl = defaultHeartbeat
	}
	return ttl / 2
}

func (c *Client) register(ctx context.Context) error {
	node := c.Node()
	node.Status = structs.NodeStatusReady
	node.StatusUpdatedAt = time.Now().Unix()
	req := &structs.NodeRegisterRequest{Node: node, WriteRequest: structs.WriteRequest{Region: c.cfg.Region}}
	var resp structs.NodeUpdateResponse
	if err := c.rpc(ctx, structs.MethodNodeRegister, req, &resp); err != nil {
		return err
	}
	c.logger.Debug("node registered", "node_id", node.ID, "heartbeat_ttl", resp.HeartbeatTTL)
	return nil
}

func (c *Client) heartbeat(ctx context.Context) (time.Duration, error) {
	req := &structs.NodeUpdateStatusRequest{
		NodeID:       c.NodeID(),
		Status:       structs.NodeStatusReady,
		UpdatedAt:    time.Now().Unix(),
		WriteRequest: structs.WriteRequest{Region: c.cfg.Region},
	}
	var resp structs.NodeUpdateResponse
	if err := c.rpc(ctx, structs.MethodNodeUpdateStatus, req, &resp); err != nil {
		return 0, err
	}
	return resp.HeartbeatTTL, nil
}
