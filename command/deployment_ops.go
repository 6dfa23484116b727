package command

import (
	"fmt"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
)

// deploymentOp is one of the commands that change a deployment: promote,
// fail, pause and resume share their argument handling and output.
type deploymentOp struct {
	Meta
	name     string
	synopsis string
	help     string
	// do performs the change.
	do func(client *api.Client, d *api.Deployment, groups []string) (*api.DeploymentUpdateResponse, error)
	// done is printed on success.
	done string
}

// Help returns the long help text.
func (c *deploymentOp) Help() string {
	return strings.TrimSpace(`
Usage: nomadish deployment ` + c.name + ` [options] <deployment id>

  ` + c.help + `

General Options:

  ` + generalOptionsUsage() + `

Examples:

  $ nomadish deployment ` + c.name + ` 06ca68a2
`)
}

// Synopsis returns the one-line help text.
func (c *deploymentOp) Synopsis() string { return c.synopsis }

// Run runs the command.
func (c *deploymentOp) Run(args []string) int {
	var groups stringSliceFlag
	flags := c.FlagSet("deployment " + c.name)
	if c.name == "promote" {
		flags.Var(&groups, "group", "")
	}
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) != 1 {
		c.Ui.Error("This command takes one argument: <deployment id>")
		c.Ui.Error(helpHint("deployment " + c.name))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	d, msg := lookupDeployment(client, args[0])
	if d == nil {
		c.Ui.Error(msg)
		return 1
	}
	resp, err := c.do(client, d, groups)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error %s deployment: %s", strings.TrimSuffix(c.name, "e")+"ing", err))
		return 1
	}
	out := fmt.Sprintf(c.done, limit(d.ID, shortID))
	if resp.RevertedJobVersion != nil {
		out += fmt.Sprintf(". Job reverted to version %d", *resp.RevertedJobVersion)
	}
	c.Ui.Output(out)
	if resp.EvalID != "" {
		c.Ui.Output("Evaluation ID: " + resp.EvalID)
	}
	return 0
}

func newDeploymentPromote(m Meta) *deploymentOp {
	return &deploymentOp{Meta: m, name: "promote", synopsis: "Promote canaries in a deployment",
		help: "Promotes the canaries of a deployment, of every group or of those named\n  with -group (repeatable), so the rollout continues past them.",
		done: "Deployment %q promoted",
		do: func(client *api.Client, d *api.Deployment, groups []string) (*api.DeploymentUpdateResponse, error) {
			if len(groups) == 0 {
				r, _, err := client.Deployments().PromoteAll(d.ID, nil)
				return r, err
			}
			r, _, err := client.Deployments().PromoteGroups(d.ID, groups, nil)
			return r, err
		}}
}

func newDeploymentFail(m Meta) *deploymentOp {
	return &deploymentOp{Meta: m, name: "fail", synopsis: "Manually fail a deployment",
		help: "Marks a running deployment failed; groups with auto_revert roll the job\n  back to its latest stable version.",
		done: "Deployment %q failed",
		do: func(client *api.Client, d *api.Deployment, _ []string) (*api.DeploymentUpdateResponse, error) {
			r, _, err := client.Deployments().Fail(d.ID, nil)
			return r, err
		}}
}

func newDeploymentPause(m Meta) *deploymentOp {
	return &deploymentOp{Meta: m, name: "pause", synopsis: "Pause a deployment",
		help: "Pauses a running deployment: no further allocations are replaced until\n  it is resumed.",
		done: "Deployment %q paused",
		do: func(client *api.Client, d *api.Deployment, _ []string) (*api.DeploymentUpdateResponse, error) {
			r, _, err := client.Deployments().Pause(d.ID, true, nil)
			return r, err
		}}
}

func newDeploymentResume(m Meta) *deploymentOp {
	return &deploymentOp{Meta: m, name: "resume", synopsis: "Resume a paused deployment",
		help: "Resumes a paused deployment.",
		done: "Deployment %q resumed",
		do: func(client *api.Client, d *api.Deployment, _ []string) (*api.DeploymentUpdateResponse, error) {
			r, _, err := client.Deployments().Pause(d.ID, false, nil)
			return r, err
		}}
}

var deploymentParent = &parentCommand{
	synopsis: "Interact with deployments",
	help: `
Usage: nomadish deployment <subcommand> [options] [args]

  Deployments roll out a new version of a service job under its update
  block. These commands list and inspect them, and promote, fail, pause or
  resume one.
`,
}
