package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/nomadish/nomadish/drivers/catalog"
)

func TestScanPluginDir(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a plugin binary")
	}
	dir := t.TempDir()
	plugin := filepath.Join(dir, "mockext")
	build := exec.Command("go", "build", "-o", plugin, "github.com/nomadish/nomadish/drivers/mock/testdata/mockext")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build mockext: %v\n%s", err, out)
	}
	files := map[string]struct {
		mode    os.FileMode
		content string
	}{
		"README":     {0o644, "not a plugin"},
		"notaplugin": {0o755, "#!/bin/sh\nexit 1\n"},
	}
	for name, f := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(f.content), f.mode); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "subdir"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		dir  string
		want map[string]string
	}{
		{"plugins found, others skipped", dir, map[string]string{"mock_ext": plugin}},
		{"missing dir", filepath.Join(dir, "nope"), map[string]string{}},
		{"no dir", "", map[string]string{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := scanPluginDir(context.Background(), tc.dir, hclog.NewNullLogger())
			if err != nil {
				t.Fatalf("scanPluginDir(%q) = %v", tc.dir, err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("scanPluginDir(%q) = %v, want %v", tc.dir, got, tc.want)
			}
		})
	}
	got := driverNames(map[string]string{"mock_ext": plugin, "raw_exec": plugin})
	want := append(catalog.Builtin(), "mock_ext")
	sort.Strings(want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("driverNames() = %v, want %v", got, want)
	}
}
