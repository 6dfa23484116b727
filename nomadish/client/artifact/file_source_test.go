package artifact

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestFileSourcesStayInAllocDir checks that a file source reads only
// within the allocation directory unless the client allows host files,
// whatever symlinks lead elsewhere.
func TestFileSourcesStayInAllocDir(t *testing.T) {
	same := func(s string) string { return s }
	host := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(host, []byte("host secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	setup := func(t *testing.T) Paths {
		alloc := t.TempDir()
		p := Paths{AllocDir: alloc, TaskDir: filepath.Join(alloc, "web")}
		for _, d := range []string{filepath.Join(alloc, "alloc", "data"), filepath.Join(p.TaskDir, "local")} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(alloc, "alloc", "data", "shared.txt"), []byte("shared"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(host, filepath.Join(p.TaskDir, "local", "link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../../../..", filepath.Join(p.TaskDir, "local", "up")); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name    string
		src     func(p Paths) string
		host    bool
		want    string
		wantErr error
	}{
		{"absolute path in the alloc dir", func(p Paths) string { return "file://" + filepath.Join(p.AllocDir, "alloc", "data", "shared.txt") }, false, "shared", nil},
		{"relative to the task dir", func(Paths) string { return "../alloc/data/shared.txt" }, false, "shared", nil},
		{"host path", func(Paths) string { return "file://" + host }, false, "", ErrHostFile},
		{"symlink to a host path", func(p Paths) string { return filepath.Join(p.TaskDir, "local", "link") }, false, "", ErrHostFile},
		{"dot-dot out of the alloc dir", func(p Paths) string { return "local/up" + host }, false, "", ErrHostFile},
		{"host path allowed by the client", func(Paths) string { return "file://" + host }, true, "host secret", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := setup(t)
			p.HostFiles = tc.host
			a := &structs.TaskArtifact{GetterSource: tc.src(p), GetterMode: "file", RelativeDest: "local/out"}
			err := Fetch(context.Background(), a, p, same)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Fetch(%s) error = %v, want %v", a.GetterSource, err, tc.wantErr)
				}
				if _, err := os.Stat(filepath.Join(p.TaskDir, "local", "out")); err == nil {
					t.Errorf("a refused source still wrote its destination")
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch(%s) error = %v", a.GetterSource, err)
			}
			b, _ := os.ReadFile(filepath.Join(p.TaskDir, "local", "out"))
			if string(b) != tc.want {
				t.Errorf("fetched %q, want %q", b, tc.want)
			}
		})
	}
}
