package command

import (
	"fmt"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/api"
)

// NodeDrainCommand is `nomadish node drain`.
type NodeDrainCommand struct{ Meta }

// Help returns the long help text.
func (c *NodeDrainCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish node drain [options] <node>

  Starts or stops draining a node. A draining node takes no new work and
  its allocations migrate to other nodes, a few at a time as each task
  group's migrate block allows; when the node is empty the drain ends and
  the node stays ineligible.

General Options:

  ` + generalOptionsUsage() + `

Node Drain Options:

  -enable
    Start draining the node.

  -disable
    Stop draining the node.

  -deadline <duration>
    How long allocations may take to migrate before they are stopped
    (default 1h). -force sets it to now, -no-deadline removes it.

  -force
    Stop every allocation at once.

  -no-deadline
    Migrate without a deadline.

  -ignore-system
    Leave system jobs' allocations running.

  -keep-ineligible
    With -disable, leave the node ineligible.

  -detach
    Return once the drain is set instead of following it until the node
    is empty.

  -monitor
    Follow a drain already under way.

  -self
    Drain the node of the agent the command talks to.

  -yes
    Do not ask for confirmation.

Examples:

  $ nomadish node drain -enable -yes -deadline 30m f4e8a9d2
  $ nomadish node drain -enable -yes -ignore-system -detach -self
  $ nomadish node drain -disable f4e8a9d2
`)
}

// Synopsis returns the one-line help text.
func (c *NodeDrainCommand) Synopsis() string { return "Toggle drain mode on a given node" }

// Run runs the command.
func (c *NodeDrainCommand) Run(args []string) int {
	var enable, disable, force, noDeadline, ignoreSystem, keepIneligible, yes, self, detach, monitor bool
	var deadline string
	flags := c.FlagSet("node drain")
	flags.BoolVar(&enable, "enable", false, "")
	flags.BoolVar(&disable, "disable", false, "")
	flags.StringVar(&deadline, "deadline", "", "")
	flags.BoolVar(&force, "force", false, "")
	flags.BoolVar(&noDeadline, "no-deadline", false, "")
	flags.BoolVar(&ignoreSystem, "ignore-system", false, "")
	flags.BoolVar(&keepIneligible, "keep-ineligible", false, "")
	flags.BoolVar(&yes, "yes", false, "")
	flags.BoolVar(&self, "self", false, "")
	flags.BoolVar(&detach, "detach", false, "")
	flags.BoolVar(&monitor, "monitor", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if enable == disable && !monitor || monitor && (enable || disable) {
		c.Ui.Error("Either the '-enable' or '-disable' flag must be set, unless using '-monitor'")
		c.Ui.Error(helpHint("node drain"))
		return 1
	}
	spec, err := drainSpec(deadline, force, noDeadline, ignoreSystem)
	if err != nil {
		c.Ui.Error(err.Error())
		return 1
	}
	args = flags.Args()
	if (len(args) != 1) == !self || len(args) > 1 {
		c.Ui.Error("This command takes one argument: <node>, or -self")
		c.Ui.Error(helpHint("node drain"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	node, msg := findNode(client, args, self)
	if node == nil {
		c.Ui.Error(msg)
		return 1
	}
	if monitor {
		return c.monitorDrain(client, node.ID)
	}
	if enable && !yes {
		answer, err := c.Ui.Ask(fmt.Sprintf("Are you sure you want to enable drain mode for node %q? [y/N]", node.ID))
		if err != nil || !strings.HasPrefix(strings.ToLower(strings.TrimSpace(answer)), "y") {
			c.Ui.Output("Canceling drain toggle")
			return 0
		}
	}
	if !enable {
		spec = nil
	}
	if _, err := client.Nodes().UpdateDrain(node.ID, spec, disable && !keepIneligible, nil); err != nil {
		c.Ui.Error(fmt.Sprintf("Error updating drain specification: %s", err))
		return 1
	}
	if !enable {
		c.Ui.Output(fmt.Sprintf("Node %q drain strategy unset", node.ID))
		return 0
	}
	c.Ui.Output(fmt.Sprintf("Node %q drain strategy set", node.ID))
	if detach {
		return 0
	}
	return c.monitorDrain(client, node.ID)
}

// drainPollInterval is how often a followed drain is looked at.
const drainPollInterval = 500 * time.Millisecond

// monitorDrain follows a drain until the node is empty, telling what
// happens to each allocation.
func (c *NodeDrainCommand) monitorDrain(client *api.Client, nodeID string) int {
	stamp := func(msg string) string { return time.Now().Format(time.RFC3339) + ": " + msg }
	c.Ui.Output(stamp("Ctrl-C to stop monitoring: will not cancel the node drain"))
	marked := map[string]bool{}
	status := map[string]string{}
	for {
		allocs, _, err := client.Nodes().Allocations(nodeID, nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error querying node allocations: %s", err))
			return 1
		}
		for _, a := range allocs {
			if m := a.DesiredTransition.Migrate; m != nil && *m && !marked[a.ID] {
				marked[a.ID] = true
				c.Ui.Output(stamp(fmt.Sprintf("Alloc %q marked for migration", a.ID)))
			}
			if old, ok := status[a.ID]; ok && old != a.ClientStatus && marked[a.ID] {
				c.Ui.Output(stamp(fmt.Sprintf("Alloc %q status %s -> %s", a.ID, old, a.ClientStatus)))
			}
			status[a.ID] = a.ClientStatus
		}
		node, _, err := client.Nodes().Info(nodeID, nil)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error querying node: %s", err))
			return 1
		}
		if node.DrainStrategy == nil {
			c.Ui.Output(stamp(fmt.Sprintf("Node %q drain complete", nodeID)))
			return 0
		}
		time.Sleep(drainPollInterval)
	}
}

// drainSpec turns the drain flags into a spec.
func drainSpec(deadline string, force, noDeadline, ignoreSystem bool) (*api.DrainSpec, error) {
	n := 0
	for _, b := range []bool{deadline != "", force, noDeadline} {
		if b {
			n++
		}
	}
	if n > 1 {
		return nil, fmt.Errorf("only one of -deadline, -force and -no-deadline may be given")
	}
	spec := &api.DrainSpec{Deadline: time.Hour, IgnoreSystemJobs: ignoreSystem}
	switch {
	case force:
		spec.Deadline = -1
	case noDeadline:
		spec.Deadline = 0
	case deadline != "":
		d, err := time.ParseDuration(deadline)
		if err != nil {
			return nil, fmt.Errorf("failed to parse deadline %q: %v", deadline, err)
		}
		if d <= 0 {
			return nil, fmt.Errorf("a positive drain deadline must be given")
		}
		spec.Deadline = d
	}
	return spec, nil
}

// findNode looks up the node argument, or the agent's own node.
func findNode(client *api.Client, args []string, self bool) (*api.Node, string) {
	if !self {
		return lookupNode(client, args[0], shortID)
	}
	info, err := client.Agent().Self()
	if err != nil {
		return nil, fmt.Sprintf("Error querying agent info: %s", err)
	}
	id, _ := info.Stats["client"]["node_id"].(string)
	if id == "" {
		return nil, "The agent runs no client"
	}
	return lookupNode(client, id, shortID)
}

// NodeEligibilityCommand is `nomadish node eligibility`.
type NodeEligibilityCommand struct{ Meta }

// Help returns the long help text.
func (c *NodeEligibilityCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish node eligibility [options] <node>

  Makes a node eligible or ineligible for new allocations; allocations
  already on it keep running.

General Options:

  ` + generalOptionsUsage() + `

Node Eligibility Options:

  -enable
    Make the node eligible.

  -disable
    Make the node ineligible.

  -self
    Act on the node of the agent the command talks to.

Examples:

  $ nomadish node eligibility -disable f4e8a9d2
  $ nomadish node eligibility -enable -self
`)
}

// Synopsis returns the one-line help text.
func (c *NodeEligibilityCommand) Synopsis() string {
	return "Toggle scheduling eligibility for a given node"
}

// Run runs the command.
func (c *NodeEligibilityCommand) Run(args []string) int {
	var enable, disable, self bool
	flags := c.FlagSet("node eligibility")
	flags.BoolVar(&enable, "enable", false, "")
	flags.BoolVar(&disable, "disable", false, "")
	flags.BoolVar(&self, "self", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if enable == disable {
		c.Ui.Error("Either the '-enable' or '-disable' flag must be set")
		c.Ui.Error(helpHint("node eligibility"))
		return 1
	}
	args = flags.Args()
	if (len(args) != 1) == !self || len(args) > 1 {
		c.Ui.Error("This command takes one argument: <node>, or -self")
		c.Ui.Error(helpHint("node eligibility"))
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	node, msg := findNode(client, args, self)
	if node == nil {
		c.Ui.Error(msg)
		return 1
	}
	if _, err := client.Nodes().ToggleEligibility(node.ID, enable, nil); err != nil {
		c.Ui.Error(fmt.Sprintf("Error updating scheduling eligibility: %s", err))
		return 1
	}
	word := "ineligible"
	if enable {
		word = "eligible"
	}
	c.Ui.Output(fmt.Sprintf("Node %q scheduling eligibility set: %s for scheduling", node.ID, word))
	return 0
}
