package server

import (
	"errors"
	"strings"

	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// validateJob checks a canonicalized job: its own rules, then each task's
// config against its driver's schema. A driver that is not built in must
// have been detected on some node (a plugin_dir driver); its config is
// checked by the plugin when the task starts.
func (s *Server) validateJob(job *structs.Job) error {
	return errors.Join(job.Validate(), jobvalidate.TaskConfigs(job, s.driverOnSomeNode))
}

// driverOnSomeNode reports whether any node detected the named driver.
func (s *Server) driverOnSomeNode(name string) bool {
	nodes, err := s.State().Nodes(nil, "")
	if err != nil {
		return false
	}
	for _, n := range nodes {
		if d := n.Drivers[name]; d != nil && d.Detected {
			return true
		}
	}
	return false
}

// Validate checks a job as Register would, without registering it. Any
// server answers from its own state.
func (e *JobEndpoint) Validate(args *structs.JobValidateRequest, reply *structs.JobValidateResponse) error {
	if args.Job == nil {
		return NewCodedError(400, "missing job")
	}
	job := args.Job
	if job.Namespace == "" {
		job.Namespace = namespaceOf(args.Namespace)
	}
	job.Canonicalize()
	reply.DriverConfigValidated = true
	if err := errors.Join(e.srv.validateJob(job), validateLifecycle(job)); err != nil {
		reply.ValidationErrors = strings.Split(err.Error(), "\n")
		reply.Error = err.Error()
	}
	return nil
}
