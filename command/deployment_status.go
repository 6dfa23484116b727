package command

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// DeploymentStatusCommand is `nomadish deployment status`.
type DeploymentStatusCommand struct {
	Meta
}

// Help returns the long help text.
func (c *DeploymentStatusCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish deployment status [options] <deployment id>

  Shows a deployment: its status and, per task group, the desired, placed,
  healthy and unhealthy allocations and the progress deadline.

  With -monitor the command follows the deployment until it succeeds,
  fails or is cancelled: on a terminal the table is redrawn in place
  under a spinner; otherwise a line is printed for each change, and the
  table once the deployment ends. When a failed deployment rolls the job
  back, the deployment of the rollback is followed too. The command
  exits 0 once the deployment ended, whatever its outcome, as Nomad's.

General Options:

  ` + generalOptionsUsage() + `

Status Options:

  -verbose
    Print full identifiers; with -monitor, also the deployment's
    allocations.

  -monitor
    Follow the deployment until it ends.

  -wait=<duration>
    How long each read waits for a change of the deployment, with
    -monitor. Defaults to 2s.

` + outputHelp + `

Examples:

  $ nomadish deployment status 06ca68a2
  $ nomadish deployment status -monitor 06ca68a2
`)
}

// Synopsis returns the one-line help text.
func (c *DeploymentStatusCommand) Synopsis() string { return "Display the status of a deployment" }

// Run runs the command.
func (c *DeploymentStatusCommand) Run(args []string) int {
	var verbose, monitor bool
	var wait time.Duration
	var out outputFlags
	flags := c.FlagSet("deployment status")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.BoolVar(&monitor, "monitor", false, "")
	flags.DurationVar(&wait, "wait", deploymentWait, "")
	out.register(flags)
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if monitor && out.set() {
		c.Ui.Error("The monitor flag cannot be used with the '-json' or '-t' flags")
		return 1
	}
	if wait <= 0 {
		c.Ui.Error(fmt.Sprintf("Invalid -wait %s: it must be positive", wait))
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <deployment id>")
		c.Ui.Error(helpHint("deployment status"))
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
	d, msg := lookupDeployment(client, args[0])
	if d == nil {
		c.Ui.Error(msg)
		return 1
	}
	if out.set() {
		return out.write(c.Ui, d)
	}
	if monitor {
		dm := newDeploymentMonitor(c.Ui, client, length, verbose)
		dm.wait = wait
		if _, err := dm.monitor(context.Background(), d.ID); err != nil {
			return 1
		}
		return 0
	}
	c.Ui.Output(formatDeployment(d, length))
	return 0
}

func formatDeployment(d *api.Deployment, length int) string {
	var b strings.Builder
	b.WriteString(formatKV([][]string{
		row("ID", limit(d.ID, length)),
		row("Job ID", d.JobID),
		row("Job Version", fmt.Sprint(d.JobVersion)),
		row("Status", d.Status),
		row("Description", d.StatusDescription),
	}))
	names := make([]string, 0, len(d.TaskGroups))
	canaries := false
	for n, g := range d.TaskGroups {
		names = append(names, n)
		canaries = canaries || g.DesiredCanaries > 0
	}
	sort.Strings(names)
	head := row("Task Group", "Desired", "Placed", "Healthy", "Unhealthy", "Progress Deadline")
	if canaries {
		head = row("Task Group", "Promoted", "Desired", "Canaries", "Placed", "Healthy", "Unhealthy", "Progress Deadline")
	}
	rows := [][]string{head}
	for _, n := range names {
		g := d.TaskGroups[n]
		deadline := "N/A"
		if !g.RequireProgressBy.IsZero() {
			deadline = formatTime(g.RequireProgressBy)
		}
		if canaries {
			rows = append(rows, row(n, fmt.Sprint(g.Promoted), fmt.Sprint(g.DesiredTotal), fmt.Sprint(g.DesiredCanaries),
				fmt.Sprint(g.PlacedAllocs), fmt.Sprint(g.HealthyAllocs), fmt.Sprint(g.UnhealthyAllocs), deadline))
			continue
		}
		rows = append(rows, row(n, fmt.Sprint(g.DesiredTotal), fmt.Sprint(g.PlacedAllocs),
			fmt.Sprint(g.HealthyAllocs), fmt.Sprint(g.UnhealthyAllocs), deadline))
	}
	b.WriteString("\n\nDeployed\n")
	b.WriteString(formatList(rows))
	return b.String()
}
