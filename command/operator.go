package command

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strings"
)

// OperatorRaftListCommand is `nomadish operator raft list-peers`.
type OperatorRaftListCommand struct {
	Meta
}

// Help returns the long help text.
func (c *OperatorRaftListCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish operator raft list-peers [options]

  Displays the servers of the Raft configuration: node, ID, address, state
  (leader or follower) and whether each votes.

General Options:

  ` + generalOptionsUsage() + `

Examples:

  $ nomadish operator raft list-peers
`)
}

// Synopsis returns the one-line help text.
func (c *OperatorRaftListCommand) Synopsis() string {
	return "Display the current Raft peer configuration"
}

// Run runs the command.
func (c *OperatorRaftListCommand) Run(args []string) int {
	flags := c.FlagSet("operator raft list-peers")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	conf, err := client.Operator().RaftGetConfiguration(nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to retrieve raft configuration: %v", err))
		return 1
	}
	rows := [][]string{row("Node", "ID", "Address", "State", "Voter", "RaftProtocol")}
	for _, s := range conf.Servers {
		state := "follower"
		if s.Leader {
			state = "leader"
		}
		rows = append(rows, row(s.Node, s.ID, s.Address, state, fmt.Sprint(s.Voter), s.RaftProtocol))
	}
	c.Ui.Output(formatList(rows))
	return 0
}

// OperatorRaftRemoveCommand is `nomadish operator raft remove-peer`.
type OperatorRaftRemoveCommand struct {
	Meta
}

// Help returns the long help text.
func (c *OperatorRaftRemoveCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish operator raft remove-peer [options]

  Removes a server from the Raft configuration, for a server that failed
  and will not come back.

General Options:

  ` + generalOptionsUsage() + `

Remove Peer Options:

  -peer-address=<addr>   The address (host:port) of the peer to remove.
  -peer-id=<id>          The ID of the peer to remove.

Examples:

  $ nomadish operator raft remove-peer -peer-id=server3.global
`)
}

// Synopsis returns the one-line help text.
func (c *OperatorRaftRemoveCommand) Synopsis() string {
	return "Remove a Nomadish server from the Raft configuration"
}

// Run runs the command.
func (c *OperatorRaftRemoveCommand) Run(args []string) int {
	var addr, id string
	flags := c.FlagSet("operator raft remove-peer")
	flags.StringVar(&addr, "peer-address", "", "")
	flags.StringVar(&id, "peer-id", "", "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if (addr == "") == (id == "") {
		c.Ui.Error("Exactly one of -peer-address and -peer-id is required")
		return 1
	}
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	if addr != "" {
		err = client.Operator().RaftRemovePeerByAddress(addr, nil)
	} else {
		err = client.Operator().RaftRemovePeerByID(id, nil)
	}
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error removing peer: %v", err))
		return 1
	}
	c.Ui.Output(fmt.Sprintf("Removed peer with %s", addr+id))
	return 0
}

// OperatorSnapshotSaveCommand is `nomadish operator snapshot save`.
type OperatorSnapshotSaveCommand struct {
	Meta
}

// Help returns the long help text.
func (c *OperatorSnapshotSaveCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish operator snapshot save [options] <file>

  Saves a point-in-time snapshot of the whole cluster state (jobs,
  allocations, nodes, evaluations) to a file.

General Options:

  ` + generalOptionsUsage() + `

Examples:

  $ nomadish operator snapshot save backup.snap
`)
}

// Synopsis returns the one-line help text.
func (c *OperatorSnapshotSaveCommand) Synopsis() string {
	return "Saves snapshot of Nomadish server state"
}

// Run runs the command.
func (c *OperatorSnapshotSaveCommand) Run(args []string) int {
	flags := c.FlagSet("operator snapshot save")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 1 {
		c.Ui.Error("This command takes one argument: <file>")
		return 1
	}
	path := flags.Args()[0]
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	rc, err := client.Operator().Snapshot(nil)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to get snapshot: %v", err))
		return 1
	}
	defer rc.Close()
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to create file: %v", err))
		return 1
	}
	n, err := io.Copy(f, rc)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		c.Ui.Error(fmt.Sprintf("Failed to write snapshot: %v", err))
		return 1
	}
	c.Ui.Output(fmt.Sprintf("State file written to %s (%d bytes)", path, n))
	return 0
}

// OperatorSnapshotRestoreCommand is `nomadish operator snapshot restore`.
type OperatorSnapshotRestoreCommand struct {
	Meta
}

// Help returns the long help text.
func (c *OperatorSnapshotRestoreCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish operator snapshot restore [options] <file>

  Restores a snapshot made by "operator snapshot save", replacing the
  whole cluster state.

General Options:

  ` + generalOptionsUsage() + `

Examples:

  $ nomadish operator snapshot restore backup.snap
`)
}

// Synopsis returns the one-line help text.
func (c *OperatorSnapshotRestoreCommand) Synopsis() string {
	return "Restore snapshot of Nomadish server state"
}

// Run runs the command.
func (c *OperatorSnapshotRestoreCommand) Run(args []string) int {
	flags := c.FlagSet("operator snapshot restore")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if len(flags.Args()) != 1 {
		c.Ui.Error("This command takes one argument: <file>")
		return 1
	}
	f, err := os.Open(flags.Args()[0])
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to open snapshot: %v", err))
		return 1
	}
	defer f.Close()
	client, err := c.Client()
	if err != nil {
		c.Ui.Error(fmt.Sprintf("Error initializing client: %s", err))
		return 1
	}
	if err := client.Operator().SnapshotRestore(f, nil); err != nil {
		c.Ui.Error(fmt.Sprintf("Failed to restore snapshot: %v", err))
		return 1
	}
	c.Ui.Output("Snapshot Restored")
	return 0
}

// OperatorKeyringCommand is `nomadish operator gossip keyring`.
type OperatorKeyringCommand struct {
	Meta
}

// Help returns the long help text.
func (c *OperatorKeyringCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish operator gossip keyring [options]

  Manages gossip encryption keys. With -generate, prints a new random
  32-byte key, base64 encoded, for the agent's -encrypt flag or the
  server block's "encrypt" setting. Every agent of a pool needs the
  same key.

Keyring Options:

  -generate   Generate a new encryption key.

Examples:

  $ nomadish operator gossip keyring -generate
`)
}

// Synopsis returns the one-line help text.
func (c *OperatorKeyringCommand) Synopsis() string { return "Manages gossip layer encryption keys" }

// Run runs the command.
func (c *OperatorKeyringCommand) Run(args []string) int {
	var generate bool
	flags := c.FlagSet("operator gossip keyring")
	flags.BoolVar(&generate, "generate", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	if !generate {
		c.Ui.Error("Only -generate is supported: keys are set in each agent's configuration")
		return 1
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		c.Ui.Error(fmt.Sprintf("Error reading random data: %s", err))
		return 1
	}
	c.Ui.Output(base64.StdEncoding.EncodeToString(key))
	return 0
}
