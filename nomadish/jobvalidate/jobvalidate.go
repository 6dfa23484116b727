package jobvalidate

import (
	"errors"
	"fmt"

	"github.com/nomadish/nomadish/drivers/catalog"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// KnownDriver reports whether a driver that is not built in exists, for
// example a plugin_dir driver some client fingerprinted. Its task config
// has no schema here and is checked by the plugin when the task starts.
type KnownDriver func(name string) bool

// TaskConfigs checks every task's config against its driver's schema and
// reports every problem, each prefixed with the task's path:
//
//	group "web" -> task "api": config.args[0]: want string, got number
//
// A driver that is neither built in nor accepted by known is reported as
// unknown. A task without a driver is left to structs.Job.Validate.
func TaskConfigs(job *structs.Job, known KnownDriver) error {
	if job == nil {
		return nil
	}
	var errs []error
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		for _, t := range tg.Tasks {
			if t == nil || t.Driver == "" {
				continue
			}
			prefix := fmt.Sprintf("group %q -> task %q", tg.Name, t.Name)
			schema, ok := catalog.TaskConfigSchema(t.Driver)
			if !ok {
				if known == nil || !known(t.Driver) {
					errs = append(errs, fmt.Errorf("%s: unknown driver %q", prefix, t.Driver))
				}
				continue
			}
			for _, err := range split(catalog.ValidateTaskConfig(schema, t.Config)) {
				errs = append(errs, fmt.Errorf("%s: %w", prefix, err))
			}
		}
	}
	return errors.Join(errs...)
}

// NotBuiltin lists the tasks whose driver is not built in, as
// `group "web" -> task "api": driver "x"`, for a warning where no agent
// can say whether the driver exists.
func NotBuiltin(job *structs.Job) []string {
	if job == nil {
		return nil
	}
	var out []string
	for _, tg := range job.TaskGroups {
		if tg == nil {
			continue
		}
		for _, t := range tg.Tasks {
			if t == nil || t.Driver == "" {
				continue
			}
			if _, ok := catalog.TaskConfigSchema(t.Driver); !ok {
				out = append(out, fmt.Sprintf("group %q -> task %q: driver %q", tg.Name, t.Name, t.Driver))
			}
		}
	}
	return out
}

// split undoes errors.Join so that each problem gets its own prefix.
func split(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
