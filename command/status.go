package command

import (
	"fmt"
	"strings"
)

// StatusCommand is `nomadish status`: the status of whatever an ID names.
type StatusCommand struct {
	Meta
}

// Help returns the long help text.
func (c *StatusCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish status [options] [<identifier>]

  Displays the status of whatever <identifier> (or an ID prefix) names:
  a job, an allocation, an evaluation or a node, tried in that order.
  Without an identifier, lists all jobs.

General Options:

  ` + generalOptionsUsage() + `

Status Options:

  -short
    Print short output, where the resource's status command has it.

  -verbose
    Print full identifiers and absolute times.

Examples:

  $ nomadish status
  $ nomadish status example
  $ nomadish status 0af996ed
`)
}

// Synopsis returns the one-line help text.
func (c *StatusCommand) Synopsis() string { return "Display the status output for a resource" }

// Run runs the command.
func (c *StatusCommand) Run(args []string) int {
	var short, verbose bool
	flags := c.FlagSet("status")
	flags.BoolVar(&short, "short", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) > 1 {
		c.Ui.Error("This command takes either no arguments or one: <identifier>")
		c.Ui.Error(helpHint("status"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	if len(args) == 0 {
		return listJobs(c.Ui, client)
	}
	id := strings.TrimSpace(args[0])

	// Sub-commands parse the general options again, so hand them on.
	var sub []string
	if c.address != "" {
		sub = append(sub, "-address="+c.address)
	}
	if c.region != "" {
		sub = append(sub, "-region="+c.region)
	}
	if c.namespace != "" {
		sub = append(sub, "-namespace="+c.namespace)
	}
	if c.token != "" {
		sub = append(sub, "-token="+c.token)
	}
	if verbose {
		sub = append(sub, "-verbose")
	}
	withShort := sub
	if short {
		withShort = append(append([]string(nil), sub...), "-short")
	}
	meta := Meta{Ui: c.Ui}

	if jobs, _, err := client.Jobs().PrefixList(id); err == nil && len(jobs) > 0 {
		return (&JobStatusCommand{Meta: meta}).Run(append(withShort, id))
	}
	if len(id) < 2 {
		c.Ui.Error(fmt.Sprintf("No matches found for %q (other identifiers need at least two characters)", id))
		return 1
	}
	if allocs, _, err := client.Allocations().PrefixList(id); err == nil && len(allocs) > 0 {
		return (&AllocStatusCommand{Meta: meta}).Run(append(withShort, id))
	}
	if evals, _, err := client.Evaluations().PrefixList(id); err == nil && len(evals) > 0 {
		return (&EvalStatusCommand{Meta: meta}).Run(append(sub, id))
	}
	nodes, _, err := client.Nodes().PrefixList(id)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error querying nodes: %s", err))
		return 1
	}
	if len(nodes) > 0 {
		return (&NodeStatusCommand{Meta: meta}).Run(append(withShort, id))
	}
	c.Ui.Error(fmt.Sprintf("No matches found for %q", id))
	return 1
}
