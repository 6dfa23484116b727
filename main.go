// Command nomadish is the nomadish CLI and agent.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/command"
	"github.com/nomadish/nomadish/drivers/catalog"
)

func main() {
	// Driver plugins are this same binary started by the agent; when this
	// process is one, MaybeServe serves the plugin and exits.
	catalog.MaybeServe()

	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs the CLI and returns the exit code.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ui := &cli.BasicUi{Reader: stdin, Writer: stdout, ErrorWriter: stderr}
	c := &cli.CLI{
		Name:           "nomadish",
		Version:        "Nomadish " + command.FullVersion(),
		Args:           args,
		Commands:       command.Commands(ui, nil),
		HiddenCommands: command.HiddenCommands,
		Autocomplete:   true,
		HelpWriter:     stdout,
		ErrorWriter:    stderr,
	}
	code, err := c.Run()
	if err != nil {
		fmt.Fprintf(stderr, "Error executing CLI: %s\n", err)
		return 1
	}
	return code
}
