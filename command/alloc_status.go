package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// AllocStatusCommand is `nomadish alloc status`.
type AllocStatusCommand struct {
	Meta

	// now is the clock relative times are computed against.
	now func() time.Time
}

// Help returns the long help text.
func (c *AllocStatusCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish alloc status [options] <allocation>

  Displays information about an allocation: where it runs, its status,
  and the state and recent events of each of its tasks. <allocation> may
  be an ID prefix of at least two characters; a prefix matching several
  allocations lists them.

General Options:

  ` + generalOptionsUsage() + `

Alloc Status Options:

  -short
    Print short output: only the allocation and its tasks' states.

  -verbose
    Print full identifiers, absolute times and placement metrics.

  -json
    Print the allocation as JSON.

  -t <template>
    Format the allocation with a Go template.

  -stats
    Show the live cpu and memory usage of each task.

Examples:

  $ nomadish alloc status 0af996ed
  $ nomadish alloc status -json 0af996ed
`)
}

// Synopsis returns the one-line help text.
func (c *AllocStatusCommand) Synopsis() string {
	return "Display allocation status information and metadata"
}

// Run runs the command.
func (c *AllocStatusCommand) Run(args []string) int {
	var short, verbose, jsonOut, stats bool
	var tmpl string
	flags := c.FlagSet("alloc status")
	flags.BoolVar(&short, "short", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.BoolVar(&jsonOut, "json", false, "")
	flags.BoolVar(&stats, "stats", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <allocation>")
		c.Ui.Error(helpHint("alloc status"))
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
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}
	alloc, msg := lookupAlloc(client, args[0], length, now)
	if alloc == nil {
		c.Ui.Error(msg)
		return 1
	}
	if jsonOut || tmpl != "" {
		out, err := formatJSONOrTemplate(alloc, alloc, tmpl)
		if err != nil {
			c.Ui.Error(err.Error())
			return 1
		}
		c.Ui.Output(out)
		return 0
	}
	c.Ui.Output(formatAllocStatus(alloc, short, verbose, length, now))
	c.printAllocChecks(client, alloc)
	if stats {
		usage, err := client.Allocations().Stats(alloc, nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Couldn't retrieve stats: %s", err))
			return 1
		}
		c.Ui.Output("\n" + formatAllocStats(usage))
	}
	return 0
}

// formatAllocStatus renders the detail view of one allocation.
func formatAllocStatus(a *api.Allocation, short, verbose bool, length int, now time.Time) string {
	var b strings.Builder
	kv := [][]string{
		row("ID", limit(a.ID, length)),
		row("Eval ID", limit(a.EvalID, length)),
		row("Name", a.Name),
		row("Node ID", limit(a.NodeID, length)),
		row("Node Name", a.NodeName),
		row("Job ID", a.JobID),
	}
	if a.Job != nil {
		kv = append(kv, row("Job Version", fmt.Sprint(a.Job.Version)))
	}
	kv = append(kv,
		row("Client Status", a.ClientStatus),
		row("Client Description", orNone(a.ClientDescription)),
		row("Desired Status", a.DesiredStatus),
		row("Desired Description", orNone(a.DesiredDescription)),
	)
	if verbose {
		kv = append(kv,
			row("Created", formatUnixNanoTime(a.CreateTime)),
			row("Modified", formatUnixNanoTime(a.ModifyTime)))
	} else {
		kv = append(kv,
			row("Created", prettyTimeDiff(time.Unix(0, a.CreateTime), now)),
			row("Modified", prettyTimeDiff(time.Unix(0, a.ModifyTime), now)))
	}
	if a.DeploymentID != "" {
		health := "unset"
		if ds := a.DeploymentStatus; ds != nil && ds.Healthy != nil {
			health = "unhealthy"
			if *ds.Healthy {
				health = "healthy"
			}
		}
		kv = append(kv, row("Deployment ID", limit(a.DeploymentID, length)), row("Deployment Health", health))
	}
	if rt := a.RescheduleTracker; rt != nil && len(rt.Events) > 0 {
		kv = append(kv, row("Reschedule Attempts", fmt.Sprint(len(rt.Events))))
	}
	if a.NextAllocation != "" {
		kv = append(kv, row("Replacement Alloc ID", limit(a.NextAllocation, length)))
	}
	if a.PreviousAllocation != "" {
		kv = append(kv, row("Rescheduled Alloc ID", limit(a.PreviousAllocation, length)))
	}
	if a.FollowupEvalID != "" {
		kv = append(kv, row("Follow-up Evaluation", limit(a.FollowupEvalID, length)))
	}
	b.WriteString(formatKV(kv))

	if verbose && a.Metrics != nil {
		m := a.Metrics
		b.WriteString("\n\nPlacement Metrics\n")
		b.WriteString(formatKV([][]string{
			row("Nodes Evaluated", fmt.Sprint(m.NodesEvaluated)),
			row("Nodes Filtered", fmt.Sprint(m.NodesFiltered)),
			row("Nodes Exhausted", fmt.Sprint(m.NodesExhausted)),
			row("Allocation Time", m.AllocationTime.String()),
		}))
		if text := formatAllocMetrics(m, "  "); text != "" && m.NodesEvaluated > 0 {
			b.WriteString("\n" + text)
		}
	}

	if addrs := formatAllocAddresses(a); addrs != "" {
		b.WriteString("\n\nAllocation Addresses:\n")
		b.WriteString(addrs)
	}

	for _, name := range sortedTaskNames(a) {
		b.WriteString("\n\n")
		b.WriteString(formatTaskState(a, name, short, verbose))
	}
	return b.String()
}

// sortedTaskNames orders the alloc's tasks: prestart hooks, main tasks,
// poststart, poststop; by name within each.
func sortedTaskNames(a *api.Allocation) []string {
	names := sortedKeys(a.TaskStates)
	var tg *structs.TaskGroup
	if a.Job != nil {
		tg = a.Job.LookupTaskGroup(a.TaskGroup)
	}
	rank := func(name string) int {
		if tg == nil {
			return 1
		}
		t := tg.LookupTask(name)
		if t == nil || t.Lifecycle == nil {
			return 1
		}
		switch t.Lifecycle.Hook {
		case structs.TaskLifecycleHookPrestart:
			return 0
		case structs.TaskLifecycleHookPoststart:
			return 2
		case structs.TaskLifecycleHookPoststop:
			return 3
		}
		return 1
	}
	sort.SliceStable(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	return names
}

// formatAllocAddresses is the table of the alloc's ports, or "".
func formatAllocAddresses(a *api.Allocation) string {
	if a.AllocatedResources == nil {
		return ""
	}
	rows := [][]string{row("Label", "Dynamic", "Address")}
	for _, p := range a.AllocatedResources.Shared.Ports {
		dynamic := "yes"
		if a.Job != nil {
			if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
				for _, n := range tg.Networks {
					for _, rp := range n.ReservedPorts {
						if rp.Label == p.Label {
							dynamic = "no"
						}
					}
				}
			}
		}
		addr := fmt.Sprintf("%s:%d", p.HostIP, p.Value)
		if p.To > 0 {
			addr += fmt.Sprintf(" -> %d", p.To)
		}
		rows = append(rows, row("*"+p.Label, dynamic, addr))
	}
	if len(rows) == 1 {
		return ""
	}
	return formatList(rows)
}

// formatTaskState is one task's section of alloc status.
func formatTaskState(a *api.Allocation, name string, short, verbose bool) string {
	st := a.TaskStates[name]
	if st == nil {
		st = &api.TaskState{State: structs.TaskStatePending}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Task %q is %q", name, st.State)
	if short {
		return b.String()
	}
	if res := formatTaskResources(a, name); res != "" {
		b.WriteString("\nTask Resources:\n")
		b.WriteString(res)
	}

	startedAt, finishedAt, lastRestart := "N/A", "N/A", "N/A"
	if !st.StartedAt.IsZero() {
		startedAt = formatTime(st.StartedAt)
	}
	if !st.FinishedAt.IsZero() && st.State == structs.TaskStateDead {
		finishedAt = formatTime(st.FinishedAt)
	}
	if !st.LastRestart.IsZero() {
		lastRestart = formatTime(st.LastRestart)
	}
	b.WriteString("\n\nTask Events:\n")
	b.WriteString(formatKV([][]string{
		row("Started At", startedAt),
		row("Finished At", finishedAt),
		row("Total Restarts", fmt.Sprint(st.Restarts)),
		row("Last Restart", lastRestart),
	}))

	b.WriteString("\n\nRecent Events:\n")
	events := st.Events
	if !verbose && len(events) > 10 {
		events = events[len(events)-10:]
	}
	rows := [][]string{row("Time", "Type", "Description")}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		rows = append(rows, row(formatUnixNanoTime(e.Time), e.Type, taskEventDescription(e)))
	}
	b.WriteString(formatList(rows))
	return b.String()
}

// formatTaskResources is the table of what the task was granted, or "".
func formatTaskResources(a *api.Allocation, name string) string {
	if a.AllocatedResources == nil {
		return ""
	}
	tr := a.AllocatedResources.Tasks[name]
	if tr == nil {
		return ""
	}
	cpu := fmt.Sprintf("%d MHz", tr.Cpu.CpuShares)
	if len(tr.Cpu.ReservedCores) > 0 {
		cpu = fmt.Sprintf("%d cores", len(tr.Cpu.ReservedCores))
	}
	mem := formatBytes(uint64(tr.Memory.MemoryMB) * 1024 * 1024)
	if tr.Memory.MemoryMaxMB > tr.Memory.MemoryMB {
		mem += "/" + formatBytes(uint64(tr.Memory.MemoryMaxMB)*1024*1024) + " max"
	}
	disk := formatBytes(uint64(a.AllocatedResources.Shared.DiskMB) * 1024 * 1024)
	var addrs []string
	for _, p := range a.AllocatedResources.Shared.Ports {
		addrs = append(addrs, fmt.Sprintf("%s: %s:%d", p.Label, p.HostIP, p.Value))
	}
	return formatList([][]string{
		row("CPU", "Memory", "Disk", "Addresses"),
		row(cpu, mem, disk, strings.Join(addrs, ", ")),
	})
}

// taskEventDescription is the human text of a task event.
func taskEventDescription(e *api.TaskEvent) string {
	if e.DisplayMessage != "" {
		return e.DisplayMessage
	}
	switch e.Type {
	case structs.TaskReceived:
		return "Task received by client"
	case structs.TaskSetup:
		return orDefault(e.Message, "Building Task Directory")
	case structs.TaskStarted:
		return "Task started by client"
	case structs.TaskTerminated:
		desc := fmt.Sprintf("Exit Code: %d", e.ExitCode)
		if e.Signal != 0 {
			desc += fmt.Sprintf(", Signal: %d", e.Signal)
		}
		if e.Message != "" {
			desc += fmt.Sprintf(", Exit Message: %q", e.Message)
		}
		return desc
	case structs.TaskKilling:
		if e.KillTimeout > 0 {
			return fmt.Sprintf("Sent interrupt. Waiting %v before force killing", e.KillTimeout)
		}
		return "Sent interrupt"
	case structs.TaskKilled:
		if e.KillError != "" {
			return e.KillError
		}
		return "Task successfully killed"
	case structs.TaskRestarting:
		in := fmt.Sprintf("Task restarting in %v", time.Duration(e.StartDelay))
		if e.RestartReason != "" {
			return e.RestartReason + " - " + in
		}
		return in
	case structs.TaskNotRestarting:
		return orDefault(e.RestartReason, "Task exceeded restart policy")
	case structs.TaskDriverFailure:
		return orDefault(e.DriverError, "Failed to start task")
	case structs.TaskSetupFailure, structs.TaskFailedValidation:
		return orDefault(e.Message, "Task failed")
	case structs.TaskSiblingFailed:
		return orDefault(e.Message, "Task's sibling failed")
	case structs.TaskLeaderDead:
		return "Leader Task in Group dead"
	case structs.TaskDriverMessage:
		return orDefault(e.DriverMessage, e.Message)
	case structs.TaskOOMKilled:
		return "Task was killed for exceeding its memory limit"
	}
	return e.Message
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
