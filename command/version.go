package command

import (
	"runtime/debug"
	"strings"
)

// Version is the release version; set with -ldflags "-X ...command.Version=".
var Version = "0.1.0"

// VersionPrerelease marks builds that are not releases; empty for releases.
var VersionPrerelease = "dev"

// GitCommit is the commit built; set with -ldflags, or read from the build
// information when the build recorded it.
var GitCommit = ""

// FullVersion returns "v0.1.0-dev".
func FullVersion() string {
	v := "v" + Version
	if VersionPrerelease != "" {
		v += "-" + VersionPrerelease
	}
	return v
}

func revision() string {
	if GitCommit != "" {
		return GitCommit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return ""
}

// VersionCommand is `nomadish version`.
type VersionCommand struct {
	Meta
}

// Help returns the long help text.
func (c *VersionCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish version

  Prints the version of this binary.

Examples:

  $ nomadish version
`)
}

// Synopsis returns the one-line help text.
func (c *VersionCommand) Synopsis() string { return "Prints the Nomadish version" }

// Run runs the command.
func (c *VersionCommand) Run(args []string) int {
	c.Ui.Output("Nomadish " + FullVersion())
	if rev := revision(); rev != "" {
		c.Ui.Output("Revision " + rev)
	}
	return 0
}
