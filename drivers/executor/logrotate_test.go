package executor

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRotator(t *testing.T) {
	tests := []struct {
		name     string
		existing map[string]string
		maxFiles int
		maxBytes int64
		writes   []string
		want     map[string]string
	}{
		{
			name: "small writes stay in one file", maxFiles: 3, maxBytes: 10,
			writes: []string{"abc", "def"},
			want:   map[string]string{"web.stdout.0": "abcdef"},
		},
		{
			name: "a write is split at the size", maxFiles: 3, maxBytes: 4,
			writes: []string{"abcdefghij"},
			want:   map[string]string{"web.stdout.0": "abcd", "web.stdout.1": "efgh", "web.stdout.2": "ij"},
		},
		{
			name: "only the newest files are kept", maxFiles: 2, maxBytes: 2,
			writes: []string{"aa", "bb", "cc", "d"},
			want:   map[string]string{"web.stdout.2": "cc", "web.stdout.3": "d"},
		},
		{
			name:     "resumes the newest file",
			existing: map[string]string{"web.stdout.0": "0000", "web.stdout.1": "11"},
			maxFiles: 3, maxBytes: 4,
			writes: []string{"xyz"},
			want:   map[string]string{"web.stdout.0": "0000", "web.stdout.1": "11xy", "web.stdout.2": "z"},
		},
		{
			name:     "other streams are left alone",
			existing: map[string]string{"web.stderr.0": "err", "web.stdout.x": "junk"},
			maxFiles: 1, maxBytes: 1,
			writes: []string{"ab"},
			want:   map[string]string{"web.stderr.0": "err", "web.stdout.x": "junk", "web.stdout.1": "b"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tc.existing {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r, err := newRotator(filepath.Join(dir, "web.stdout.0"), tc.maxFiles, tc.maxBytes)
			if err != nil {
				t.Fatalf("newRotator() error = %v", err)
			}
			for _, w := range tc.writes {
				if n, err := r.Write([]byte(w)); err != nil || n != len(w) {
					t.Fatalf("Write(%q) = %d, %v, want %d, nil", w, n, err, len(w))
				}
			}
			if err := r.Close(); err != nil {
				t.Fatalf("Close() error = %v", err)
			}
			got := readDir(t, dir)
			if !equalMaps(got, tc.want) {
				t.Errorf("files = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNewRotatorRejects(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		maxFiles int
		maxBytes int64
	}{
		{name: "no index", path: "web.stdout", maxFiles: 1, maxBytes: 1},
		{name: "not the first file", path: "web.stdout.3", maxFiles: 1, maxBytes: 1},
		{name: "no files", path: "web.stdout.0", maxFiles: 0, maxBytes: 1},
		{name: "no size", path: "web.stdout.0", maxFiles: 1, maxBytes: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := newRotator(filepath.Join(t.TempDir(), tc.path), tc.maxFiles, tc.maxBytes); err == nil {
				t.Errorf("newRotator(%q, %d, %d) error = nil, want an error", tc.path, tc.maxFiles, tc.maxBytes)
			}
		})
	}
}

func readDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = string(b)
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
