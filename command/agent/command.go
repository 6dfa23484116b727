package agent

import (
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
func (c *Command) Help() string { return "Usage: nomadish agent [options]\n\n  Runs a nomadish agent.\n" }

// Synopsis returns the one-line help text.
func (c *Command) Synopsis() string { return "Runs a nomadish agent" }

// Run starts the agent and blocks until it shuts down.
func (c *Command) Run(args []string) int {
	c.Ui.Error("agent: not built yet")
	return 1
}
