package jobspec

import (
	"path/filepath"
	"testing"
)

// TestExamples parses and validates every example job in <repo>/jobspecs.
func TestExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "jobspecs", "*.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example jobs found in jobspecs/")
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			job, err := Parse(&ParseConfig{Path: path})
			if err != nil {
				t.Fatalf("Parse(%s) = %v, want nil", path, err)
			}
			if err := job.Validate(); err != nil {
				t.Errorf("Validate(%s) = %v, want nil", path, err)
			}
		})
	}
}
