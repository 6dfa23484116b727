package command

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// Exit codes of `job plan`, as Nomad's.
const (
	planExitNoChange = 0
	planExitChange   = 1
	planExitError    = 255
)

// JobPlanCommand is `nomadish job plan`.
type JobPlanCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobPlanCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job plan [options] <path>
Alias: nomadish plan

  Shows what submitting the job file would change, without changing
  anything: the difference from the registered job (fields added, changed
  or removed) and what the scheduler would do with each group (create,
  destroy, in-place update, create/destroy update, canary, ignore).

  It prints the job modify index to give to "nomadish job run -check-index",
  which then submits the job only if nobody changed it in between.

  Exit codes: 0 when no allocations would be created or destroyed, 1 when
  some would, 255 on error.

General Options:

  ` + generalOptionsUsage() + `

Plan Options:

  -diff
    Show the difference from the registered job (default true).

  -verbose
    Show unchanged groups and tasks in the diff too.

  -json
    Read the job as JSON instead of HCL.

  -var 'key=value' / -var-file=path
    HCL2 variables.

Examples:

  $ nomadish job plan web.nomad.hcl
  $ nomadish job run -check-index 42 web.nomad.hcl
`)
}

// Synopsis returns the one-line help text.
func (c *JobPlanCommand) Synopsis() string { return "Dry-run a job update to determine its effects" }

// Run runs the command.
func (c *JobPlanCommand) Run(args []string) int {
	var diff, verbose, jsonInput, override bool
	var vars, varFiles stringSliceFlag
	flags := c.FlagSet("job plan")
	flags.BoolVar(&diff, "diff", true, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.BoolVar(&jsonInput, "json", false, "")
	flags.BoolVar(&override, "policy-override", false, "")
	flags.Var(&vars, "var", "")
	flags.Var(&varFiles, "var-file", "")
	if err := flags.Parse(args); err != nil {
		return planExitError
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <path>")
		c.Ui.Error(helpHint("job plan"))
		return planExitError
	}
	job, err := readJobFile(args[0], os.Stdin, jobFileOptions{JSON: jsonInput, Vars: vars, VarFiles: varFiles})
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error getting job struct: %s", err))
		return planExitError
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return planExitError
	}
	resp, _, err := client.Jobs().PlanOpts(job, diff, override, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error during plan: %s", err))
		return planExitError
	}
	if diff && resp.Diff != nil {
		c.Ui.Output(formatJobDiff(resp.Diff, verbose) + "\n")
	}
	c.Ui.Output("Scheduler dry-run:")
	c.Ui.Output(formatDryRun(resp) + "\n")
	if !resp.NextPeriodicLaunch.IsZero() {
		c.Ui.Output(fmt.Sprintf("- If submitted now, next periodic launch would be at %s\n", formatTime(resp.NextPeriodicLaunch)))
	}
	c.Ui.Output(fmt.Sprintf(`Job Modify Index: %d
To submit the job with version verification run:

nomadish job run -check-index %d %s

When running the job with the check-index flag, the job will only be run if the
job modify index given matches the server-side version. If the index has
changed, another user has modified the job and the plan's results are
potentially invalid.`, resp.JobModifyIndex, resp.JobModifyIndex, args[0]))
	return planExitCode(resp)
}

// planExitCode is 1 when the plan creates or destroys allocations.
func planExitCode(resp *api.JobPlanResponse) int {
	if resp.Annotations == nil {
		return planExitNoChange
	}
	for _, u := range resp.Annotations.DesiredTGUpdates {
		if u.Place+u.Stop+u.DestructiveUpdate+u.Migrate+u.Canary > 0 {
			return planExitChange
		}
	}
	return planExitNoChange
}

func formatDryRun(resp *api.JobPlanResponse) string {
	if len(resp.FailedTGAllocs) == 0 {
		return "- All tasks successfully allocated."
	}
	groups := make([]string, 0, len(resp.FailedTGAllocs))
	for g := range resp.FailedTGAllocs {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	var b strings.Builder
	b.WriteString("- WARNING: Failed to place all allocations.")
	for _, g := range groups {
		fmt.Fprintf(&b, "\n  Task Group %q:\n%s", g, formatAllocMetrics(resp.FailedTGAllocs[g], "    "))
	}
	return b.String()
}
