package command

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// FormatCommand is `nomadish fmt`.
type FormatCommand struct {
	Meta

	// Stdin and Stdout serve the "-" path; nil means os.Stdin and os.Stdout.
	Stdin  io.Reader
	Stdout io.Writer
}

// Help returns the long help text.
func (c *FormatCommand) Help() string {
	return strings.TrimSpace(`
Usage: nomadish fmt [options] [<path> ...]

  Rewrites job and configuration files to the canonical HCL format.
  Paths may be files or directories; directories are searched for
  .nomad and .hcl files. Without a path, the current directory is
  formatted. The path "-" formats standard input to standard output.

  Files with syntax errors are reported with their position and left
  untouched; the command then exits 1.

Format Options:

  -check
    Change nothing; exit 1 if any file is not canonically formatted.

  -list=false
    Do not print the names of the files whose formatting differs.

  -write=false
    Do not rewrite files; print the formatted text instead.

  -recursive
    Search directories recursively.

Examples:

  $ nomadish fmt
  $ nomadish fmt -check jobs/
  $ cat example.nomad.hcl | nomadish fmt -
`)
}

// Synopsis returns the one-line help text.
func (c *FormatCommand) Synopsis() string { return "Rewrites job files to canonical format" }

// Run runs the command.
func (c *FormatCommand) Run(args []string) int {
	var check, recursive bool
	list, write := true, true
	flags := c.FlagSet("fmt")
	flags.BoolVar(&check, "check", false, "")
	flags.BoolVar(&list, "list", true, "")
	flags.BoolVar(&write, "write", true, "")
	flags.BoolVar(&recursive, "recursive", false, "")
	if err := flags.Parse(args); err != nil {
		return 1
	}
	paths := flags.Args()
	if len(paths) == 0 {
		paths = []string{"."}
	}
	if check {
		write = false
	}
	stdout := c.Stdout
	if stdout == nil {
		stdout = os.Stdout
	}

	failed, changed := false, false
	for _, p := range paths {
		if p == "-" {
			stdin := c.Stdin
			if stdin == nil {
				stdin = os.Stdin
			}
			src, err := io.ReadAll(stdin)
			if err != nil {
				c.Ui.Error(fmt.Sprintf("Error reading standard input: %s", err))
				failed = true
				continue
			}
			out, err := formatHCL(src, "<stdin>")
			if err != nil {
				c.Ui.Error(err.Error())
				failed = true
				continue
			}
			if !bytes.Equal(src, out) {
				changed = true
			}
			if !check {
				stdout.Write(out)
			}
			continue
		}
		files, err := hclFiles(p, recursive)
		if err != nil {
			c.Ui.Error(fmt.Sprintf("Error reading %s: %s", p, err))
			failed = true
			continue
		}
		for _, f := range files {
			diff, err := c.formatFile(f, write, stdout)
			if err != nil {
				c.Ui.Error(err.Error())
				failed = true
				continue
			}
			if diff {
				changed = true
				if list {
					c.Ui.Output(f)
				}
			}
		}
	}
	if failed || (check && changed) {
		return 1
	}
	return 0
}

// formatFile formats one file and reports whether its formatting differed.
func (c *FormatCommand) formatFile(path string, write bool, stdout io.Writer) (bool, error) {
	info, err := os.Stat(path)
	if err != nil {
		return false, fmt.Errorf("Error reading %s: %s", path, err)
	}
	src, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("Error reading %s: %s", path, err)
	}
	out, err := formatHCL(src, path)
	if err != nil {
		return false, err
	}
	if bytes.Equal(src, out) {
		return false, nil
	}
	if write {
		if err := os.WriteFile(path, out, info.Mode().Perm()); err != nil {
			return true, fmt.Errorf("Error writing %s: %s", path, err)
		}
	}
	return true, nil
}

// formatHCL checks the syntax and returns the canonical form.
func formatHCL(src []byte, name string) ([]byte, error) {
	_, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos)
	if diags.HasErrors() {
		var msgs []string
		for _, d := range diags {
			if d.Severity != hcl.DiagError {
				continue
			}
			msgs = append(msgs, d.Error())
		}
		return nil, fmt.Errorf("Error parsing %s:\n%s", name, strings.Join(msgs, "\n"))
	}
	return hclwrite.Format(src), nil
}

// hclFiles lists the job files a path names: the file itself, or the .nomad
// and .hcl files of a directory.
func hclFiles(path string, recursive bool) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(p); ext == ".nomad" || ext == ".hcl" {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}
