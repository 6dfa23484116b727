package command

import (
	"strings"
	"testing"

	"github.com/mitchellh/cli"
)

func TestEveryCommandHasHelp(t *testing.T) {
	ui := cli.NewMockUi()
	for name, factory := range Commands(ui, nil) {
		t.Run(name, func(t *testing.T) {
			c, err := factory()
			if err != nil {
				t.Fatalf("factory() error = %v", err)
			}
			help := c.Help()
			if !strings.HasPrefix(help, "Usage: nomadish ") {
				t.Errorf("Help() = %.40q..., want it to start with the usage", help)
			}
			if c.Synopsis() == "" {
				t.Errorf("Synopsis() is empty")
			}
			if _, isParent := c.(*parentCommand); !isParent && name != "agent" && !strings.Contains(help, "Examples:") {
				t.Errorf("Help() has no examples")
			}
		})
	}
}

func TestHelpFlagAndUnknownFlag(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{"help flag", []string{"job", "run", "-help"}, 0, "", "Usage: nomadish job run"},
		{"unknown flag", []string{"job", "status", "-bogus"}, 1, "", "flag provided but not defined: -bogus"},
		{"parent prints help", []string{"alloc"}, 1, "", "Usage: nomadish alloc <subcommand>"},
		{"version", []string{"version"}, 0, "Nomadish " + FullVersion(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ui := cli.NewMockUi()
			var help strings.Builder
			c := &cli.CLI{
				Name:       "nomadish",
				Args:       tc.args,
				Commands:   Commands(ui, nil),
				HelpWriter: &help,
			}
			code, err := c.Run()
			if err != nil {
				t.Fatal(err)
			}
			if code != tc.wantCode {
				t.Errorf("exit = %d, want %d", code, tc.wantCode)
			}
			out := ui.OutputWriter.String()
			errOut := ui.ErrorWriter.String() + help.String()
			if !strings.Contains(out, tc.wantOut) {
				t.Errorf("stdout = %q, want it to contain %q", out, tc.wantOut)
			}
			if !strings.Contains(errOut, tc.wantErr) {
				t.Errorf("stderr and help = %q, want it to contain %q", errOut, tc.wantErr)
			}
		})
	}
}
