package command

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/nomadish/nomadish/command/agent"
	"github.com/nomadish/nomadish/nomadish/jobspec"
	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// jobFileOptions select how a job file is read.
type jobFileOptions struct {
	// JSON reads the file as API JSON, bare or wrapped in {"Job": ...}.
	JSON bool
	// Vars are -var "key=value" assignments.
	Vars []string
	// VarFiles are -var-file paths.
	VarFiles []string
}

// readJobFile reads a job from path; "-" reads standard input.
func readJobFile(path string, stdin io.Reader, opts jobFileOptions) (*structs.Job, error) {
	if opts.JSON {
		var src []byte
		var err error
		if path == "-" {
			src, err = io.ReadAll(stdin)
		} else {
			src, err = os.ReadFile(path)
		}
		if err != nil {
			return nil, fmt.Errorf("read job file: %w", err)
		}
		return decodeJSONJob(src)
	}
	cfg := &jobspec.ParseConfig{
		Path:     path,
		ArgVars:  opts.Vars,
		VarFiles: opts.VarFiles,
		Envs:     os.Environ(),
		AllowFS:  true,
	}
	if path == "-" {
		src, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		cfg.Path = "<stdin>"
		cfg.Body = src
	}
	return jobspec.Parse(cfg)
}

// decodeJSONJob decodes {"Job": {...}} or a bare job object, strictly: an
// unknown field or a wrong type is an error naming its path, as the
// servers answer a request with one.
func decodeJSONJob(src []byte) (*structs.Job, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(src, &top); err != nil {
		return nil, fmt.Errorf("decode JSON job: %w", err)
	}
	if _, wrapped := top["Job"]; wrapped {
		var w struct{ Job *structs.Job }
		if err := agent.DecodeJSONStrict(src, &w); err != nil {
			return nil, fmt.Errorf("decode JSON job: %w", err)
		}
		if w.Job == nil {
			return nil, errors.New("decode JSON job: no job found")
		}
		return w.Job, nil
	}
	var job structs.Job
	if err := agent.DecodeJSONStrict(src, &job); err != nil {
		return nil, fmt.Errorf("decode JSON job: %w", err)
	}
	if job.ID == "" && job.Name == "" && len(job.TaskGroups) == 0 {
		return nil, errors.New("decode JSON job: no job found")
	}
	return &job, nil
}

// validateJob runs the job's own validation and checks each task's config
// against its driver's schema, reporting every problem at once. A driver
// that is not built in is left to the servers, which know the drivers the
// clients offer; warnJobFile names it.
func validateJob(job *structs.Job) error {
	leaveToServers := func(string) bool { return true }
	return errors.Join(job.Validate(), jobvalidate.TaskConfigs(job, leaveToServers))
}
