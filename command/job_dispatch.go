package command

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// JobDispatchCommand is `nomadish job dispatch`.
type JobDispatchCommand struct {
	Meta
	// stdin is read for the payload "-"; nil means os.Stdin.
	stdin io.Reader
}

// Help returns the long help text.
func (c *JobDispatchCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job dispatch [options] <parameterized job> [input source]

  Creates an instance of a parameterized job. The payload is read from the
  file named by [input source], or from stdin when it is "-"; it is limited
  to 16384 bytes and written to the file of each task's dispatch_payload
  block. Meta values are given with -meta, once per key.

  The dispatched job's ID is printed and its evaluation monitored unless
  -detach is given.

General Options:

  ` + generalOptionsUsage() + `

Dispatch Options:

  -meta <key>=<value>
    Meta key and value for the dispatched job; repeatable.

  -idempotency-token <token>
    Do not dispatch again while a job dispatched with this token exists.

  -id-prefix-template <prefix>
    Put the prefix in the dispatched job's ID, after "dispatch-".

  -priority <n>
    Priority of the dispatched job instead of the parameterized job's.

  -detach
    Return immediately instead of monitoring.

  -verbose
    Print full identifiers.

Examples:

  $ nomadish job dispatch -meta input=a.csv convert payload.json
  $ echo hello | nomadish job dispatch greet -
`)
}

// Synopsis returns the one-line help text.
func (c *JobDispatchCommand) Synopsis() string { return "Dispatch an instance of a parameterized job" }

type metaFlag map[string]string

func (m metaFlag) String() string { return "" }

func (m metaFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("meta must be given as key=value, got %q", s)
	}
	m[k] = v
	return nil
}

// Run runs the command.
func (c *JobDispatchCommand) Run(args []string) int {
	var detach, verbose bool
	var token string
	meta := metaFlag{}
	flags := c.FlagSet("job dispatch")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.StringVar(&token, "idempotency-token", "", "")
	var prefix string
	var priority int
	flags.StringVar(&prefix, "id-prefix-template", "", "")
	flags.IntVar(&priority, "priority", 0, "")
	flags.Var(meta, "meta", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) < 1 || len(args) > 2 {
		c.Ui.Error("This command takes one or two arguments: <parameterized job> [input source]")
		c.Ui.Error(helpHint("job dispatch"))
		return 1
	}
	var payload []byte
	if len(args) == 2 {
		var err error
		if args[1] == "-" {
			in := c.stdin
			if in == nil {
				in = os.Stdin
			}
			payload, err = io.ReadAll(in)
		} else {
			payload, err = os.ReadFile(args[1])
		}
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error reading input data: %v", err))
			return 1
		}
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
	resp, _, err := client.Jobs().DispatchOpts(&api.JobDispatchRequest{
		JobID: args[0], Meta: meta, Payload: payload, IdempotencyToken: token,
		IdPrefixTemplate: prefix, Priority: priority,
	}, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to dispatch job: %s", err))
		return 1
	}
	c.Ui.Output(fmt.Sprintf("Dispatched Job ID = %s", resp.DispatchedJobID))
	if resp.EvalID == "" {
		return 0
	}
	c.Ui.Output(fmt.Sprintf("Evaluation ID     = %s", limit(resp.EvalID, length)))
	if detach {
		return 0
	}
	c.Ui.Output("")
	return newEvalMonitor(c.Ui, client, length).monitor(context.Background(), resp.EvalID)
}
