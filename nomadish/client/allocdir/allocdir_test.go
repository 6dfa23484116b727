package allocdir

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBuildLayout(t *testing.T) {
	root := t.TempDir()
	d := New(root, "a1")
	if err := d.Build([]string{"web", "side"}); err != nil {
		t.Fatalf("Build() error = %v", err)
	}
	if err := d.Build([]string{"web", "side"}); err != nil {
		t.Fatalf("second Build() error = %v", err)
	}
	want := []string{
		"a1/alloc/data", "a1/alloc/logs", "a1/alloc/tmp",
		"a1/web/local", "a1/web/secrets", "a1/web/tmp",
		"a1/side/local", "a1/side/secrets", "a1/side/tmp",
	}
	for _, p := range want {
		fi, err := os.Stat(filepath.Join(root, p))
		if err != nil || !fi.IsDir() {
			t.Errorf("Stat(%s) = %v, want a directory", p, err)
		}
	}
	if got, want := d.LogPath("web", "stdout", 0), filepath.Join(root, "a1/alloc/logs/web.stdout.0"); got != want {
		t.Errorf("LogPath() = %s, want %s", got, want)
	}
	if err := d.Destroy(); err != nil {
		t.Fatalf("Destroy() error = %v", err)
	}
	if _, err := os.Stat(d.AllocDir); !os.IsNotExist(err) {
		t.Errorf("Stat after Destroy = %v, want not exist", err)
	}
}
