package agent

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/nomadish/client"
)

// rpcFunc adapts the agent's RPC method to the client's RPCer.
type rpcFunc func(method string, args, reply interface{}) error

func (f rpcFunc) RPC(method string, args, reply interface{}) error { return f(method, args, reply) }

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
		httpAddr = "127.0.0.1:" + strings.TrimPrefix(httpAddr, "0.0.0.0:")
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
		Drivers:         catalog.Builtin(),
		DriverConfig:    driverCfg,
		DriverLoader: func(ctx context.Context, name string) (drivers.DriverPlugin, error) {
			d, _, err := catalog.Launch(ctx, name, a.logger.Named("driver").With("driver", name))
			return d, err
		},
		RPC:     rpcFunc(a.RPC),
		DevMode: c.DevMode,
	}
	if r := c.Client.Reserved; r != nil {
		cc.ReservedCPU = r.CPU
		cc.ReservedMemoryMB = r.Memory
		cc.ReservedDiskMB = r.Disk
		cc.ReservedPorts = r.ReservedPorts
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
