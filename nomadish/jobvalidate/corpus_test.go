package jobvalidate

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/nomadish/nomadish/nomadish/jobspec"
)

// configRejects lists valid corpus rows whose task config Nomad's own
// driver rejects too, with the reason.
var configRejects = map[string]string{
	"hashicorp+nomad/jobspec__test-fixtures__artifacts.hcl":           "parser fixture docker task without image, which Nomad's docker driver requires",
	"hashicorp+nomad/jobspec__test-fixtures__csi-plugin.hcl":          "parser fixture docker task without image, which Nomad's docker driver requires",
	"hashicorp+nomad/jobspec__test-fixtures__parameterized_job.hcl":   "parser fixture docker task without image, which Nomad's docker driver requires",
	"hashicorp+nomad/jobspec__test-fixtures__resources-cores.hcl":     "parser fixture docker task without image, which Nomad's docker driver requires",
	"hashicorp+nomad/jobspec__test-fixtures__service-provider.hcl":    "parser fixture docker task without image, which Nomad's docker driver requires",
	"hashicorp+nomad/jobspec__test-fixtures__task-scaling-policy.hcl": "parser fixture docker task without image, which Nomad's docker driver requires",
}

// TestCorpusTaskConfigs checks the task config of every valid job file of
// the conformance corpus (../shared/conformance/jobspecs) against the
// built-in drivers' schemas: a job written for Nomad is not refused for an
// option Nomad's driver has.
func TestCorpusTaskConfigs(t *testing.T) {
	corpus := filepath.Join("..", "..", "..", "shared", "conformance", "jobspecs")
	f, err := os.Open(filepath.Join(corpus, "MANIFEST.tsv"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("conformance corpus: %v", err)
		}
		t.Skipf("SKIPPING: conformance corpus not found: %v", err)
	}
	defer f.Close()
	checked, warned := 0, 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if strings.HasPrefix(cols[0], "#") || len(cols) < 2 || cols[1] != "valid" {
			continue
		}
		path := cols[0]
		cfg := &jobspec.ParseConfig{Path: filepath.Join(corpus, path), AllowFS: true}
		if len(cols) > 2 {
			args := strings.Fields(cols[2])
			for i := 0; i+1 < len(args); i += 2 {
				switch args[i] {
				case "-var":
					cfg.ArgVars = append(cfg.ArgVars, args[i+1])
				case "-var-file":
					cfg.VarFiles = append(cfg.VarFiles, filepath.Join(corpus, args[i+1]))
				}
			}
		}
		job, err := jobspec.Parse(cfg)
		if err != nil {
			continue // the jobspec conformance test reports parse failures
		}
		checked++
		err = TaskConfigs(job, func(string) bool { return true })
		reason, rejected := configRejects[path]
		switch {
		case err != nil && !rejected:
			t.Errorf("TaskConfigs(%s) = %v, want nil", path, err)
		case err == nil && rejected:
			t.Errorf("TaskConfigs(%s) = nil, want the rejection Nomad makes: %s", path, reason)
		}
		for _, w := range Unsupported(job) {
			if strings.Contains(w, ": config.") {
				warned++
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if checked < 100 {
		t.Errorf("checked %d job files, want the whole corpus", checked)
	}
	t.Logf("corpus: %d job files checked, %d rejected as by Nomad, %d config options warned of", checked, len(configRejects), warned)
}
