package command

import (
	"fmt"
	"strings"
)

var systemParent = &parentCommand{
	synopsis: "Interact with the system API",
	help: `
Usage: nomadish system <subcommand> [options]

  Cluster-wide maintenance.

  Run a garbage collection now:

      $ nomadish system gc

  Run "nomadish system <subcommand> -help" for more on each subcommand.
`,
}

// SystemGCCommand is `nomadish system gc`.
type SystemGCCommand struct {
	Meta
}

// Help returns the long help text.
func (c *SystemGCCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish system gc [options]

  Collects garbage now: finished jobs, evaluations, allocations and
  deployments, and down nodes, regardless of the age thresholds of the
  servers' garbage collection (job_gc_threshold, eval_gc_threshold,
  batch_eval_gc_threshold, deployment_gc_threshold, node_gc_threshold).
  What is still running, or still needed to schedule, is kept. The
  command prints nothing unless an error occurs.

General Options:

  ` + generalOptionsUsage() + `

Examples:

  $ nomadish system gc
`)
}

// Synopsis returns the one-line help text.
func (c *SystemGCCommand) Synopsis() string {
	return "Run the system garbage collection process"
}

// Run runs the command.
func (c *SystemGCCommand) Run(args []string) int {
	flags := c.FlagSet("system gc")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 0 {
		c.Ui.Error("This command takes no arguments")
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	if err := client.System().GarbageCollect(); err != nil {
		c.Ui.Error(fmt.Sprintf("Error running system garbage-collection: %s", err))
		return 1
	}
	return 0
}
