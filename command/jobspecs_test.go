package command

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/mitchellh/cli"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestJobspecExamples runs `job validate` and `job run -output` on every
// example job users are pointed at.
func TestJobspecExamples(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "jobspecs", "*.nomad.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no example jobs in ../jobspecs")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			code, out, errOut := runCmd(t, func(ui cli.Ui) cli.Command { return &JobValidateCommand{Meta: metaFor(ui)} }, "", file)
			if code != 0 || out != "Job validation successful\n" {
				t.Errorf("job validate %s = %d, %q, %q, want 0 and success", file, code, out, errOut)
			}
			code, out, errOut = runCmd(t, jobRun, "", "-output", file)
			if code != 0 {
				t.Fatalf("job run -output %s = %d, stderr %q, want 0", file, code, errOut)
			}
			var got struct{ Job *structs.Job }
			if err := json.Unmarshal([]byte(out), &got); err != nil || got.Job == nil || got.Job.ID == "" {
				t.Errorf("job run -output %s printed %.60q (%v), want {\"Job\": ...} with an ID", file, out, err)
			}
		})
	}
}
