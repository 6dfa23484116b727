package command

import (
	"flag"

	"github.com/mitchellh/cli"
)

// outputFlags are the -json and -t options of commands that print objects.
type outputFlags struct {
	json bool
	tmpl string
}

// register adds -json and -t to a flag set.
func (o *outputFlags) register(f *flag.FlagSet) {
	f.BoolVar(&o.json, "json", false, "")
	f.StringVar(&o.tmpl, "t", "", "")
}

// set reports whether the user asked for JSON or a template.
func (o *outputFlags) set() bool { return o.json || o.tmpl != "" }

// write prints data as indented JSON, or through the Go template, and
// returns the exit code.
func (o *outputFlags) write(ui cli.Ui, data any) int {
	out, err := formatJSONOrTemplate(data, data, o.tmpl)
	if err != nil {
		ui.Error(err.Error())
		return 1
	}
	ui.Output(out)
	return 0
}

// outputHelp is the help text of -json and -t.
const outputHelp = `  -json
    Print the result as JSON.

  -t <template>
    Format the result with a Go template.`
