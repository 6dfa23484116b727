package command

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// JobValidateCommand is `nomadish job validate`.
type JobValidateCommand struct {
	Meta
}

// Help returns the long help text.
func (c *JobValidateCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish job validate [options] <path>
Alias: nomadish validate

  Checks that a job specification is syntactically and semantically
  valid. The checks run offline first; when an agent answers at the
  address, its servers check the job as a register would, too (they know
  the drivers the clients detected). If <path> is "-", the job file is
  read from standard input. Every problem found is printed, with the
  file, line and column of HCL errors.

  Exits 0 when the job is valid and 1 otherwise.

Validate Options:

  -json
    Read the job file as JSON, either bare or wrapped in {"Job": ...}.

  -var 'key=value'
    Set an HCL variable. May be given several times.

  -var-file=<path>
    Read HCL variables from a file. May be given several times.

Examples:

  $ nomadish job validate example.nomad.hcl
  $ nomadish job validate -var 'count=3' example.nomad.hcl
`)
}

// Synopsis returns the one-line help text.
func (c *JobValidateCommand) Synopsis() string { return "Checks if a given job specification is valid" }

// Run runs the command.
func (c *JobValidateCommand) Run(args []string) int {
	var jsonInput, strict bool
	var vars, varFiles stringSliceFlag
	flags := c.FlagSet("job validate")
	flags.BoolVar(&jsonInput, "json", false, "")
	flags.BoolVar(&strict, "hcl2-strict", true, "")
	flags.Var(&vars, "var", "")
	flags.Var(&varFiles, "var-file", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <path>")
		c.Ui.Error(helpHint("job validate"))
		return 1
	}
	job, err := readJobFile(args[0], os.Stdin, jobFileOptions{JSON: jsonInput, Vars: vars, VarFiles: varFiles})
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error getting job struct: %s", err))
		return 1
	}
	c.warnJobFile(job)
	if err := validateJob(job); err != nil {
		c.Ui.Error(fmt.Sprintf("Job validation errors:\n%s", err))
		return 1
	}
	// When an agent answers, the servers check too: they know the drivers
	// the clients detected. Without one, the offline checks stand.
	if client, err := c.Client(); err == nil {
		resp, _, err := client.Jobs().Validate(job, nil)
		var ue *api.UnexpectedResponseError
		switch {
		case err == nil && resp.Error != "":
			c.Ui.Error(fmt.Sprintf("Job validation errors:\n%s", resp.Error))
			return 1
		case err == nil && resp.Warnings != "":
			c.Ui.Warn(fmt.Sprintf("Job Warnings:\n%s", resp.Warnings))
		case errors.As(err, &ue):
			c.Ui.Error(fmt.Sprintf("Job validation errors:\n%s", ue.Body()))
			return 1
		}
	}
	c.Ui.Output("Job validation successful")
	return 0
}
