package command

import (
	"fmt"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// DeploymentListCommand is `nomadish deployment list`.
type DeploymentListCommand struct {
	Meta
}

// Help returns the long help text.
func (c *DeploymentListCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish deployment list [options]

  Lists deployments, newest first.

General Options:

  ` + generalOptionsUsage() + `

List Options:

  -verbose
    Print full identifiers.

` + outputHelp + `

Examples:

  $ nomadish deployment list
`)
}

// Synopsis returns the one-line help text.
func (c *DeploymentListCommand) Synopsis() string { return "List all deployments" }

// Run runs the command.
func (c *DeploymentListCommand) Run(args []string) int {
	var verbose bool
	var out outputFlags
	flags := c.FlagSet("deployment list")
	flags.BoolVar(&verbose, "verbose", false, "")
	out.register(flags)
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 0 {
		c.Ui.Error("This command takes no arguments")
		c.Ui.Error(helpHint("deployment list"))
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
	ds, _, err := client.Deployments().List(nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error retrieving deployments: %s", err))
		return 1
	}
	if out.set() {
		return out.write(c.Ui, ds)
	}
	if len(ds) == 0 {
		c.Ui.Output("No deployments found")
		return 0
	}
	c.Ui.Output(formatDeploymentList(ds, length))
	return 0
}

func formatDeploymentList(ds []*api.Deployment, length int) string {
	rows := [][]string{row("ID", "Job ID", "Job Version", "Status", "Description")}
	for _, d := range ds {
		rows = append(rows, row(limit(d.ID, length), d.JobID, fmt.Sprint(d.JobVersion), d.Status, d.StatusDescription))
	}
	return formatList(rows)
}

// lookupDeployment finds a deployment by ID or unique ID prefix; on
// failure it returns the message to print.
func lookupDeployment(client *api.Client, id string) (*api.Deployment, string) {
	ds, _, err := client.Deployments().PrefixList(id)
	if err != nil {
		return nil, fmt.Sprintf("Error retrieving deployment: %s", err)
	}
	switch len(ds) {
	case 0:
		return nil, fmt.Sprintf("No deployment(s) with prefix or ID %q found", id)
	case 1:
		return ds[0], ""
	}
	for _, d := range ds {
		if d.ID == id {
			return d, ""
		}
	}
	return nil, fmt.Sprintf("Prefix matched multiple deployments\n\n%s", formatDeploymentList(ds, fullID))
}
