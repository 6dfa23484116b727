package agent

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/hashicorp/go-hclog"
	"github.com/mitchellh/cli"
)

// Command is `nomadish agent`: it runs a server, a client, or both.
type Command struct {
	// Ui prints to the terminal.
	Ui cli.Ui
	// ShutdownCh, when non-nil, stops the agent when closed or sent to
	// (tests use it; the real binary relies on SIGINT/SIGTERM).
	ShutdownCh <-chan struct{}
}

// Help returns the long help text.
func (c *Command) Help() string {
	return strings.TrimSpace(`
Usage: nomadish agent [options]

  Starts a nomadish agent: a server, a client, or both. The agent runs
  until it is interrupted (SIGINT or SIGTERM), then shuts down cleanly.

Options:

  -dev
    Start a development agent: server and client in one process on
    127.0.0.1, data in a temporary directory, raw_exec enabled. Tasks
    are stopped when the agent stops.

  -config=<path>
    An agent config file (HCL or JSON, Nomad's agent config syntax). May be
    given more than once; later files are merged over earlier ones and
    over -dev.

  -data-dir=<path>     Where the agent keeps its state.
  -bind=<addr>         The address to bind every listener to.
  -node=<name>         The name of this agent (default: hostname).
  -dc=<name>           The datacenter (default: dc1).
  -region=<name>       The region (default: global).
  -server              Run a server.
  -client              Run a client.
  -bootstrap-expect=<n>  Servers to wait for before bootstrapping.
  -log-level=<level>   TRACE, DEBUG, INFO, WARN or ERROR.
  -join=<addr>         Join the gossip pool through this agent (host[:port]);
                       repeatable. -retry-join is the same, retried until it works.
  -encrypt=<key>       The gossip encryption key (base64, 32 bytes), as made by
                       "nomadish operator gossip keyring -generate".

Examples:

  $ nomadish agent -dev
  $ nomadish agent -config=server.hcl
`)
}

// Synopsis returns the one-line help text.
func (c *Command) Synopsis() string { return "Runs a nomadish agent" }

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// parse builds the agent config from -dev, config files and flags, in that order.
func (c *Command) parse(args []string) (*Config, error) {
	var dev, srv, cli bool
	var configs, join stringList
	var encrypt string
	var dataDir, bind, node, dc, region, logLevel string
	var bootstrapExpect int
	fs := flag.NewFlagSet("agent", flag.ContinueOnError)
	fs.Usage = func() { c.Ui.Output(c.Help()) }
	fs.BoolVar(&dev, "dev", false, "")
	fs.Var(&configs, "config", "")
	fs.StringVar(&dataDir, "data-dir", "", "")
	fs.StringVar(&bind, "bind", "", "")
	fs.StringVar(&node, "node", "", "")
	fs.StringVar(&dc, "dc", "", "")
	fs.StringVar(&region, "region", "", "")
	fs.StringVar(&logLevel, "log-level", "", "")
	fs.BoolVar(&srv, "server", false, "")
	fs.BoolVar(&cli, "client", false, "")
	fs.IntVar(&bootstrapExpect, "bootstrap-expect", 0, "")
	fs.Var(&join, "join", "")
	fs.Var(&join, "retry-join", "")
	fs.StringVar(&encrypt, "encrypt", "", "")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	cfg := DefaultConfig()
	if dev {
		cfg = DevConfig()
	}
	for _, path := range configs {
		fc, err := LoadConfigFile(path)
		if err != nil {
			return nil, fmt.Errorf("load config %s: %w", path, err)
		}
		cfg = cfg.Merge(fc)
	}
	t := true
	flags := &Config{Name: node, Datacenter: dc, Region: region, DataDir: dataDir, BindAddr: bind, LogLevel: logLevel, Join: join}
	if srv || bootstrapExpect > 0 || encrypt != "" {
		flags.Server = &ServerConfig{BootstrapExpect: bootstrapExpect, Encrypt: encrypt}
		if srv {
			flags.Server.Enabled = &t
		}
	}
	if cli {
		flags.Client = &ClientConfig{Enabled: &t}
	}
	cfg = cfg.Merge(flags)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Run starts the agent and blocks until it shuts down.
func (c *Command) Run(args []string) int {
	cfg, err := c.parse(args)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error: %v", err))
		return 1
	}
	logger := hclog.New(&hclog.LoggerOptions{
		Name:   "agent",
		Level:  hclog.LevelFromString(cfg.LogLevel),
		Output: os.Stderr,
	})
	unused := make([]string, 0, len(cfg.Unused))
	for k, pos := range cfg.Unused {
		unused = append(unused, k+" ("+pos+")")
	}
	sort.Strings(unused)
	for _, u := range unused {
		logger.Warn("config setting is not supported by nomadish and is ignored", "setting", u)
	}

	sigCh := make(chan os.Signal, 2)
	signal.Notify(sigCh, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigCh)

	a, err := NewAgent(cfg, logger)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error starting agent: %v", err))
		return 1
	}
	c.Ui.Output("==> nomadish agent configuration:\n")
	c.Ui.Output(fmt.Sprintf("       Advertise Addrs: HTTP: %s", a.HTTPAddr()))
	c.Ui.Output(fmt.Sprintf("                Client: %v", cfg.ClientEnabled()))
	c.Ui.Output(fmt.Sprintf("             Data Dir: %s", cfg.DataDir))
	c.Ui.Output(fmt.Sprintf("            Datacenter: %s", cfg.Datacenter))
	c.Ui.Output(fmt.Sprintf("                Region: %s", cfg.Region))
	c.Ui.Output(fmt.Sprintf("                Server: %v", cfg.ServerEnabled()))
	c.Ui.Output(fmt.Sprintf("               Version: %s", Version))
	c.Ui.Output("\n==> nomadish agent started! Log data will stream in below:\n")

	select {
	case sig := <-sigCh:
		logger.Info("caught signal, shutting down", "signal", sig)
	case <-c.ShutdownCh:
		logger.Info("shutdown requested")
	}
	a.Shutdown()
	c.Ui.Output("==> nomadish agent stopped")
	return 0
}
