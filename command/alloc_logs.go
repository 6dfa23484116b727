package command

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// Tail defaults.
const (
	// defaultTailLines is what -tail shows without -n or -c.
	defaultTailLines = 10
	// bytesPerLine estimates how far back from the end -n lines start.
	bytesPerLine = 120
	// tailSettle is how long a followed stream gathers its first burst
	// before the last -n lines of it are printed.
	tailSettle = 500 * time.Millisecond
)

// AllocLogsCommand is `nomadish alloc logs`.
type AllocLogsCommand struct {
	Meta

	// Stdout receives the log bytes; nil means os.Stdout.
	Stdout io.Writer
}

// Help returns the long help text.
func (c *AllocLogsCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish alloc logs [options] <allocation> [<task>]
Alias: nomadish logs

  Streams the stdout (or stderr) log of a task of an allocation.
  <allocation> may be an ID prefix. The task may be omitted when the
  allocation runs a single task.

General Options:

  ` + generalOptionsUsage() + `

Logs Options:

  -stderr
    Print the stderr log instead of stdout.

  -task <task>
    The task to read; an alternative to the second argument.

  -f
    Follow the log: keep printing new output until interrupted.

  -tail
    Start relative to the end of the log: the last 10 lines unless -n or
    -c says otherwise.

  -n <lines>
    Print about the last <lines> lines (implies -tail).

  -c <bytes>
    Print the last <bytes> bytes (implies -tail).

  -verbose
    Print full identifiers in messages.

Examples:

  $ nomadish alloc logs 0af996ed
  $ nomadish alloc logs -stderr -f 0af996ed redis
  $ nomadish alloc logs -tail -n 50 0af996ed
`)
}

// Synopsis returns the one-line help text.
func (c *AllocLogsCommand) Synopsis() string { return "Streams the logs of a task" }

// Run runs the command.
func (c *AllocLogsCommand) Run(args []string) int {
	var stderr, follow, tail, verbose bool
	var task string
	var numLines, numBytes int64
	flags := c.FlagSet("alloc logs")
	flags.BoolVar(&stderr, "stderr", false, "")
	flags.BoolVar(&follow, "f", false, "")
	flags.BoolVar(&tail, "tail", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.StringVar(&task, "task", "", "")
	flags.Int64Var(&numLines, "n", -1, "")
	flags.Int64Var(&numBytes, "c", -1, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) < 1 || len(args) > 2 {
		c.Ui.Error("This command takes one or two arguments: <allocation> [<task>]")
		c.Ui.Error(helpHint("alloc logs"))
		return 1
	}
	if numLines == 0 || numBytes == 0 || numLines < -1 || numBytes < -1 {
		c.Ui.Error("-n and -c must be positive")
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
	alloc, msg := lookupAlloc(client, args[0], length, time.Now())
	if alloc == nil {
		c.Ui.Error(msg)
		return 1
	}
	if task == "" && len(args) == 2 {
		task = args[1]
	}
	task, msg = pickTask(alloc, task, length)
	if msg != "" {
		c.Ui.Error(msg)
		return 1
	}

	opts := api.LogsOptions{Task: task, Type: api.LogTypeStdout, Follow: follow, Origin: api.OriginStart}
	if stderr {
		opts.Type = api.LogTypeStderr
	}
	lines := int64(-1)
	if tail || numLines > 0 || numBytes > 0 {
		opts.Origin = api.OriginEnd
		switch {
		case numBytes > 0:
			opts.Offset = numBytes
		case numLines > 0:
			lines = numLines
		default:
			lines = defaultTailLines
		}
		if lines > 0 {
			opts.Offset = lines * bytesPerLine
		}
	}

	out := c.Stdout
	if out == nil {
		out = os.Stdout
	}
	ctx := context.Background()
	rc, err := client.AllocFS().LogsReader(alloc, opts, (&api.QueryOptions{}).WithContext(ctx))
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error reading %s log of task %q: %s", opts.Type, task, err))
		return 1
	}
	defer rc.Close()
	if err := copyLog(out, rc, lines, follow); err != nil {
		c.Ui.Error(fmt.Sprintf("Error reading %s log of task %q: %s", opts.Type, task, err))
		return 1
	}
	return 0
}

// pickTask checks the task named, or picks the only task of the alloc.
func pickTask(alloc *api.Allocation, task string, length int) (string, string) {
	var names []string
	if alloc.Job != nil {
		if tg := alloc.Job.LookupTaskGroup(alloc.TaskGroup); tg != nil {
			for _, t := range tg.Tasks {
				names = append(names, t.Name)
			}
		}
	}
	if len(names) == 0 {
		names = sortedKeys(alloc.TaskStates)
	}
	if task != "" {
		for _, n := range names {
			if n == task {
				return task, ""
			}
		}
		return "", fmt.Sprintf("Could not find task named %q in allocation %q; its tasks are: %s",
			task, limit(alloc.ID, length), strings.Join(names, ", "))
	}
	if len(names) == 1 {
		return names[0], ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Allocation %q is running the following tasks:\n", limit(alloc.ID, length))
	for _, n := range names {
		fmt.Fprintf(&b, "  * %s\n", n)
	}
	b.WriteString("\nPlease specify the task.")
	return "", b.String()
}

// copyLog copies the log to out. With lines > 0 only the last lines of
// the initial content are printed: all of it when not following, the
// first burst when following.
func copyLog(out io.Writer, r io.Reader, lines int64, follow bool) error {
	if lines <= 0 {
		_, err := io.Copy(out, r)
		return err
	}
	if !follow {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		_, err = out.Write(lastLines(data, lines))
		return err
	}

	type chunk struct {
		data []byte
		err  error
	}
	chunks := make(chan chunk)
	done := make(chan struct{})
	defer close(done)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			c := chunk{data: append([]byte(nil), buf[:n]...), err: err}
			select {
			case chunks <- c:
			case <-done:
				return
			}
			if err != nil {
				return
			}
		}
	}()

	var initial bytes.Buffer
	settle := time.NewTimer(tailSettle)
	defer settle.Stop()
	settled := false
	for {
		select {
		case <-settle.C:
			if _, err := out.Write(lastLines(initial.Bytes(), lines)); err != nil {
				return err
			}
			initial.Reset()
			settled = true
		case c := <-chunks:
			if settled {
				if _, err := out.Write(c.data); err != nil {
					return err
				}
			} else {
				initial.Write(c.data)
			}
			if c.err != nil {
				if !settled {
					if _, err := out.Write(lastLines(initial.Bytes(), lines)); err != nil {
						return err
					}
				}
				if c.err == io.EOF {
					return nil
				}
				return c.err
			}
		}
	}
}

// lastLines returns the last n lines of data; a final line without a
// newline counts as a line.
func lastLines(data []byte, n int64) []byte {
	end := len(data)
	if end > 0 && data[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if data[i] == '\n' {
			n--
			if n == 0 {
				return data[i+1:]
			}
		}
	}
	return data
}
