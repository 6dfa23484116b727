package command

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"text/template"

	"github.com/nomadish/nomadish/nomadish/api"
)

// JobInspectCommand is `nomadish job inspect`.
type JobInspectCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobInspectCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job inspect [options] <job>
Alias: nomadish inspect

  Prints the job as the servers store it, as JSON wrapped in {"Job": ...},
  which "nomadish job run -json" accepts back. <job> may be an ID prefix.

General Options:

  ` + generalOptionsUsage() + `

Inspect Options:

  -json
    Print JSON (the default; accepted for compatibility).

  -t <template>
    Format the job with a Go template instead of printing JSON.

Examples:

  $ nomadish job inspect example
  $ nomadish job inspect -t '{{.Version}}' example
`)
}

// Synopsis returns the one-line help text.
func (c *JobInspectCommand) Synopsis() string { return "Inspect a submitted job" }

// Run runs the command.
func (c *JobInspectCommand) Run(args []string) int {
	var jsonOut bool
	var tmpl string
	flags := c.FlagSet("job inspect")
	flags.BoolVar(&jsonOut, "json", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <job>")
		c.Ui.Error(helpHint("job inspect"))
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
	job, _, err := client.Jobs().Info(stub.ID, nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error inspecting job: %s", err))
		return 1
	}
	out, err := formatJSONOrTemplate(struct{ Job *api.Job }{job}, job, tmpl)
	if err != nil {
		c.Ui.Error(err.Error())
		return 1
	}
	c.Ui.Output(out)
	return 0
}

// formatJSONOrTemplate renders data as indented JSON, or value with the Go
// template when one is given.
func formatJSONOrTemplate(data, value any, tmpl string) (string, error) {
	if tmpl == "" {
		buf, err := json.MarshalIndent(data, "", "    ")
		if err != nil {
			return "", fmt.Errorf("Error formatting the data: %s", err)
		}
		return string(buf), nil
	}
	t, err := template.New("format").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("Error parsing the template: %s", err)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, value); err != nil {
		return "", fmt.Errorf("Error executing the template: %s", err)
	}
	return b.String(), nil
}
