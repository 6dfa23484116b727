package command

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/nomadish/nomadish/nomadish/api"
	"github.com/nomadish/nomadish/nomadish/structs"
)

var serviceParent = &parentCommand{
	synopsis: "Interact with registered services",
	help: `
Usage: nomadish service <subcommand> [options] [args]

  Services are registered by allocations whose service blocks use
  provider = "nomad" (or "nomadish"). These commands list and inspect the
  registrations and delete stale ones.
`,
}

// ServiceListCommand is `nomadish service list`.
type ServiceListCommand struct {
	Meta
}

// Help returns the long help text.
func (c *ServiceListCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish service list [options]

  Lists the registered services with their tags. Use -namespace=* to list
  the services of every namespace.

General Options:

  ` + generalOptionsUsage() + `

Service List Options:

  -json
    Output the services in JSON format.

  -t <template>
    Format and display the services using a Go template.

Examples:

  $ nomadish service list
  $ nomadish service list -namespace='*' -json
`)
}

// Synopsis returns the one-line help text.
func (c *ServiceListCommand) Synopsis() string { return "Display all registered services" }

// Run runs the command.
func (c *ServiceListCommand) Run(args []string) int {
	var asJSON bool
	var tmpl string
	flags := c.FlagSet("service list")
	flags.BoolVar(&asJSON, "json", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 0 {
		c.Ui.Error("This command takes no arguments")
		c.Ui.Error(helpHint("service list"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	list, _, err := client.Services().List(nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error listing services: %s", err))
		return 1
	}
	if asJSON || tmpl != "" {
		out, err := formatJSONOrTemplate(list, list, tmpl)
		if err != nil {
			c.Ui.Error(err.Error())
			return 1
		}
		c.Ui.Output(out)
		return 0
	}
	if len(list) == 0 {
		c.Ui.Output("No service registrations found")
		return 0
	}
	c.Ui.Output(formatServiceList(list))
	return 0
}

func formatServiceList(list []*api.ServiceRegistrationListStub) string {
	multi := len(list) > 1
	header := row("Service Name", "Tags")
	if multi {
		header = row("Service Name", "Namespace", "Tags")
	}
	rows := [][]string{header}
	for _, ns := range list {
		for _, s := range ns.Services {
			tags := "[" + strings.Join(s.Tags, ",") + "]"
			if multi {
				rows = append(rows, row(s.ServiceName, ns.Namespace, tags))
			} else {
				rows = append(rows, row(s.ServiceName, tags))
			}
		}
	}
	return formatList(rows)
}

// ServiceInfoCommand is `nomadish service info`.
type ServiceInfoCommand struct {
	Meta
}

// Help returns the long help text.
func (c *ServiceInfoCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish service info [options] <service_name>

  Shows the registered instances of a service, with the health of their
  checks.

General Options:

  ` + generalOptionsUsage() + `

Service Info Options:

  -json
    Output the instances in JSON format.

  -t <template>
    Format and display the instances using a Go template.

  -verbose
    Print every field of each instance.

Examples:

  $ nomadish service info web
  $ nomadish service info -verbose web
`)
}

// Synopsis returns the one-line help text.
func (c *ServiceInfoCommand) Synopsis() string {
	return "Display an individual service's registrations"
}

// Run runs the command.
func (c *ServiceInfoCommand) Run(args []string) int {
	var asJSON, verbose bool
	var tmpl string
	flags := c.FlagSet("service info")
	flags.BoolVar(&asJSON, "json", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 1 {
		c.Ui.Error("This command takes one argument: <service_name>")
		c.Ui.Error(helpHint("service info"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	regs, _, err := client.Services().Get(flags.Arg(0), nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error listing service registrations: %s", err))
		return 1
	}
	if asJSON || tmpl != "" {
		out, err := formatJSONOrTemplate(regs, regs, tmpl)
		if err != nil {
			c.Ui.Error(err.Error())
			return 1
		}
		c.Ui.Output(out)
		return 0
	}
	if len(regs) == 0 {
		c.Ui.Output("No service registrations found")
		return 0
	}
	if verbose {
		out := make([]string, 0, len(regs))
		for _, r := range regs {
			out = append(out, formatKV([][]string{
				row("ID", r.ID), row("Service Name", r.ServiceName), row("Namespace", r.Namespace),
				row("Job ID", r.JobID), row("Alloc ID", r.AllocID), row("Node ID", r.NodeID),
				row("Datacenter", r.Datacenter), row("Address", r.Address+":"+strconv.Itoa(r.Port)),
				row("Tags", "["+strings.Join(r.Tags, ",")+"]"), row("Health", healthOf(r)),
			}))
		}
		c.Ui.Output(strings.Join(out, "\n\n"))
		return 0
	}
	rows := [][]string{row("Job ID", "Address", "Tags", "Node ID", "Alloc ID", "Health")}
	for _, r := range regs {
		rows = append(rows, row(r.JobID, r.Address+":"+strconv.Itoa(r.Port), "["+strings.Join(r.Tags, ",")+"]",
			limit(r.NodeID, shortID), limit(r.AllocID, shortID), healthOf(r)))
	}
	c.Ui.Output(formatList(rows))
	return 0
}

func healthOf(r *api.ServiceRegistration) string {
	if r.Status == "" {
		return "-"
	}
	return r.Status
}

// ServiceDeleteCommand is `nomadish service delete`.
type ServiceDeleteCommand struct {
	Meta
}

// Help returns the long help text.
func (c *ServiceDeleteCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish service delete [options] <service_name> <service_id>

  Deletes one service registration. The client that registered it adds it
  again while the allocation runs; this is for instances left behind.

General Options:

  ` + generalOptionsUsage() + `

Examples:

  $ nomadish service delete web _nomad-task-8a1c...-web-web-http
`)
}

// Synopsis returns the one-line help text.
func (c *ServiceDeleteCommand) Synopsis() string { return "Deregister a service registration" }

// Run runs the command.
func (c *ServiceDeleteCommand) Run(args []string) int {
	flags := c.FlagSet("service delete")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 2 {
		c.Ui.Error("This command takes two arguments: <service_name> and <service_id>")
		c.Ui.Error(helpHint("service delete"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	if _, err := client.Services().Delete(flags.Arg(0), flags.Arg(1), nil); err != nil {
		c.Ui.Error(fmt.Sprintf("Error deleting service registration: %s", err))
		return 1
	}
	c.Ui.Output("Successfully deleted service registration")
	return 0
}

// printAllocChecks prints the allocation's service check results, as the
// "Nomad Service Checks" section of alloc status, when it has built-in
// services with checks. A client that cannot answer (the allocation
// stopped) prints nothing.
func (m *Meta) printAllocChecks(client *api.Client, a *api.Allocation) {
	if !hasBuiltinChecks(a) {
		return
	}
	results, err := client.Allocations().Checks(a.ID, nil)
	if err != nil || len(results) == 0 {
		return
	}
	m.Ui.Output("\nNomad Service Checks:\n" + formatAllocChecks(results))
}

func hasBuiltinChecks(a *api.Allocation) bool {
	if a.Job == nil {
		return false
	}
	tg := a.Job.LookupTaskGroup(a.TaskGroup)
	if tg == nil {
		return false
	}
	services := append([]*structs.Service{}, tg.Services...)
	for _, t := range tg.Tasks {
		services = append(services, t.Services...)
	}
	for _, s := range services {
		if s.BuiltinProvider() && len(s.Checks) > 0 {
			return true
		}
	}
	return false
}

func formatAllocChecks(results map[string]*api.CheckQueryResult) string {
	ids := make([]string, 0, len(results))
	for id := range results {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	rows := [][]string{row("Service", "Task", "Name", "Mode", "Status")}
	for _, id := range ids {
		r := results[id]
		task := r.Task
		if task == "" {
			task = "(group)"
		}
		rows = append(rows, row(r.Service, task, r.Check, r.Mode, r.Status))
	}
	return formatList(rows)
}
