package command

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/api"
)

// Lengths of IDs in output.
const (
	shortID = 8
	fullID  = 36
)

// Meta holds what every command shares: the terminal and the general
// options that select and authenticate against an agent.
type Meta struct {
	// Ui prints to the terminal.
	Ui cli.Ui

	address   string
	region    string
	namespace string
	token     string
	noColor   bool
}

// FlagSet returns a flag set named for the command, with the general
// options already defined. Parse errors are printed to the Ui.
func (m *Meta) FlagSet(name string) *flag.FlagSet {
	f := flag.NewFlagSet(name, flag.ContinueOnError)
	f.StringVar(&m.address, "address", "", "")
	f.StringVar(&m.region, "region", "", "")
	f.StringVar(&m.namespace, "namespace", "", "")
	f.StringVar(&m.token, "token", "", "")
	f.BoolVar(&m.noColor, "no-color", false, "")
	f.SetOutput(&uiErrorWriter{ui: m.Ui})
	f.Usage = func() { m.Ui.Error(helpHint(name)) }
	return f
}

// Client returns an API client for the agent named by -address, then
// NOMADISH_ADDR, then NOMAD_ADDR, then http://127.0.0.1:4646.
func (m *Meta) Client() (*api.Client, error) {
	conf := api.DefaultConfig()
	if m.address != "" {
		conf.Address = m.address
	}
	if m.region != "" {
		conf.Region = m.region
	}
	if m.namespace != "" {
		conf.Namespace = m.namespace
	}
	if m.token != "" {
		conf.SecretID = m.token
	}
	return api.NewClient(conf)
}

// uiErrorWriter sends the flag package's complaints to the Ui's error stream.
type uiErrorWriter struct {
	ui  cli.Ui
	buf strings.Builder
}

func (w *uiErrorWriter) Write(p []byte) (int, error) {
	w.buf.Write(p)
	for {
		s := w.buf.String()
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			break
		}
		w.ui.Error(s[:i])
		w.buf.Reset()
		w.buf.WriteString(s[i+1:])
	}
	return len(p), nil
}

var _ io.Writer = (*uiErrorWriter)(nil)

// generalOptionsUsage is the help text of the options FlagSet defines.
func generalOptionsUsage() string {
	return strings.TrimSpace(`
  -address=<addr>
    The address of the nomadish agent.
    Overrides the NOMADISH_ADDR (or NOMAD_ADDR) environment variable if set.
    Default = http://127.0.0.1:4646

  -region=<region>
    The region of the servers to forward commands to.
    Overrides the NOMADISH_REGION environment variable if set.

  -namespace=<namespace>
    The target namespace for queries and actions bound to a namespace.
    Overrides the NOMADISH_NAMESPACE environment variable if set.

  -token=<token>
    The secret sent as the X-Nomad-Token header.
    Overrides the NOMADISH_TOKEN environment variable if set.

  -no-color
    Disables colored command output. Output is never colored; the flag is
    accepted so scripts written for Nomad keep working.`)
}

// helpHint is the line printed after a usage error.
func helpHint(name string) string {
	return fmt.Sprintf("For additional help try 'nomadish %s -help'", name)
}
