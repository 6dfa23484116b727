package command

import (
	"strings"

	"github.com/mitchellh/cli"
)

// parentCommand is a command that only groups sub-commands, such as `job`:
// run alone, it prints its help, which mitchellh/cli completes with the
// list of sub-commands.
type parentCommand struct {
	synopsis string
	help     string
}

// Help returns the long help text.
func (c *parentCommand) Help() string { return strings.TrimSpace(c.help) }

// Synopsis returns the one-line help text.
func (c *parentCommand) Synopsis() string { return c.synopsis }

// Run prints the help.
func (c *parentCommand) Run(args []string) int { return cli.RunResultHelp }

var jobParent = &parentCommand{
	synopsis: "Interact with jobs",
	help: `
Usage: nomadish job <subcommand> [options] [args]

  Interacts with jobs: submit, inspect, check and stop them.

  Run a job:

      $ nomadish job run example.nomad.hcl

  Check the status of a job:

      $ nomadish job status example

  Stop a job:

      $ nomadish job stop example

  Run "nomadish job <subcommand> -help" for more on each subcommand.
`,
}

var allocParent = &parentCommand{
	synopsis: "Interact with allocations",
	help: `
Usage: nomadish alloc <subcommand> [options] [args]

  Inspects allocations and reads their tasks' logs.

  Check the status of an allocation:

      $ nomadish alloc status <alloc-id>

  Read the logs of a task:

      $ nomadish alloc logs <alloc-id> <task>

  Run "nomadish alloc <subcommand> -help" for more on each subcommand.
`,
}

var nodeParent = &parentCommand{
	synopsis: "Interact with nodes",
	help: `
Usage: nomadish node <subcommand> [options] [args]

  Inspects the client nodes of the cluster.

  List the nodes:

      $ nomadish node status

  Check the status of one node:

      $ nomadish node status <node-id>

  Run "nomadish node <subcommand> -help" for more on each subcommand.
`,
}

var evalParent = &parentCommand{
	synopsis: "Interact with evaluations",
	help: `
Usage: nomadish eval <subcommand> [options] [args]

  Inspects evaluations: the scheduler's decisions.

  List the evaluations:

      $ nomadish eval list

  Check the status of one evaluation:

      $ nomadish eval status <eval-id>

  Run "nomadish eval <subcommand> -help" for more on each subcommand.
`,
}

var serverParent = &parentCommand{
	synopsis: "Interact with servers",
	help: `
Usage: nomadish server <subcommand> [options] [args]

  Inspects the servers.

  List the servers in the gossip pool:

      $ nomadish server members

  Run "nomadish server <subcommand> -help" for more on each subcommand.
`,
}

var operatorParent = &parentCommand{
	synopsis: "Provides cluster-level tools for nomadish operators",
	help: `
Usage: nomadish operator <subcommand> [options] [args]

  Cluster-level operations: the Raft configuration, snapshots of the
  state, gossip encryption keys.

      $ nomadish operator raft list-peers
      $ nomadish operator snapshot save backup.snap
      $ nomadish operator gossip keyring -generate

  Run "nomadish operator <subcommand> -help" for more on each subcommand.
`,
}

var operatorRaftParent = &parentCommand{
	synopsis: "Provides access to the Raft subsystem",
	help: `
Usage: nomadish operator raft <subcommand> [options]

      $ nomadish operator raft list-peers
      $ nomadish operator raft remove-peer -peer-id=<id>
`,
}

var operatorSnapshotParent = &parentCommand{
	synopsis: "Saves and restores snapshots of the cluster state",
	help: `
Usage: nomadish operator snapshot <subcommand> [options] <file>

      $ nomadish operator snapshot save backup.snap
      $ nomadish operator snapshot restore backup.snap
`,
}

var operatorGossipParent = &parentCommand{
	synopsis: "Provides access to the gossip subsystem",
	help: `
Usage: nomadish operator gossip <subcommand> [options]

      $ nomadish operator gossip keyring -generate
`,
}
