package jobspec

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corpusDir finds <repo root>/../shared/conformance/jobspecs.
func corpusDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	corpus := filepath.Join(dir, "..", "shared", "conformance", "jobspecs")
	if _, err := os.Stat(filepath.Join(corpus, "MANIFEST.tsv")); err != nil {
		// CI always has shared/ beside the clone: there, a missing corpus
		// is a failure, not a reason to skip.
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance corpus not found at %s", corpus)
		}
		t.Skipf("SKIPPING conformance: corpus not found at %s (it is ../shared beside the repo)", corpus)
	}
	return corpus
}

type manifestRow struct {
	path  string
	valid bool
	args  []string
}

func readManifest(t testing.TB, corpus string) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(corpus, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows []manifestRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 2 {
			t.Fatalf("bad manifest line %q", line)
		}
		row := manifestRow{path: cols[0], valid: cols[1] == "valid"}
		if len(cols) > 2 {
			row.args = strings.Fields(cols[2])
		}
		rows = append(rows, row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// configFor builds the ParseConfig the CLI would for a manifest row.
func configFor(corpus string, row manifestRow) *ParseConfig {
	cfg := &ParseConfig{Path: filepath.Join(corpus, row.path), AllowFS: true}
	for i := 0; i < len(row.args); i++ {
		switch row.args[i] {
		case "-var":
			if i+1 < len(row.args) {
				cfg.ArgVars = append(cfg.ArgVars, row.args[i+1])
				i++
			}
		case "-var-file":
			if i+1 < len(row.args) {
				cfg.VarFiles = append(cfg.VarFiles, filepath.Join(corpus, row.args[i+1]))
				i++
			}
		}
	}
	return cfg
}

func TestConformance(t *testing.T) {
	corpus := corpusDir(t)
	rows := readManifest(t, corpus)
	pass, rejects := 0, 0
	for _, row := range rows {
		ok := t.Run(row.path, func(t *testing.T) {
			cfg := configFor(corpus, row)
			job, err := Parse(cfg)
			if row.valid {
				if err != nil {
					t.Fatalf("Parse(%s) = %v, want success", row.path, err)
				}
				if verr := job.Validate(); verr != nil {
					reason, known := validationRejects[row.path]
					if !known {
						t.Errorf("Validate(%s) = %v, want nil", row.path, verr)
						return
					}
					rejects++
					t.Logf("Validate(%s) = %v; Nomad rejects it too: %s", row.path, verr, reason)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse(%s) = nil error, want an error naming the file and line", row.path)
			}
			if !strings.Contains(err.Error(), cfg.Path+":") {
				t.Errorf("Parse(%s) = %q, want an error containing %q", row.path, err, cfg.Path+":LINE")
			}
		})
		if ok {
			pass++
		}
	}
	t.Logf("conformance: %d/%d passed; %d valid rows parse but fail validation as they do in Nomad", pass, len(rows), rejects)
}
