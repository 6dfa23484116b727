package command

import (
	"context"
	"fmt"
	"strings"
)

// JobPeriodicForceCommand is `nomadish job periodic force`.
type JobPeriodicForceCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobPeriodicForceCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job periodic force [options] <job>

  Launches a periodic job now, whatever its schedule and prohibit_overlap
  setting. The child job is named <job>/periodic-<unix time>. The command
  monitors the child's evaluation unless -detach is given.

General Options:

  ` + generalOptionsUsage() + `

Periodic Force Options:

  -detach
    Return immediately; the evaluation ID is printed.

  -verbose
    Print full identifiers.

Examples:

  $ nomadish job periodic force backup
  $ nomadish job periodic force -detach backup
`)
}

// Synopsis returns the one-line help text.
func (c *JobPeriodicForceCommand) Synopsis() string { return "Force the launch of a periodic job" }

// Run runs the command.
func (c *JobPeriodicForceCommand) Run(args []string) int {
	var detach, verbose bool
	flags := c.FlagSet("job periodic force")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <job>")
		c.Ui.Error(helpHint("job periodic force"))
		return 1
	}
	length := shortID
	if verbose {
		length = fullID
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	stub, msg := lookupJob(client, args[0])
	if stub == nil {
		c.Ui.Error(msg)
		return 1
	}
	if !stub.Periodic || stub.ParameterizedJob {
		c.Ui.Error(fmt.Sprintf("Job %q is not periodic", stub.ID))
		return 1
	}
	evalID, _, err := client.Jobs().PeriodicForce(stub.ID, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error forcing periodic job %q: %s", stub.ID, err))
		return 1
	}
	if detach {
		c.Ui.Output("Force periodic successful")
		c.Ui.Output("Evaluation ID: " + evalID)
		return 0
	}
	return newEvalMonitor(c.Ui, client, length).monitor(context.Background(), evalID)
}

var jobPeriodicParent = &parentCommand{
	synopsis: "Interact with periodic jobs",
	help: `
Usage: nomadish job periodic <subcommand> [options] [args]

  Commands for periodic jobs: "force" launches one now.
`,
}
