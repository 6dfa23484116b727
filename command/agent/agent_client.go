package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/nomadish/client"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// agentRPC adapts the agent's RPC methods to the client's RPCer.
type agentRPC struct{ a *Agent }

func (r agentRPC) RPC(method string, args, reply interface{}) error {
	return r.a.RPC(method, args, reply)
}

func (r agentRPC) RPCContext(ctx context.Context, method string, args, reply interface{}) error {
	return r.a.RPCContext(ctx, method, args, reply)
}

func (a *Agent) setupClient() error {
	c := a.config
	driverCfg := map[string]map[string]interface{}{}
	for _, p := range c.Plugins {
		driverCfg[p.Name] = p.Config
	}
	httpAddr := a.http.Addr()
	if c.Advertise.HTTP != "" {
		httpAddr = c.Advertise.HTTP
	} else if strings.HasPrefix(httpAddr, "0.0.0.0:") {
		httpAddr = advertiseIP() + ":" + strings.TrimPrefix(httpAddr, "0.0.0.0:")
	}
	external, err := scanPluginDir(context.Background(), pluginDirOf(c), a.logger.Named("plugin_dir"))
	if err != nil {
		return err
	}
	cc := &client.Config{
		Logger:          a.logger,
		DataDir:         filepath.Join(c.DataDir, "client"),
		Name:            c.Name,
		Datacenter:      c.Datacenter,
		Region:          c.Region,
		NodeClass:       c.Client.NodeClass,
		NodePool:        c.Client.NodePool,
		Meta:            c.Client.Meta,
		CPUTotalCompute: c.Client.CPUTotalCompute,
		MemoryTotalMB:   c.Client.MemoryTotalMB,
		HTTPAddr:        httpAddr,
		Drivers:         driverNames(external),
		DriverConfig:    driverCfg,
		DriverLoader: func(ctx context.Context, name string) (drivers.DriverPlugin, error) {
			logger := a.logger.Named("driver").With("driver", name)
			var d drivers.DriverPlugin
			var pc *goplugin.Client
			var err error
			if path, ok := external[name]; ok {
				d, pc, err = catalog.LaunchPath(ctx, path, logger)
			} else {
				d, pc, err = catalog.Launch(ctx, name, logger)
			}
			if pc != nil {
				a.pluginsMu.Lock()
				a.plugins = append(a.plugins, pc)
				a.pluginsMu.Unlock()
			}
			return d, err
		},
		RPC:     agentRPC{a},
		DevMode: c.DevMode,
		DNSAddr: c.Client.DNS.addr(),

		ArtifactHostFiles: c.Client.Artifact.hostFiles(),

		BridgeNetworkName:        c.Client.BridgeNetworkName,
		BridgeNetworkSubnet:      c.Client.BridgeNetworkSubnet,
		BridgeNetworkHairpinMode: c.Client.BridgeNetworkHairpinMode != nil && *c.Client.BridgeNetworkHairpinMode,
	}
	if r := c.Client.Reserved; r != nil {
		cc.Reserved = &structs.NodeReservedResources{
			Cpu:      structs.NodeReservedCpuResources{CpuShares: uint64(r.CPU)},
			Memory:   structs.NodeReservedMemoryResources{MemoryMB: uint64(r.Memory)},
			Disk:     structs.NodeReservedDiskResources{DiskMB: uint64(r.Disk)},
			Networks: structs.NodeReservedNetworkResources{ReservedHostPorts: r.ReservedPorts},
		}
	}
	cl, err := client.NewClient(cc)
	if err != nil {
		return fmt.Errorf("create client: %w", err)
	}
	if err := cl.Start(); err != nil {
		return fmt.Errorf("start client: %w", err)
	}
	a.client = cl
	return nil
}
