// Package catalog knows the built-in drivers and launches driver plugins
// as child processes. Built-in drivers are served by this same binary:
// Launch re-executes os.Executable() with EnvPlugin set, and MaybeServe,
// called first in main (and TestMain), turns such a process into the
// plugin.
package catalog

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/drivers/containerd"
	"github.com/nomadish/nomadish/drivers/docker"
	execdriver "github.com/nomadish/nomadish/drivers/exec"
	"github.com/nomadish/nomadish/drivers/executor"
	"github.com/nomadish/nomadish/drivers/mock"
	driverplugin "github.com/nomadish/nomadish/drivers/plugin"
	"github.com/nomadish/nomadish/drivers/rawexec"
)

// EnvPlugin names the built-in driver a re-executed binary serves.
const EnvPlugin = "NOMADISH_DRIVER_PLUGIN"

// defaultStartTimeout bounds a plugin's handshake when ctx has no deadline.
const defaultStartTimeout = time.Minute

// builtin describes one built-in driver.
type builtin struct {
	new        func(hclog.Logger) drivers.DriverPlugin
	taskSchema func() *drivers.Schema
}

var builtins = map[string]builtin{
	containerd.Name: {
		new:        func(l hclog.Logger) drivers.DriverPlugin { return containerd.New(l) },
		taskSchema: containerd.TaskConfigSchema,
	},
	docker.Name: {
		new:        func(l hclog.Logger) drivers.DriverPlugin { return docker.New(l) },
		taskSchema: docker.TaskConfigSchema,
	},
	execdriver.Name: {
		new:        func(l hclog.Logger) drivers.DriverPlugin { return execdriver.New(l) },
		taskSchema: execdriver.TaskConfigSchema,
	},
	rawexec.Name: {
		new:        func(l hclog.Logger) drivers.DriverPlugin { return rawexec.New(l) },
		taskSchema: rawexec.TaskConfigSchema,
	},
}

// testOnly are drivers Launch and TaskConfigSchema know but Builtin does
// not list: an agent does not offer them unless configured to.
var testOnly = map[string]builtin{
	mock.Name: {
		new:        func(l hclog.Logger) drivers.DriverPlugin { return mock.New(l) },
		taskSchema: mock.TaskConfigSchema,
	},
}

func lookup(name string) (builtin, bool) {
	if b, ok := builtins[name]; ok {
		return b, true
	}
	b, ok := testOnly[name]
	return b, ok
}

// MaybeServe serves a driver plugin and exits the process if this process
// was launched as one (env NOMADISH_DRIVER_PLUGIN=<name>), or runs a task
// executor, a docker or containerd log copier or a docker pause process and
// exits if launched as one of those;
// otherwise it returns. main() and
// TestMain call it first.
func MaybeServe() {
	executor.Main()
	docker.LoggerMain()
	docker.PauseMain()
	containerd.LoggerMain()
	name := os.Getenv(EnvPlugin)
	if name == "" {
		return
	}
	b, ok := lookup(name)
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown built-in driver %q\n", name)
		os.Exit(1)
	}
	logger := driverplugin.NewPluginLogger(name)
	driverplugin.Serve(b.new(logger), logger)
	os.Exit(0)
}

// Builtin lists the built-in driver names, sorted.
func Builtin() []string {
	out := make([]string, 0, len(builtins))
	for name := range builtins {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Launch starts built-in driver name (or mock_driver) as a child process of this binary via
// go-plugin and returns the gRPC-backed driver and the go-plugin client,
// with which the caller kills the plugin or notices it exited.
func Launch(ctx context.Context, name string, logger hclog.Logger) (drivers.DriverPlugin, *goplugin.Client, error) {
	if _, ok := lookup(name); !ok {
		return nil, nil, fmt.Errorf("unknown built-in driver %q", name)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), EnvPlugin+"="+name)
	return launch(ctx, cmd, name, logger)
}

// LaunchPath starts a third-party driver binary (for example from the
// agent's plugin_dir), which must serve with plugin.Serve.
func LaunchPath(ctx context.Context, path string, logger hclog.Logger) (drivers.DriverPlugin, *goplugin.Client, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, fmt.Errorf("driver plugin: %w", err)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return nil, nil, fmt.Errorf("driver plugin %s is not an executable file", path)
	}
	return launch(ctx, exec.Command(path), path, logger)
}

func launch(ctx context.Context, cmd *exec.Cmd, name string, logger hclog.Logger) (drivers.DriverPlugin, *goplugin.Client, error) {
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	timeout := defaultStartTimeout
	if d, ok := ctx.Deadline(); ok {
		timeout = time.Until(d)
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  driverplugin.Handshake,
		Plugins:          driverplugin.PluginMap(nil),
		Cmd:              cmd,
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		Logger:           logger.Named("driver").Named(name),
		StartTimeout:     timeout,
	})
	rpc, err := client.Client()
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("start driver plugin %s: %w", name, err)
	}
	raw, err := rpc.Dispense(driverplugin.PluginName)
	if err != nil {
		client.Kill()
		return nil, nil, fmt.Errorf("dispense driver plugin %s: %w", name, err)
	}
	d, ok := raw.(drivers.DriverPlugin)
	if !ok {
		client.Kill()
		return nil, nil, fmt.Errorf("driver plugin %s: unexpected type %T", name, raw)
	}
	return d, client, nil
}

// TaskConfigSchema returns the task config schema of a built-in driver
// without launching it (for offline `job validate`).
func TaskConfigSchema(name string) (*drivers.Schema, bool) {
	b, ok := lookup(name)
	if !ok {
		return nil, false
	}
	return b.taskSchema(), true
}
