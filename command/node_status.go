package command

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// NodeStatusCommand is `nomadish node status`.
type NodeStatusCommand struct {
	Meta

	// now is the clock relative times are computed against.
	now func() time.Time
}

// Help returns the long help text.
func (c *NodeStatusCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish node status [options] [<node>]

  Displays information about client nodes. Without an argument, lists
  all nodes. With a node ID (or a prefix of at least two characters),
  displays the node's details, events, allocated resources and
  allocations.

General Options:

  ` + generalOptionsUsage() + `

Node Status Options:

  -short
    Print only the node's basic information.

  -verbose
    Print full identifiers, addresses, versions and attributes.

  -json
    Print the node (or the node list) as JSON.

  -t <template>
    Format the node (or the node list) with a Go template.

Examples:

  $ nomadish node status
  $ nomadish node status f7476465
`)
}

// Synopsis returns the one-line help text.
func (c *NodeStatusCommand) Synopsis() string { return "Display status information about nodes" }

// Run runs the command.
func (c *NodeStatusCommand) Run(args []string) int {
	var short, verbose, jsonOut bool
	var tmpl string
	flags := c.FlagSet("node status")
	flags.BoolVar(&short, "short", false, "")
	flags.BoolVar(&verbose, "verbose", false, "")
	flags.BoolVar(&jsonOut, "json", false, "")
	flags.StringVar(&tmpl, "t", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	args = flags.Args()
	if len(args) > 1 {
		c.Ui.Error("This command takes either no arguments or one: <node>")
		c.Ui.Error(helpHint("node status"))
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
	now := time.Now()
	if c.now != nil {
		now = c.now()
	}

	if len(args) == 0 {
		nodes, _, err := client.Nodes().List(nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error querying node status: %s", err))
			return 1
		}
		if jsonOut || tmpl != "" {
			out, err := formatJSONOrTemplate(nodes, nodes, tmpl)
			if err != nil {
				c.Ui.Error(err.Error())
				return 1
			}
			c.Ui.Output(out)
			return 0
		}
		if len(nodes) == 0 {
			c.Ui.Output("No nodes registered")
			return 0
		}
		c.Ui.Output(formatNodeList(nodes, verbose, length))
		return 0
	}

	node, msg := lookupNode(client, args[0], length)
	if node == nil {
		c.Ui.Error(msg)
		return 1
	}
	if jsonOut || tmpl != "" {
		out, err := formatJSONOrTemplate(node, node, tmpl)
		if err != nil {
			c.Ui.Error(err.Error())
			return 1
		}
		c.Ui.Output(out)
		return 0
	}
	c.Ui.Output(formatNodeKV(node, length))
	if short {
		return 0
	}
	allocs, live, err := nodeAllocations(client, node.ID)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error querying node allocations: %s", err))
		return 1
	}
	c.Ui.Output(formatNodeDetail(node, allocs, live, verbose, length, now))
	return 0
}

// lookupNode finds the one node whose ID is id or starts with it.
func lookupNode(client *api.Client, id string, length int) (*api.Node, string) {
	id = strings.TrimSpace(id)
	if len(id) == 1 {
		return nil, "Identifier must contain at least two characters."
	}
	nodes, _, err := client.Nodes().PrefixList(id)
	if err != nil {
		return nil, fmt.Sprintf("Error querying node info: %s", err)
	}
	if len(nodes) == 0 {
		return nil, fmt.Sprintf("No node(s) with prefix %q found", id)
	}
	match := ""
	for _, n := range nodes {
		if n.ID == id {
			match = n.ID
		}
	}
	if match == "" && len(nodes) > 1 {
		return nil, fmt.Sprintf("Prefix matched multiple nodes\n\n%s", formatNodeList(nodes, false, length))
	}
	if match == "" {
		match = nodes[0].ID
	}
	node, _, err := client.Nodes().Info(match, nil)
	if err != nil {
		return nil, fmt.Sprintf("Error querying node info: %s", err)
	}
	return node, ""
}

// nodeAllocations lists the node's allocations, newest first, and reads
// in full those still holding resources.
func nodeAllocations(client *api.Client, nodeID string) ([]*api.AllocationListStub, []*api.Allocation, error) {
	var stubs []*api.AllocationListStub
	var live []*api.Allocation
	allocs, _, err := client.Nodes().Allocations(nodeID, nil)
	switch {
	case err == nil:
		for _, a := range allocs {
			stubs = append(stubs, a.Stub())
			if !a.TerminalStatus() {
				live = append(live, a)
			}
		}
	case api.IsNotFound(err):
		// Agents without the per-node endpoint: filter the full list.
		all, _, err := client.Allocations().List(nil)
		if err != nil {
			return nil, nil, err
		}
		for _, s := range all {
			if s.NodeID != nodeID {
				continue
			}
			stubs = append(stubs, s)
			if s.DesiredStatus != "run" || isClientTerminal(s.ClientStatus) {
				continue
			}
			a, _, err := client.Allocations().Info(s.ID, nil)
			if err != nil {
				return nil, nil, err
			}
			live = append(live, a)
		}
	default:
		return nil, nil, err
	}
	sortAllocStubs(stubs)
	return stubs, live, nil
}

func isClientTerminal(status string) bool {
	switch status {
	case "complete", "failed", "lost":
		return true
	}
	return false
}

// formatNodeList is the table of node status without an ID.
func formatNodeList(nodes []*api.NodeListStub, verbose bool, length int) string {
	sort.Slice(nodes, func(i, j int) bool {
		if nodes[i].Name != nodes[j].Name {
			return nodes[i].Name < nodes[j].Name
		}
		return nodes[i].ID < nodes[j].ID
	})
	var rows [][]string
	if verbose {
		rows = append(rows, row("ID", "Node Pool", "DC", "Name", "Class", "Address", "Version", "Drain", "Eligibility", "Status"))
	} else {
		rows = append(rows, row("ID", "Node Pool", "DC", "Name", "Class", "Drain", "Eligibility", "Status"))
	}
	for _, n := range nodes {
		if verbose {
			rows = append(rows, row(limit(n.ID, length), n.NodePool, n.Datacenter, n.Name, orNone(n.NodeClass),
				n.Address, n.Version, fmt.Sprint(n.Drain), n.SchedulingEligibility, n.Status))
			continue
		}
		rows = append(rows, row(limit(n.ID, length), n.NodePool, n.Datacenter, n.Name, orNone(n.NodeClass),
			fmt.Sprint(n.Drain), n.SchedulingEligibility, n.Status))
	}
	return formatList(rows)
}

// formatNodeKV is the basic information of one node.
func formatNodeKV(n *api.Node, length int) string {
	var drivers []string
	for _, name := range sortedKeys(n.Drivers) {
		if d := n.Drivers[name]; d != nil && d.Detected && d.Healthy {
			drivers = append(drivers, name)
		}
	}
	kv := [][]string{
		row("ID", limit(n.ID, length)),
		row("Name", n.Name),
		row("Node Pool", n.NodePool),
		row("Class", orNone(n.NodeClass)),
		row("DC", n.Datacenter),
		row("Drain", fmt.Sprint(n.Drain)),
		row("Eligibility", n.SchedulingEligibility),
		row("Status", n.Status),
	}
	if n.HTTPAddr != "" {
		kv = append(kv, row("HTTP Address", n.HTTPAddr))
	}
	kv = append(kv, row("Driver Status", orNone(strings.Join(drivers, ","))))
	return formatKV(kv)
}

// formatNodeDetail is everything after the basic information: events,
// allocated resources and allocations.
func formatNodeDetail(n *api.Node, allocs []*api.AllocationListStub, live []*api.Allocation,
	verbose bool, length int, now time.Time) string {
	var b strings.Builder
	events := n.Events
	if !verbose && len(events) > 10 {
		events = events[len(events)-10:]
	}
	b.WriteString("\nNode Events\n")
	rows := [][]string{row("Time", "Subsystem", "Message")}
	for i := len(events) - 1; i >= 0; i-- {
		e := events[i]
		rows = append(rows, row(formatTime(e.Timestamp), e.Subsystem, e.Message))
	}
	b.WriteString(formatList(rows))

	if res := formatNodeResources(n, live); res != "" {
		b.WriteString("\n\nAllocated Resources\n")
		b.WriteString(res)
	}

	if verbose && len(n.Attributes) > 0 {
		b.WriteString("\n\nAttributes\n")
		var kv [][]string
		for _, k := range sortedKeys(n.Attributes) {
			kv = append(kv, row(k, n.Attributes[k]))
		}
		b.WriteString(formatKV(kv))
	}
	if verbose && len(n.Meta) > 0 {
		b.WriteString("\n\nMeta\n")
		var kv [][]string
		for _, k := range sortedKeys(n.Meta) {
			kv = append(kv, row(k, n.Meta[k]))
		}
		b.WriteString(formatKV(kv))
	}

	b.WriteString("\n\nAllocations\n")
	b.WriteString(formatAllocListStubs(allocs, verbose, length, now))
	return b.String()
}

// formatNodeResources is "used/total" CPU, memory and disk, where used is
// what the live allocations were granted and total leaves out what the
// node reserves; "" when the node reports no resources.
func formatNodeResources(n *api.Node, live []*api.Allocation) string {
	nr := n.NodeResources
	if nr == nil {
		return ""
	}
	totalCPU := uint64(max(nr.Cpu.CpuShares, 0))
	totalMem := uint64(max(nr.Memory.MemoryMB, 0))
	totalDisk := uint64(max(nr.Disk.DiskMB, 0))
	if r := n.ReservedResources; r != nil {
		totalCPU -= min(totalCPU, r.Cpu.CpuShares)
		totalMem -= min(totalMem, r.Memory.MemoryMB)
		totalDisk -= min(totalDisk, r.Disk.DiskMB)
	}
	var cpu, mem, disk int64
	for _, a := range live {
		c, m := a.AllocatedResources.Comparable()
		cpu += c
		mem += m
		if a.AllocatedResources != nil {
			disk += a.AllocatedResources.Shared.DiskMB
		}
	}
	const mib = 1024 * 1024
	return formatList([][]string{
		row("CPU", "Memory", "Disk"),
		row(fmt.Sprintf("%d/%d MHz", cpu, totalCPU),
			formatBytes(uint64(mem)*mib)+"/"+formatBytes(totalMem*mib),
			formatBytes(uint64(disk)*mib)+"/"+formatBytes(totalDisk*mib)),
	})
}
