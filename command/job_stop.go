package command

import (
	"context"
	"fmt"
	"strings"
)

// JobStopCommand is `nomadish job stop`.
type JobStopCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobStopCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job stop [options] <job>
Alias: nomadish stop

  Stops a running job and cancels its allocations. <job> may be an ID
  prefix; a prefix that is not an exact ID asks for confirmation unless
  -yes is given.

  The command monitors the evaluation that stops the allocations, as
  "nomadish job run" does, unless -detach is given. Exit codes are those
  of "nomadish job run".

General Options:

  ` + generalOptionsUsage() + `

Stop Options:

  -detach
    Return immediately instead of monitoring; the evaluation ID is printed.

  -purge
    Remove the job from the servers once stopped, instead of keeping it
    until garbage collection.

  -yes
    Do not ask for confirmation.

  -verbose
    Print full identifiers.

Examples:

  $ nomadish job stop example
  $ nomadish job stop -purge -detach example
`)
}

// Synopsis returns the one-line help text.
func (c *JobStopCommand) Synopsis() string { return "Stop a running job" }

// Run runs the command.
func (c *JobStopCommand) Run(args []string) int {
	var detach, purge, yes, verbose bool
	flags := c.FlagSet("job stop")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&purge, "purge", false, "")
	flags.BoolVar(&yes, "yes", false, "")
	flags.BoolVar(&yes, "y", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <job>")
		c.Ui.Error(helpHint("job stop"))
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
	if stub.ID != strings.TrimSpace(args[0]) && !yes {
		question := fmt.Sprintf("Are you sure you want to stop job %q? [y/N]", stub.ID)
		answer, err := c.Ui.Ask(question)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Failed to parse answer: %v", err))
			return 1
		}
		switch strings.ToLower(strings.TrimSpace(answer)) {
		case "y", "yes":
		case "", "n", "no":
			c.Ui.Output("Cancelling job stop")
			return 0
		default:
			c.Ui.Output(fmt.Sprintf("Unexpected response: %q", answer))
			return 1
		}
	}

	evalID, _, err := client.Jobs().Deregister(stub.ID, purge, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error deregistering job: %s", err))
		return 1
	}
	if evalID == "" {
		return 0
	}
	if detach {
		c.Ui.Output(evalID)
		return 0
	}
	return newEvalMonitor(c.Ui, client, length).monitor(context.Background(), evalID)
}
