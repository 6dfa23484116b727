package command

import (
	"fmt"
	"sort"
	"strings"
)

// ServerMembersCommand is `nomadish server members`.
type ServerMembersCommand struct {
	Meta
}

// Help returns the long help text.
func (c *ServerMembersCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish server members [options]

  Lists the servers in the gossip pool, with their address, status,
  whether they lead, and their region and datacenter.

General Options:

  ` + generalOptionsUsage() + `

Server Members Options:

` + outputHelp + `

Examples:

  $ nomadish server members
  $ nomadish server members -json
`)
}

// Synopsis returns the one-line help text.
func (c *ServerMembersCommand) Synopsis() string {
	return "Display a list of known servers and their status"
}

// Run runs the command.
func (c *ServerMembersCommand) Run(args []string) int {
	var out outputFlags
	flags := c.FlagSet("server members")
	out.register(flags)
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 0 {
		c.Ui.Error("This command takes no arguments")
		c.Ui.Error(helpHint("server members"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	mem, err := client.Agent().Members()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error querying servers: %s", err))
		return 1
	}
	sort.Slice(mem.Members, func(i, j int) bool { return mem.Members[i].Name < mem.Members[j].Name })
	if out.set() {
		return out.write(c.Ui, mem.Members)
	}
	rows := [][]string{row("Name", "Address", "Port", "Status", "Leader", "Region", "Datacenter")}
	for _, m := range mem.Members {
		rows = append(rows, row(m.Name, m.Addr, fmt.Sprint(m.Port), m.Status, m.Tags["leader"], m.Tags["region"], m.Tags["dc"]))
	}
	c.Ui.Output(formatList(rows))
	return 0
}
