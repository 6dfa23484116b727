package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// JobRevertCommand is `nomadish job revert`.
type JobRevertCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobRevertCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job revert [options] <job> <version>

  Registers an earlier version of a job again, as a new version. The
  command monitors the evaluation unless -detach is given.

General Options:

  ` + generalOptionsUsage() + `

Revert Options:

  -detach
    Return immediately instead of monitoring.

  -verbose
    Print full identifiers.

Examples:

  $ nomadish job revert web 2
`)
}

// Synopsis returns the one-line help text.
func (c *JobRevertCommand) Synopsis() string { return "Revert to a prior version of the job" }

// Run runs the command.
func (c *JobRevertCommand) Run(args []string) int {
	var detach, verbose bool
	flags := c.FlagSet("job revert")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 2 {
		c.Ui.Error("This command takes two arguments: <job> <version>")
		c.Ui.Error(helpHint("job revert"))
		return 1
	}
	version, err := strconv.ParseUint(args[1], 10, 64)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to parse job version %q: %v", args[1], err))
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
	resp, _, err := client.Jobs().Revert(stub.ID, version, nil, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error retrieving job version: %s", err))
		return 1
	}
	if resp.EvalID == "" || detach {
		if resp.EvalID != "" {
			c.Ui.Output("Evaluation ID: " + resp.EvalID)
		}
		return 0
	}
	return newEvalMonitor(c.Ui, client, length).monitor(context.Background(), resp.EvalID)
}
