package command

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// EvalStatusCommand is `nomadish eval status`.
type EvalStatusCommand struct {
	Meta

	// now is the clock relative times are computed against.
	now func() time.Time
}

// Help returns the long help text.
func (c *EvalStatusCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish eval status [options] <evaluation>

  Displays information about an evaluation: what triggered it, its
  status, and why allocations could not be placed if some were not.
  <evaluation> may be an ID prefix of at least two characters.

  With -monitor, follows the evaluation as "nomadish job run" does, with
  the same exit codes.

General Options:

  ` + generalOptionsUsage() + `

Eval Status Options:

  -monitor
    Monitor the evaluation until it finishes.

  -verbose
    Print full identifiers and absolute times.

  -json
    Print the evaluation as JSON.

  -t <template>
    Format the evaluation with a Go template.

Examples:

  $ nomadish eval status 5744eb15
  $ nomadish eval status -monitor 5744eb15
`)
}

// Synopsis returns the one-line help text.
func (c *EvalStatusCommand) Synopsis() string {
	return "Display evaluation status and placement failure reasons"
}

// Run runs the command.
func (c *EvalStatusCommand) Run(args []string) int {
	var monitor, verbose, jsonOut bool
	var tmpl string
	flags := c.FlagSet("eval status")
	flags.BoolVar(&monitor, "monitor", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.BoolVar(&jsonOut, "json", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <evaluation>")
		c.Ui.Error(helpHint("eval status"))
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
	eval, msg := lookupEval(client, args[0], length)
	if eval == nil {
		c.Ui.Error(msg)
		return 1
	}
	if monitor {
		return newEvalMonitor(c.Ui, client, length).monitor(context.Background(), eval.ID)
	}
	if jsonOut || tmpl != "" {
		out, err := formatJSONOrTemplate(eval, eval, tmpl)
		if err != nil {
			c.Ui.Error(err.Error())
			return 1
		}
		c.Ui.Output(out)
		return 0
	}
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	c.Ui.Output(formatEvalStatus(eval, verbose, length, now))
	return 0
}

// lookupEval finds the one evaluation whose ID is id or starts with it.
func lookupEval(client *api.Client, id string, length int) (*api.Evaluation, string) {
	id = strings.TrimSpace(id)
	if len(id) == 1 {
		return nil, "Identifier must contain at least two characters."
	}
	evals, _, err := client.Evaluations().PrefixList(id)
	if err != nil {
		return nil, fmt.Sprintf("Error querying evaluation: %v", err)
	}
	if len(evals) == 0 {
		return nil, fmt.Sprintf("No evaluation(s) with prefix or id %q found", id)
	}
	match := ""
	for _, e := range evals {
		if e.ID == id {
			match = e.ID
		}
	}
	if match == "" && len(evals) > 1 {
		return nil, fmt.Sprintf("Prefix matched multiple evaluations\n\n%s", formatEvalList(evals, length))
	}
	if match == "" {
		match = evals[0].ID
	}
	eval, _, err := client.Evaluations().Info(match, nil)
	if err != nil {
		return nil, fmt.Sprintf("Error querying evaluation: %s", err)
	}
	return eval, ""
}

// formatEvalStatus renders the detail view of one evaluation.
func formatEvalStatus(e *api.Evaluation, verbose bool, length int, now time.Time) string {
	created := prettyTimeDiff(time.Unix(0, e.CreateTime), now)
	modified := prettyTimeDiff(time.Unix(0, e.ModifyTime), now)
	if verbose {
		created = formatUnixNanoTime(e.CreateTime)
		modified = formatUnixNanoTime(e.ModifyTime)
	}
	failures := len(e.FailedTGAllocs) > 0
	kv := [][]string{
		row("ID", limit(e.ID, length)),
		row("Create Time", created),
		row("Modify Time", modified),
		row("Status", e.Status),
		row("Status Description", orNone(e.StatusDescription)),
		row("Type", e.Type),
		row("TriggeredBy", e.TriggeredBy),
	}
	if e.JobID != "" {
		kv = append(kv, row("Job ID", e.JobID))
	}
	if e.NodeID != "" {
		kv = append(kv, row("Node ID", limit(e.NodeID, length)))
	}
	if e.DeploymentID != "" {
		kv = append(kv, row("Deployment ID", limit(e.DeploymentID, length)))
	}
	kv = append(kv,
		row("Namespace", e.Namespace),
		row("Priority", fmt.Sprint(e.Priority)),
		row("Placement Failures", fmt.Sprint(failures)),
	)
	if e.PreviousEval != "" {
		kv = append(kv, row("Previous Eval", limit(e.PreviousEval, length)))
	}
	if e.NextEval != "" {
		kv = append(kv, row("Next Eval", limit(e.NextEval, length)))
	}
	if e.BlockedEval != "" {
		kv = append(kv, row("Blocked Eval", limit(e.BlockedEval, length)))
	}
	if e.Wait > 0 {
		kv = append(kv, row("Wait", e.Wait.String()))
	}
	if !e.WaitUntil.IsZero() {
		kv = append(kv, row("Wait Until", formatTime(e.WaitUntil)))
	}
	var b strings.Builder
	b.WriteString(formatKV(kv))
	if len(e.QueuedAllocations) > 0 && verbose {
		b.WriteString("\n\nQueued Allocations\n")
		rows := [][]string{row("Task Group", "Queued")}
		for _, tg := range sortedKeys(e.QueuedAllocations) {
			rows = append(rows, row(tg, fmt.Sprint(e.QueuedAllocations[tg])))
		}
		b.WriteString(formatList(rows))
	}
	if failures {
		b.WriteString("\n\nFailed Placements\n")
		for i, tg := range sortedKeys(e.FailedTGAllocs) {
			if i > 0 {
				b.WriteString("\n\n")
			}
			m := e.FailedTGAllocs[tg]
			n := 1
			if m != nil {
				n += m.CoalescedFailures
			}
			noun := "allocation"
			if n > 1 {
				noun += "s"
			}
			fmt.Fprintf(&b, "Task Group %q (failed to place %d %s):", tg, n, noun)
			if text := formatAllocMetrics(m, "  "); text != "" {
				b.WriteString("\n" + text)
			}
		}
		if e.BlockedEval != "" {
			fmt.Fprintf(&b, "\n\nEvaluation %q waiting for additional capacity to place remainder",
				limit(e.BlockedEval, length))
		}
	}
	return b.String()
}
