package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// allocArgs parses flags and finds the allocation named by the first
// argument; it returns nil after telling the user what went wrong.
func allocArgs(m *Meta, name string, args []string, minArgs, maxArgs int) (*api.Client, *api.Allocation, []string) {
	if len(args) < minArgs || (maxArgs >= 0 && len(args) > maxArgs) {
		m.Ui.Error(fmt.Sprintf("This command takes between %d and %d arguments", minArgs, maxArgs))
		if maxArgs < 0 {
			m.Ui.Error(fmt.Sprintf("This command takes at least %d arguments", minArgs))
		}
		m.Ui.Error(helpHint(name))
		return nil, nil, nil
	}
	client, err := m.Client()
	if err != nil {
		m.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return nil, nil, nil
	}
	alloc, msg := lookupAlloc(client, args[0], shortID, time.Now())
	if alloc == nil {
		m.Ui.Error(msg)
		return nil, nil, nil
	}
	return client, alloc, args[1:]
}

// AllocRestartCommand is `nomadish alloc restart`.
type AllocRestartCommand struct{ Meta }

// Help returns the long help text.
func (c *AllocRestartCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish alloc restart [options] <allocation> [<task>]

  Restarts the running tasks of an allocation in place, outside their
  restart policy. With a task name, or -task, only that task restarts.

General Options:

  ` + generalOptionsUsage() + `

Alloc Restart Options:

  -task <task>
    The task to restart.

  -all-tasks
    Restart all running tasks, as giving no task does (accepted for
    Nomad's scripts; tasks that are not running are not started again).

Examples:

  $ nomadish alloc restart 0af996ed
  $ nomadish alloc restart -task web 0af996ed
`)
}

// Synopsis returns the one-line help text.
func (c *AllocRestartCommand) Synopsis() string { return "Restart a running allocation" }

// Run runs the command.
func (c *AllocRestartCommand) Run(args []string) int {
	var task string
	var allTasks bool
	flags := c.FlagSet("alloc restart")
	flags.StringVar(&task, "task", "", "")
	flags.BoolVar(&allTasks, "all-tasks", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	client, alloc, rest := allocArgs(&c.Meta, "alloc restart", flags.Args(), 1, 2)
	if alloc == nil {
		return 1
	}
	if len(rest) == 1 {
		if task != "" && task != rest[0] {
			c.Ui.Error("Task name given twice with different values")
			return 1
		}
		task = rest[0]
	}
	if task != "" && allTasks {
		c.Ui.Error("The -all-tasks option cannot be used with a task name")
		return 1
	}
	if task != "" && !allocHasTask(alloc, task) {
		c.Ui.Error(fmt.Sprintf("Could not find task named: %s, found:\n%s", task, strings.Join(allocTasks(alloc), "\n")))
		return 1
	}
	if err := client.Allocations().Restart(alloc, task, nil); err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to restart allocation:\n\n%s", err))
		return 1
	}
	return 0
}

// AllocStopCommand is `nomadish alloc stop`.
type AllocStopCommand struct{ Meta }

// Help returns the long help text.
func (c *AllocStopCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish alloc stop [options] <allocation>

  Stops an allocation; the scheduler places a replacement. The command
  monitors the evaluation that does so.

General Options:

  ` + generalOptionsUsage() + `

Alloc Stop Options:

  -detach
    Return immediately; the evaluation ID is printed.

  -verbose
    Show full identifiers.

Examples:

  $ nomadish alloc stop 0af996ed
  $ nomadish alloc stop -detach 0af996ed
`)
}

// Synopsis returns the one-line help text.
func (c *AllocStopCommand) Synopsis() string { return "Stop and reschedule a running allocation" }

// Run runs the command.
func (c *AllocStopCommand) Run(args []string) int {
	var detach, verbose bool
	flags := c.FlagSet("alloc stop")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	client, alloc, _ := allocArgs(&c.Meta, "alloc stop", flags.Args(), 1, 1)
	if alloc == nil {
		return 1
	}
	resp, err := client.Allocations().Stop(alloc, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error stopping allocation: %s", err))
		return 1
	}
	if detach {
		c.Ui.Output(resp.EvalID)
		return 0
	}
	length := shortID
	if verbose {
		length = fullID
	}
	return newEvalMonitor(c.Ui, client, length).monitor(context.Background(), resp.EvalID)
}

// AllocSignalCommand is `nomadish alloc signal`.
type AllocSignalCommand struct{ Meta }

// Help returns the long help text.
func (c *AllocSignalCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish alloc signal [options] <allocation> [<task>]

  Sends a signal to a task of an allocation (SIGKILL unless -s says).

General Options:

  ` + generalOptionsUsage() + `

Alloc Signal Options:

  -s <signal>
    The signal to send, such as SIGHUP.

  -task <task>
    The task to signal; without it every running task is signalled.

Examples:

  $ nomadish alloc signal -s SIGHUP 0af996ed
  $ nomadish alloc signal -s SIGUSR1 -task web 0af996ed
`)
}

// Synopsis returns the one-line help text.
func (c *AllocSignalCommand) Synopsis() string { return "Signal a running allocation" }

// Run runs the command.
func (c *AllocSignalCommand) Run(args []string) int {
	var sig, task string
	flags := c.FlagSet("alloc signal")
	flags.StringVar(&sig, "s", "", "")
	flags.StringVar(&task, "task", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	client, alloc, rest := allocArgs(&c.Meta, "alloc signal", flags.Args(), 1, 2)
	if alloc == nil {
		return 1
	}
	if len(rest) == 1 {
		task = rest[0]
	}
	if task != "" && !allocHasTask(alloc, task) {
		c.Ui.Error(fmt.Sprintf("Could not find task named: %s, found:\n%s", task, strings.Join(allocTasks(alloc), "\n")))
		return 1
	}
	if err := client.Allocations().Signal(alloc, nil, task, strings.ToUpper(sig)); err != nil {
		c.Ui.Error(fmt.Sprintf("Error signalling allocation: %s", err))
		return 1
	}
	return 0
}

// AllocExecCommand is `nomadish alloc exec`.
type AllocExecCommand struct {
	Meta
	// stdin, stdout and stderr replace the process's in tests.
	stdin          io.Reader
	stdout, stderr io.Writer
}

// Help returns the long help text.
func (c *AllocExecCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish alloc exec [options] <allocation> <command> [<args>...]

  Runs a command inside the environment of a running task, with this
  command's input and output streamed to it; the command's exit code is
  this command's exit code.

General Options:

  ` + generalOptionsUsage() + `

Alloc Exec Options:

  -task <task>
    The task to run the command in; needed when the allocation has several.

  -i
    Pass this command's standard input (default true).

  -t
    Run the command on a terminal (default true when standard input is a
    terminal); the local terminal is put in raw mode meanwhile.

Examples:

  $ nomadish alloc exec -i -t 0af996ed /bin/sh
  $ echo hello | nomadish alloc exec -t=false -task web 0af996ed cat
`)
}

// Synopsis returns the one-line help text.
func (c *AllocExecCommand) Synopsis() string { return "Execute commands in task" }

// Run runs the command.
func (c *AllocExecCommand) Run(args []string) int {
	var task string
	var stdinOpt, tty bool
	flags := c.FlagSet("alloc exec")
	flags.StringVar(&task, "task", "", "")
	flags.BoolVar(&stdinOpt, "i", true, "")
	flags.BoolVar(&tty, "t", c.stdin == nil && isTerminal(os.Stdin), "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	client, alloc, rest := allocArgs(&c.Meta, "alloc exec", flags.Args(), 2, -1)
	if alloc == nil {
		return 1
	}
	if task == "" {
		tasks := allocTasks(alloc)
		if len(tasks) != 1 {
			c.Ui.Error(fmt.Sprintf("Please specify the task; the allocation has: %s", strings.Join(tasks, ", ")))
			return 1
		}
		task = tasks[0]
	} else if !allocHasTask(alloc, task) {
		c.Ui.Error(fmt.Sprintf("Could not find task named: %s, found:\n%s", task, strings.Join(allocTasks(alloc), "\n")))
		return 1
	}
	stdout, stderr := c.stdout, c.stderr
	if stdout == nil {
		stdout = os.Stdout
	}
	if stderr == nil {
		stderr = os.Stderr
	}
	var in io.Reader
	if stdinOpt {
		in = c.stdin
		if in == nil {
			in = os.Stdin
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var sizes chan api.TerminalSize
	if tty && c.stdin == nil && isTerminal(os.Stdin) {
		restore, err := makeRaw(os.Stdin)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Failed to put the terminal in raw mode: %s", err))
			return 1
		}
		defer restore()
		sizes = make(chan api.TerminalSize, 1)
		if h, w, err := terminalSize(os.Stdin); err == nil {
			sizes <- api.TerminalSize{Height: h, Width: w}
		}
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-winch:
					if h, w, err := terminalSize(os.Stdin); err == nil {
						select {
						case sizes <- api.TerminalSize{Height: h, Width: w}:
						default:
						}
					}
				}
			}
		}()
	}
	code, err := client.Allocations().Exec(ctx, alloc, task, tty, rest, in, stdout, stderr, sizes, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to exec into task: %s", err))
		return 1
	}
	return code
}

// AllocFSCommand is `nomadish alloc fs`.
type AllocFSCommand struct{ Meta }

// Help returns the long help text.
func (c *AllocFSCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish alloc fs [options] <allocation> [<path>]

  Lists a directory of an allocation, or prints a file. Paths are relative
  to the allocation directory and cannot leave it.

General Options:

  ` + generalOptionsUsage() + `

Alloc FS Options:

  -stat
    Show information about the file instead of its content.

Examples:

  $ nomadish alloc fs 0af996ed
  $ nomadish alloc fs 0af996ed alloc/logs/web.stdout.0
  $ nomadish alloc fs -stat 0af996ed web/local
`)
}

// Synopsis returns the one-line help text.
func (c *AllocFSCommand) Synopsis() string { return "Inspect the contents of an allocation directory" }

// Run runs the command.
func (c *AllocFSCommand) Run(args []string) int {
	var stat bool
	flags := c.FlagSet("alloc fs")
	flags.BoolVar(&stat, "stat", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	client, alloc, rest := allocArgs(&c.Meta, "alloc fs", flags.Args(), 1, 2)
	if alloc == nil {
		return 1
	}
	p := "/"
	if len(rest) == 1 {
		p = rest[0]
	}
	fs := client.AllocFS()
	info, _, err := fs.Stat(alloc, p, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error stating file: %s", err))
		return 1
	}
	if stat {
		c.Ui.Output(formatFileInfos([]*api.AllocFileInfo{info}))
		return 0
	}
	if info.IsDir {
		files, _, err := fs.List(alloc, p, nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error listing alloc dir: %s", err))
			return 1
		}
		c.Ui.Output(formatFileInfos(files))
		return 0
	}
	r, err := fs.Cat(alloc, p, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error reading file: %s", err))
		return 1
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error reading file: %s", err))
		return 1
	}
	c.Ui.Output(strings.TrimSuffix(string(b), "\n"))
	return 0
}

func formatFileInfos(files []*api.AllocFileInfo) string {
	rows := [][]string{row("Mode", "Size", "Modified Time", "Name")}
	for _, f := range files {
		name := f.Name
		if f.IsDir {
			name += "/"
		}
		rows = append(rows, row(f.FileMode, formatBytes(uint64(f.Size)), formatTime(f.ModTime), name))
	}
	return formatList(rows)
}

func allocTasks(a *api.Allocation) []string {
	var out []string
	for name := range a.TaskStates {
		out = append(out, name)
	}
	if len(out) == 0 && a.Job != nil {
		if tg := a.Job.LookupTaskGroup(a.TaskGroup); tg != nil {
			for _, t := range tg.Tasks {
				out = append(out, t.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func allocHasTask(a *api.Allocation, task string) bool {
	for _, t := range allocTasks(a) {
		if t == task {
			return true
		}
	}
	return false
}

// formatAllocStats renders the live usage of each task of an allocation.
func formatAllocStats(u *api.AllocResourceUsage) string {
	rows := [][]string{row("Task", "CPU", "Memory RSS", "Memory Usage", "Swap")}
	for _, name := range sortedKeys(u.Tasks) {
		t := u.Tasks[name]
		if t == nil || t.ResourceUsage == nil || t.ResourceUsage.CpuStats == nil || t.ResourceUsage.MemoryStats == nil {
			continue
		}
		cpu, mem := t.ResourceUsage.CpuStats, t.ResourceUsage.MemoryStats
		rows = append(rows, row(name, fmt.Sprintf("%.2f%%", cpu.Percent), formatBytes(mem.RSS), formatBytes(mem.Usage), formatBytes(mem.Swap)))
	}
	return "Task Resources:\n" + formatList(rows)
}
