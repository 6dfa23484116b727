package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/api"
)

// maxFailedTGs is how many groups' placement failures job status prints
// before pointing at eval status.
const maxFailedTGs = 5

// JobStatusCommand is `nomadish job status`.
type JobStatusCommand struct {
	Meta

	// now is the clock relative times are computed against.
	now func() time.Time
}

// Help returns the long help text.
func (c *JobStatusCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job status [options] [<job>]

  Displays status information about a job. <job> may be an ID prefix. If
  no job is given, lists all jobs.

General Options:

  ` + generalOptionsUsage() + `

Status Options:

  -short
    Print only the job's basic information.

  -evals
    Print the evaluations of the job.

  -all-allocs
    Include allocations of an earlier job with the same ID.

  -verbose
    Print full identifiers and absolute times.

` + outputHelp + `

Examples:

  $ nomadish job status
  $ nomadish job status example
  $ nomadish job status -evals -verbose example
`)
}

// Synopsis returns the one-line help text.
func (c *JobStatusCommand) Synopsis() string { return "Display status information about a job" }

// Run runs the command.
func (c *JobStatusCommand) Run(args []string) int {
	var short, evals, allAllocs, verbose bool
	var output outputFlags
	flags := c.FlagSet("job status")
	output.register(flags)
	flags.BoolVar(&short, "short", false, "")
	flags.BoolVar(&evals, "evals", false, "")
	flags.BoolVar(&allAllocs, "all-allocs", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) > 1 {
		c.Ui.Error("This command takes either no arguments or one: <job>")
		c.Ui.Error(helpHint("job status"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	if len(args) == 0 {
		if output.set() {
			jobs, _, err := client.Jobs().List(nil)
			if err != nil {
				c.Ui.Error(fmt.Sprintf("Error querying jobs: %s", err))
				return 1
			}
			return output.write(c.Ui, jobs)
		}
		return listJobs(c.Ui, client)
	}
	stub, msg := lookupJob(client, args[0])
	if stub == nil {
		c.Ui.Error(msg)
		return 1
	}
	if output.set() {
		job, _, err := client.Jobs().Info(stub.ID, nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error querying job: %s", err))
			return 1
		}
		return output.write(c.Ui, job)
	}
	out := jobStatusOutput{
		client:    client,
		verbose:   verbose,
		evals:     evals || verbose,
		allAllocs: allAllocs,
		short:     short,
		now:       c.now,
	}
	text, err := out.format(stub.ID)
	if text != "" {
		c.Ui.Output(text)
	}
	if err != nil {
		c.Ui.Error(err.Error())
		return 1
	}
	return 0
}

// listJobs prints the job table, or "No running jobs".
func listJobs(ui cli.Ui, client *api.Client) int {
	jobs, _, err := client.Jobs().List(nil)
	if err != nil {
		ui.Error(fmt.Sprintf("Error querying jobs: %s", err))
		return 1
	}
	if len(jobs) == 0 {
		ui.Output("No running jobs")
		return 0
	}
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	ui.Output(formatJobList(jobs))
	return 0
}

// jobStatusOutput renders the detail view of one job.
type jobStatusOutput struct {
	client    *api.Client
	verbose   bool
	evals     bool
	allAllocs bool
	short     bool
	now       func() time.Time
}

func (o *jobStatusOutput) format(jobID string) (string, error) {
	now := time.Now()
	if o.now != nil {
		now = o.now()
	}
	length := shortID
	if o.verbose {
		length = fullID
	}
	job, _, err := o.client.Jobs().Info(jobID, nil)
	if err != nil {
		return "", fmt.Errorf("Error querying job: %s", err)
	}
	periodic, param := job.IsPeriodic(), job.IsParameterized()

	var b strings.Builder
	basic := [][]string{
		row("ID", job.ID),
		row("Name", job.Name),
		row("Submit Date", formatUnixNanoTime(job.SubmitTime)),
		row("Type", job.Type),
		row("Priority", fmt.Sprint(job.Priority)),
		row("Datacenters", strings.Join(job.Datacenters, ",")),
		row("Namespace", job.Namespace),
		row("Node Pool", job.NodePool),
		row("Status", jobStatusString(job.Status, job.Stop)),
		row("Periodic", fmt.Sprint(periodic)),
		row("Parameterized", fmt.Sprint(param)),
	}
	if periodic && !param {
		next := "none (job stopped)"
		if !job.Stop {
			next = strings.TrimPrefix(nextLaunch(job.Periodic, now), "Approximate next launch time: ")
		}
		if next != "" {
			basic = append(basic, row("Next Periodic Launch", next))
		}
	}
	b.WriteString(formatKV(basic))
	if o.short {
		return b.String(), nil
	}

	summary, _, err := o.client.Jobs().Summary(job.ID, nil)
	if err != nil {
		return b.String(), fmt.Errorf("Error querying job summary: %s", err)
	}
	if param {
		pj := job.ParameterizedJob
		b.WriteString("\n\nParameterized Job\n")
		b.WriteString(formatKV([][]string{
			row("Payload", pj.Payload),
			row("Required Metadata", strings.Join(pj.MetaRequired, ", ")),
			row("Optional Metadata", strings.Join(pj.MetaOptional, ", ")),
		}))
	}
	if !periodic && !param {
		b.WriteString("\n\nSummary\n")
		b.WriteString(formatJobSummary(summary))
	}
	if c := summary.Children; c != nil && (periodic || param || c.Pending+c.Running+c.Dead > 0) {
		if param {
			b.WriteString("\n\nParameterized Job Summary\n")
		} else {
			b.WriteString("\n\nChildren Job Summary\n")
		}
		b.WriteString(formatList([][]string{
			row("Pending", "Running", "Dead"),
			row(fmt.Sprint(c.Pending), fmt.Sprint(c.Running), fmt.Sprint(c.Dead)),
		}))
	}
	if periodic || param {
		text, err := o.formatChildren(job, periodic && !param)
		b.WriteString(text)
		return b.String(), err
	}

	jobEvals, _, err := o.client.Jobs().Evaluations(job.ID, nil)
	if err != nil {
		return b.String(), fmt.Errorf("Error querying job evaluations: %s", err)
	}
	sort.Slice(jobEvals, func(i, j int) bool { return jobEvals[i].CreateIndex > jobEvals[j].CreateIndex })
	var latestFailed *api.Evaluation
	blocked := false
	rows := [][]string{row("ID", "Priority", "Triggered By", "Status", "Placement Failures")}
	for _, e := range jobEvals {
		rows = append(rows, row(limit(e.ID, length), fmt.Sprint(e.Priority), e.TriggeredBy, e.Status,
			fmt.Sprint(len(e.FailedTGAllocs) > 0)))
		if e.Status == "blocked" {
			blocked = true
		}
		if len(e.FailedTGAllocs) > 0 && (latestFailed == nil || e.CreateIndex > latestFailed.CreateIndex) {
			latestFailed = e
		}
	}
	if o.evals {
		b.WriteString("\n\nEvaluations\n")
		b.WriteString(formatList(rows))
	}
	if blocked && latestFailed != nil {
		b.WriteString("\n\nPlacement Failure\n")
		b.WriteString(formatFailedPlacements(latestFailed))
	}

	if d, _, err := o.client.Jobs().LatestDeployment(job.ID, nil); err == nil && d != nil && d.ID != "" {
		b.WriteString("\n\nLatest Deployment\n")
		b.WriteString(formatDeployment(d, length))
	}

	allocs, _, err := o.client.Jobs().Allocations(job.ID, o.allAllocs, nil)
	if err != nil {
		return b.String(), fmt.Errorf("Error querying job allocations: %s", err)
	}
	sortAllocStubs(allocs)
	b.WriteString("\n\nAllocations\n")
	b.WriteString(formatAllocListStubs(allocs, o.verbose, length, now))
	return b.String(), nil
}

// formatChildren lists the jobs launched by a periodic or parameterized job.
func (o *jobStatusOutput) formatChildren(job *api.Job, periodic bool) (string, error) {
	suffix, title, none := "/dispatch-", "Dispatched Jobs", "No dispatched instances of parameterized job found"
	if periodic {
		suffix, title, none = "/periodic-", "Previously Launched Jobs", "No instances of periodic job found"
	}
	children, _, err := o.client.Jobs().PrefixList(job.ID + suffix)
	if err != nil {
		return "", fmt.Errorf("Error querying job: %s", err)
	}
	rows := [][]string{row("ID", "Status")}
	for _, child := range children {
		if child.ParentID == job.ID {
			rows = append(rows, row(child.ID, child.Status))
		}
	}
	if len(rows) == 1 {
		return "\n\n" + none, nil
	}
	return "\n\n" + title + "\n" + formatList(rows), nil
}

// formatJobSummary is the per-group table of allocation counts. The Unknown
// column appears only when some allocation is unknown.
func formatJobSummary(s *api.JobSummary) string {
	unknown := false
	for _, tg := range s.Summary {
		if tg.Unknown > 0 {
			unknown = true
		}
	}
	header := row("Task Group", "Queued", "Starting", "Running", "Failed", "Complete", "Lost")
	if unknown {
		header = append(header, "Unknown")
	}
	rows := [][]string{header}
	for _, name := range sortedKeys(s.Summary) {
		tg := s.Summary[name]
		r := row(name, fmt.Sprint(tg.Queued), fmt.Sprint(tg.Starting), fmt.Sprint(tg.Running),
			fmt.Sprint(tg.Failed), fmt.Sprint(tg.Complete), fmt.Sprint(tg.Lost))
		if unknown {
			r = append(r, fmt.Sprint(tg.Unknown))
		}
		rows = append(rows, r)
	}
	return formatList(rows)
}

// formatFailedPlacements explains an evaluation's placement failures per
// group, at most maxFailedTGs of them.
func formatFailedPlacements(e *api.Evaluation) string {
	groups := sortedKeys(e.FailedTGAllocs)
	var parts []string
	for i, tg := range groups {
		if i == maxFailedTGs {
			parts = append(parts, fmt.Sprintf("Placement failures truncated. To see remainder run:\nnomadish eval status %s", e.ID))
			break
		}
		text := fmt.Sprintf("Task Group %q:", tg)
		if m := formatAllocMetrics(e.FailedTGAllocs[tg], "  "); m != "" {
			text += "\n" + m
		}
		parts = append(parts, text)
	}
	return strings.Join(parts, "\n\n")
}
