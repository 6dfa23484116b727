package command

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// JobHistoryCommand is `nomadish job history`.
type JobHistoryCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobHistoryCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job history [options] <job>

  Lists the stored versions of a job, newest first. With -p each version
  is printed with its difference from the version before it.

General Options:

  ` + generalOptionsUsage() + `

History Options:

  -p
    Print the differences between each version and the one before it.

  -full
    Print the full specification of each version as JSON.

  -version <n>
    Print only version n.

  -json
    Print the versions as JSON (with -version, that version only).

  -t <template>
    Format the versions (with -version, that version) with a Go
    template.

Examples:

  $ nomadish job history web
  $ nomadish job history -p -version 3 web
  $ nomadish job history -t '{{range .}}v{{.Version}} stable={{.Stable}}{{"\n"}}{{end}}' web
`)
}

// Synopsis returns the one-line help text.
func (c *JobHistoryCommand) Synopsis() string { return "Display the versions of a job" }

// Run runs the command.
func (c *JobHistoryCommand) Run(args []string) int {
	var diff, full bool
	var out outputFlags
	var version int64 = -1
	flags := c.FlagSet("job history")
	flags.BoolVar(&diff, "p", false, "")
	flags.BoolVar(&full, "full", false, "")
	out.register(flags)
	flags.Int64Var(&version, "version", -1, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <job>")
		c.Ui.Error(helpHint("job history"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	stub, msg := lookupJob(client, args[0])
	if stub == nil {
		c.Ui.Error(msg)
		return 1
	}
	versions, diffs, _, err := client.Jobs().Versions(stub.ID, diff, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error retrieving job versions: %s", err))
		return 1
	}
	if out.set() {
		if version < 0 {
			return out.write(c.Ui, versions)
		}
		for _, v := range versions {
			if v.Version == uint64(version) {
				return out.write(c.Ui, v)
			}
		}
		c.Ui.Error(fmt.Sprintf("Version %d of job %q not found", version, stub.ID))
		return 1
	}
	var blocks []string
	for i, v := range versions {
		if version >= 0 && v.Version != uint64(version) {
			continue
		}
		rows := [][]string{
			row("Version", fmt.Sprint(v.Version)),
			row("Stable", fmt.Sprint(v.Stable)),
			row("Submit Date", formatTime(time.Unix(0, v.SubmitTime))),
		}
		text := formatKV(rows)
		if diff && i < len(diffs) && diffs[i] != nil {
			text += "\nDiff        =\n" + formatJobDiff(diffs[i], false)
		}
		if full {
			out, _ := json.MarshalIndent(v, "", "    ")
			text += "\nFull        =\n" + string(out)
		}
		blocks = append(blocks, text)
	}
	if version >= 0 && len(blocks) == 0 {
		c.Ui.Error(fmt.Sprintf("Version %d of job %q not found", version, stub.ID))
		return 1
	}
	c.Ui.Output(strings.Join(blocks, "\n\n"))
	return 0
}
