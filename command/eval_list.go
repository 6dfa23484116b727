package command

import (
	"fmt"
	"sort"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// EvalListCommand is `nomadish eval list`.
type EvalListCommand struct {
	Meta
}

// Help returns the long help text.
func (c *EvalListCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish eval list [options]

  Lists evaluations, newest first.

General Options:

  ` + generalOptionsUsage() + `

Eval List Options:

  -job <job>
    Only evaluations of this job ID.

  -status <status>
    Only evaluations with this status: blocked, pending, complete,
    failed or canceled.

  -verbose
    Print full identifiers.

  -json
    Print the evaluations as JSON.

  -t <template>
    Format the evaluations with a Go template.

Examples:

  $ nomadish eval list
  $ nomadish eval list -job example -status blocked
`)
}

// Synopsis returns the one-line help text.
func (c *EvalListCommand) Synopsis() string { return "List the set of evaluations" }

// Run runs the command.
func (c *EvalListCommand) Run(args []string) int {
	var verbose, jsonOut bool
	var job, status, tmpl string
	flags := c.FlagSet("eval list")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.BoolVar(&jsonOut, "json", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	flags.StringVar(&job, "job", "", "")
	flags.StringVar(&status, "status", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 0 {
		c.Ui.Error("This command takes no arguments")
		c.Ui.Error(helpHint("eval list"))
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
	var evals []*api.Evaluation
	if job != "" {
		evals, _, err = client.Jobs().Evaluations(job, nil)
	} else {
		evals, _, err = client.Evaluations().List(nil)
	}
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error querying evaluations: %v", err))
		return 1
	}
	if status != "" {
		kept := evals[:0]
		for _, e := range evals {
			if e.Status == status {
				kept = append(kept, e)
			}
		}
		evals = kept
	}
	if jsonOut || tmpl != "" {
		out, err := formatJSONOrTemplate(evals, evals, tmpl)
		if err != nil {
			c.Ui.Error(err.Error())
			return 1
		}
		c.Ui.Output(out)
		return 0
	}
	if len(evals) == 0 {
		c.Ui.Output("No evals found")
		return 0
	}
	c.Ui.Output(formatEvalList(evals, length))
	return 0
}

// formatEvalList is the table of eval list, newest first.
func formatEvalList(evals []*api.Evaluation, length int) string {
	sort.SliceStable(evals, func(i, j int) bool { return evals[i].CreateIndex > evals[j].CreateIndex })
	rows := [][]string{row("ID", "Priority", "Triggered By", "Job ID", "Namespace", "Node ID", "Status", "Placement Failures")}
	for _, e := range evals {
		rows = append(rows, row(limit(e.ID, length), fmt.Sprint(e.Priority), e.TriggeredBy, e.JobID,
			e.Namespace, orNone(limit(e.NodeID, length)), e.Status, fmt.Sprint(len(e.FailedTGAllocs) > 0)))
	}
	return formatList(rows)
}
