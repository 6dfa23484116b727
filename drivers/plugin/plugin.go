// Package plugin carries drivers.DriverPlugin over go-plugin's gRPC
// transport: the handshake both sides agree on, the go-plugin Plugin
// implementation, a gRPC client that implements drivers.DriverPlugin, and a
// gRPC server that wraps one.
package plugin

import (
	"context"
	"os"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/proto"
)

// PluginName is the key under which the driver is dispensed.
const PluginName = "driver"

// Handshake is shared by the client agent and every driver plugin binary.
// A binary started without the cookie refuses to serve.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  1,
	MagicCookieKey:   "NOMADISH_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "e4f0f9a6c1b84cde9d7e1c4b5a3d2f10",
}

// PluginMap is the plugin set both sides pass to go-plugin. Impl is nil on
// the client side.
func PluginMap(impl drivers.DriverPlugin) map[string]goplugin.Plugin {
	return map[string]goplugin.Plugin{PluginName: &GRPCDriverPlugin{Impl: impl}}
}

// GRPCDriverPlugin is the go-plugin Plugin for task drivers.
type GRPCDriverPlugin struct {
	goplugin.NetRPCUnsupportedPlugin
	// Impl is the driver served; only set in the plugin process.
	Impl drivers.DriverPlugin
}

var _ goplugin.GRPCPlugin = (*GRPCDriverPlugin)(nil)

// GRPCServer registers the driver service on s.
func (p *GRPCDriverPlugin) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	proto.RegisterDriverServer(s, &Server{impl: p.Impl})
	return nil
}

// GRPCClient returns a drivers.DriverPlugin that forwards to conn. It reads
// the driver's name and schemas once, since those calls take no context.
func (p *GRPCDriverPlugin) GRPCClient(ctx context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (interface{}, error) {
	return NewClient(ctx, conn)
}

// Serve serves impl as a driver plugin on stdin/stdout as go-plugin
// expects. It returns when the client kills or disconnects the plugin.
// Third-party driver binaries call it from main.
//
// A plugin whose client died is of no use and would linger: the client's
// successor launches its own plugins and recovers the tasks. So Serve
// exits the process when its parent goes away.
func Serve(impl drivers.DriverPlugin, logger hclog.Logger) {
	if logger == nil {
		logger = NewPluginLogger(impl.Name())
	}
	go exitWithParent(logger, os.Getppid())
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         PluginMap(impl),
		GRPCServer:      goplugin.DefaultGRPCServer,
		Logger:          logger,
	})
}

// NewPluginLogger is the logger a plugin process writes: JSON on stderr,
// which go-plugin relays into the client's logger.
func NewPluginLogger(name string) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       name,
		Level:      hclog.Trace,
		Output:     os.Stderr,
		JSONFormat: true,
	})
}

// exitWithParent ends the process once it is reparented. It runs for the
// life of the plugin process.
func exitWithParent(logger hclog.Logger, ppid int) {
	for {
		time.Sleep(time.Second)
		if os.Getppid() != ppid {
			logger.Info("client process exited, stopping plugin", "parent_pid", ppid)
			os.Exit(0)
		}
	}
}
