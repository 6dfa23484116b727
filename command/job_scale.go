package command

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// JobScaleCommand is `nomadish job scale`.
type JobScaleCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobScaleCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job scale [options] <job> [<group>] <count>

  Sets the count of a task group; the group may be left out when the job
  has only one. The count must lie within the group's scaling block, if it
  has one. The command monitors the evaluation unless -detach is given.

General Options:

  ` + generalOptionsUsage() + `

Scale Options:

  -check-index <index>
    Scale only if the job's modify index is this one.

  -detach
    Return immediately instead of monitoring.

  -verbose
    Print full identifiers.

Examples:

  $ nomadish job scale web 5
  $ nomadish job scale -detach web frontend 3
`)
}

// Synopsis returns the one-line help text.
func (c *JobScaleCommand) Synopsis() string { return "Change the count of a job's task group" }

// Run runs the command.
func (c *JobScaleCommand) Run(args []string) int {
	var detach, verbose bool
	var checkIndex uint64
	flags := c.FlagSet("job scale")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.Uint64Var(&checkIndex, "check-index", 0, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 2 && len(args) != 3 {
		c.Ui.Error("This command takes two or three arguments: <job> [<group>] <count>")
		c.Ui.Error(helpHint("job scale"))
		return 1
	}
	count, err := strconv.Atoi(args[len(args)-1])
	if err != nil {
		c.Ui.Error("Failed to convert count string to int: " + err.Error())
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
	group := ""
	if len(args) == 3 {
		group = args[1]
	} else {
		job, _, err := client.Jobs().Info(stub.ID, nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error querying job: %s", err))
			return 1
		}
		if len(job.TaskGroups) != 1 {
			c.Ui.Error("Group name required")
			return 1
		}
		group = job.TaskGroups[0].Name
	}
	n := int64(count)
	resp, _, err := client.Jobs().ScaleWithRequest(stub.ID, &api.ScalingRequest{
		Count: &n, Target: map[string]string{"Job": stub.ID, "Group": group},
		Message: "submitted using the nomadish CLI", JobModifyIndex: checkIndex,
	}, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error submitting scaling request: %s", err))
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
