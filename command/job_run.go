package command

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gorhill/cronexpr"

	"github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// enforceIndexRe pulls the servers' explanation out of a failed
// check-index register.
var enforceIndexRe = regexp.MustCompile(`\((` + api.RegisterEnforceIndexErrPrefix + `.*)\)`)

// JobRunCommand is `nomadish job run`.
type JobRunCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobRunCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job run [options] <path>
Alias: nomadish run

  Starts running a new job or updates an existing job using the
  specification located at <path>. If <path> is "-", the job file is
  read from standard input.

  The job file is parsed and checked locally, then submitted to the
  agent. The command then monitors the evaluation the submission
  created, printing the allocations it places, until the evaluation
  finishes. When the evaluation started a deployment (service jobs with
  an update block), the command then follows the deployment until it
  succeeds or fails, showing per task group the desired, placed, healthy
  and unhealthy allocations: redrawn in place under a spinner on a
  terminal, as a line per change otherwise. It is safe to exit the
  monitor early with ctrl+c.

  Exit codes: 0 when the job was submitted, every allocation was placed
  and its deployment, if any, succeeded; 2 when some allocations could
  not be placed (unsatisfiable constraints, resources exhausted, ...),
  in which case the deployment is not followed; 1 for any other error,
  a failed deployment included.

General Options:

  ` + generalOptionsUsage() + `

Run Options:

  -check-index=<index>
    Register or update the job only if the server-side job modify index
    matches <index>. Zero registers the job only if it does not exist.

  -detach
    Return immediately instead of monitoring. The evaluation ID is
    printed, to be inspected with "nomadish eval status".

  -eval-priority=<priority>
    Override the priority of the evaluation the submission creates.

  -json
    Read the job file as JSON, either bare or wrapped in {"Job": ...}
    as printed by "nomadish job inspect" and "nomadish job run -output".

  -output
    Print the JSON that would be submitted to the HTTP API and exit,
    without contacting an agent.

  -policy-override
    Ask the servers to override soft-mandatory policies.

  -preserve-counts
    Keep the task group counts of the running job when updating it.

  -var 'key=value'
    Set an HCL variable. May be given several times.

  -var-file=<path>
    Read HCL variables from a file. May be given several times.

  -verbose
    Print full identifiers, and the deployment's allocations while it
    is monitored.

Examples:

  $ nomadish job run example.nomad.hcl
  $ nomadish job run -var 'image=redis:7' -detach example.nomad.hcl
  $ nomadish job run -output example.nomad.hcl > example.json
`)
}

// Synopsis returns the one-line help text.
func (c *JobRunCommand) Synopsis() string { return "Run a new job or update an existing job" }

// Run runs the command.
func (c *JobRunCommand) Run(args []string) int {
	var detach, output, verbose, jsonInput, override, preserve, strict bool
	var checkIndex string
	var evalPriority int
	var vars, varFiles stringSliceFlag

	flags := c.FlagSet("job run")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&output, "output", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.BoolVar(&jsonInput, "json", false, "")
	flags.BoolVar(&override, "policy-override", false, "")
	flags.BoolVar(&preserve, "preserve-counts", false, "")
	flags.BoolVar(&strict, "hcl2-strict", true, "")
	flags.StringVar(&checkIndex, "check-index", "", "")
	flags.IntVar(&evalPriority, "eval-priority", 0, "")
	flags.Var(&vars, "var", "")
	flags.Var(&varFiles, "var-file", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <path>")
		c.Ui.Error(helpHint("job run"))
		return 1
	}
	length := shortID
	if verbose {
		length = fullID
	}

	job, err := readJobFile(args[0], os.Stdin, jobFileOptions{JSON: jsonInput, Vars: vars, VarFiles: varFiles})
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error getting job struct: %s", err))
		return 1
	}
	c.warnJobFile(job)
	// -output prints what the parser made, as Nomad's does, without the
	// checks the servers apply on submission.
	if output {
		buf, err := json.MarshalIndent(struct{ Job *structs.Job }{job}, "", "    ")
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error converting job: %s", err))
			return 1
		}
		c.Ui.Output(string(buf))
		return 0
	}
	if err := validateJob(job); err != nil {
		c.Ui.Error(fmt.Sprintf("Job validation errors:\n%s", err))
		return 1
	}

	var opts api.RegisterOptions
	if checkIndex != "" {
		idx, err := strconv.ParseUint(checkIndex, 10, 64)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error parsing check-index value %q: %v", checkIndex, err))
			return 1
		}
		opts.EnforceIndex = true
		opts.ModifyIndex = idx
	}
	opts.PolicyOverride = override
	opts.PreserveCounts = preserve
	opts.EvalPriority = evalPriority

	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	if job.Region != "" {
		client.SetRegion(job.Region)
	}
	if job.Namespace != "" {
		client.SetNamespace(job.Namespace)
	}

	resp, _, err := client.Jobs().RegisterOpts(job, &opts, nil)
	if err != nil {
		if m := enforceIndexRe.FindStringSubmatch(err.Error()); len(m) == 2 {
			c.Ui.Error(m[1])
			c.Ui.Error("Job not updated")
			return 1
		}
		c.Ui.Error(fmt.Sprintf("Error submitting job: %s", err))
		return 1
	}
	if resp.Warnings != "" {
		c.Ui.Output(fmt.Sprintf("Job Warnings:\n%s\n", resp.Warnings))
	}

	periodic, paramjob := job.IsPeriodic(), job.IsParameterized()
	if detach || periodic || paramjob || resp.EvalID == "" {
		c.Ui.Output("Job registration successful")
		switch {
		case periodic && !paramjob:
			if line := nextLaunch(job.Periodic, time.Now()); line != "" {
				c.Ui.Output(line)
			}
		case !paramjob && resp.EvalID != "":
			c.Ui.Output("Evaluation ID: " + resp.EvalID)
		}
		return 0
	}

	ctx := context.Background()
	mon := newEvalMonitor(c.Ui, client, length)
	code := mon.monitor(ctx, resp.EvalID)
	if code == 1 || mon.deployment == "" {
		return code
	}
	if code == 2 {
		// Scheduling failed: the deployment cannot end before capacity
		// comes, so the placement failure is the answer now.
		c.Ui.Output(fmt.Sprintf("==> %s: Deployment %q waits for the allocations not placed; follow it with \"nomadish deployment status -monitor %s\"",
			formatTime(time.Now()), limit(mon.deployment, length), limit(mon.deployment, length)))
		return 2
	}
	// As Nomad: a deployment that fails is an error.
	dm := newDeploymentMonitor(c.Ui, client, length, verbose)
	status, err := dm.monitor(ctx, mon.deployment)
	if err != nil || status != structs.DeploymentStatusSuccessful {
		return 1
	}
	return 0
}

// nextLaunch says when a periodic job launches next, or "" when the spec
// cannot say.
func nextLaunch(p *structs.PeriodicConfig, now time.Time) string {
	if p == nil || (p.SpecType != "" && p.SpecType != "cron") {
		return ""
	}
	loc := time.UTC
	if p.TimeZone != "" {
		l, err := time.LoadLocation(p.TimeZone)
		if err != nil {
			return ""
		}
		loc = l
	}
	specs := p.Specs
	if p.Spec != "" {
		specs = append([]string{p.Spec}, specs...)
	}
	now = now.In(loc)
	var next time.Time
	for _, spec := range specs {
		expr, err := cronexpr.Parse(spec)
		if err != nil {
			continue
		}
		t := expr.Next(now)
		if !t.IsZero() && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if next.IsZero() {
		return ""
	}
	return fmt.Sprintf("Approximate next launch time: %s (%s from now)",
		formatTime(next), strings.TrimSuffix(prettyTimeDiff(now, next), " ago"))
}
