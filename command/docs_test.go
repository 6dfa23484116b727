package command

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/mitchellh/cli"
)

var updateDocs = flag.Bool("update-docs", false, "rewrite docs/cli.md from the commands' help")

var cliHeading = regexp.MustCompile("^## `nomadish ([a-z -]+)`$")

func visibleCommands() []string {
	hidden := map[string]bool{}
	for _, h := range HiddenCommands {
		hidden[h] = true
	}
	var out []string
	for name := range Commands(cli.NewMockUi(), nil) {
		if !hidden[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// TestDocsCLI checks that docs/cli.md documents exactly the commands that
// exist. With -update-docs it rewrites the file from their help texts.
func TestDocsCLI(t *testing.T) {
	path := filepath.Join("..", "docs", "cli.md")
	cmds := visibleCommands()
	if *updateDocs {
		var b strings.Builder
		b.WriteString("# CLI\n\n`nomadish` takes Nomad's command names and flags. Every command answers `-help`.\n")
		b.WriteString("The address of the agent comes from `-address`, then `NOMADISH_ADDR`, then `NOMAD_ADDR`,\n")
		b.WriteString("then `http://127.0.0.1:4646`. Hidden aliases kept for Nomad scripts: ")
		b.WriteString("`" + strings.Join(HiddenCommands, "`, `") + "`.\n")
		all := Commands(cli.NewMockUi(), nil)
		for _, name := range cmds {
			c, err := all[name]()
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&b, "\n## `nomadish %s`\n\n%s\n\n```text\n%s\n```\n", name, c.Synopsis(), strings.TrimSpace(c.Help()))
		}
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("open docs/cli.md: %v", err)
	}
	defer f.Close()
	documented := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := cliHeading.FindStringSubmatch(sc.Text()); m != nil {
			documented[m[1]] = true
		}
	}
	exists := map[string]bool{}
	for _, c := range cmds {
		exists[c] = true
		if !documented[c] {
			t.Errorf("command %q is not in docs/cli.md (run go test ./command -run TestDocsCLI -update-docs)", c)
		}
	}
	for c := range documented {
		if !exists[c] {
			t.Errorf("docs/cli.md documents %q, which is not a command", c)
		}
	}
}
