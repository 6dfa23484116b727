package client

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/nomadish/client/allocrunner"
	"github.com/nomadish/nomadish/nomadish/client/network"
)

// newNetworkManager makes the manager of bridge-mode allocation networks;
// its records live in <data_dir>/client/network. It changes nothing on the
// host until an allocation asks for a network.
func newNetworkManager(cfg *Config, logger hclog.Logger) (*network.Manager, error) {
	m, err := network.New(network.Config{
		BridgeName:  cfg.BridgeNetworkName,
		Subnet:      cfg.BridgeNetworkSubnet,
		HairpinMode: cfg.BridgeNetworkHairpinMode,
		StateDir:    filepath.Join(cfg.DataDir, "client", "network"),
		Logger:      logger,
	})
	if err != nil {
		return nil, fmt.Errorf("client network: %w", err)
	}
	return m, nil
}

// cleanupNetworks removes the networks of allocations the client no longer
// runs, left by a client that crashed or was stopped while removing them.
// It runs once at start, after the allocations in the state database got
// their runners and before new ones arrive.
func (c *Client) cleanupNetworks(ctx context.Context) {
	removed, err := c.network.Cleanup(ctx, func(allocID string) bool { return c.runner(allocID) != nil })
	if err != nil {
		c.logger.Error("clean up allocation networks", "error", err)
	}
	var driverMade []*network.Status
	for _, st := range removed {
		if st.Driver != "" {
			driverMade = append(driverMade, st)
		}
	}
	if len(driverMade) == 0 {
		return
	}
	// Drivers may take a moment to launch; the loops need not wait.
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		for _, st := range driverMade {
			if err := allocrunner.DestroyDriverNetwork(ctx, c.drivers, st); err != nil {
				c.logger.Warn("destroy a driver's network namespace", "alloc_id", st.AllocID, "driver", st.Driver, "error", err)
			}
		}
	}()
}

// InAllocNetwork runs fn inside the network namespace of a bridge-mode
// allocation, so that sockets fn opens (listeners for the allocation's
// tasks, for example) live there and are reached on the tasks' localhost.
// fn must open them itself, not in goroutines it starts. It fails for an
// allocation without a namespace.
func (c *Client) InAllocNetwork(allocID string, fn func() error) error {
	return c.network.InNamespace(allocID, fn)
}
