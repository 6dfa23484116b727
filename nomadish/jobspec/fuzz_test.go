package jobspec

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// fuzzTimeout is how long one input may take on a busy machine.
const fuzzTimeout = 20 * time.Second

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		`job "a" { group "g" { task "t" { driver = "exec" } } }`,
		"variable \"x\" { default = 1 }\nlocals { y = var.x + 1 }\njob \"j\" { priority = local.y }",
		`job "d" { dynamic "group" { for_each = ["a"] content { task "t" { config { x = group.value } } } } }`,
		`job "r" { meta { a = "${node.unique.name}" } }`,
	} {
		f.Add([]byte(seed))
	}
	if corpus, ok := fuzzCorpus(); ok {
		files, _ := filepath.Glob(filepath.Join(corpus, "*", "*"))
		for _, p := range files {
			if b, err := os.ReadFile(p); err == nil && len(b) < 64<<10 {
				f.Add(b)
			}
		}
	}
	recoverPanics = false
	f.Fuzz(func(t *testing.T, src []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			job, err := Parse(&ParseConfig{Path: "fuzz.hcl", Body: src})
			if err == nil {
				_ = job.Validate()
			}
		}()
		select {
		case <-done:
		case <-time.After(fuzzTimeout):
			t.Fatalf("Parse(%q) did not return within %s", src, fuzzTimeout)
		}
	})
}

// fuzzCorpus finds the conformance corpus without skipping the fuzz target.
func fuzzCorpus() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "conformance", "jobspecs")
	_, err = os.Stat(corpus)
	return corpus, err == nil
}
