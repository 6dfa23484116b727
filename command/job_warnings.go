package command

import (
	"fmt"

	"github.com/nomadish/nomadish/nomadish/jobvalidate"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// jobFileWarnings lists what a job file still uses but should not: fields
// Nomad removed from the job specification, which nomadish accepts so that
// old job files keep working.
func jobFileWarnings(job *structs.Job) []string {
	var warnings []string
	deprecated := func(field string) {
		warnings = append(warnings, fmt.Sprintf(
			"%q is deprecated: Nomad removed it from the job specification in 1.10; nomadish stores it but does not use it", field))
	}
	if job.ConsulToken != "" {
		deprecated("consul_token")
	}
	if job.VaultToken != "" {
		deprecated("vault_token")
	}
	warnings = append(warnings, job.ServiceWarnings()...)
	return warnings
}

// warnJobFile prints the job file's warnings to the error stream.
func (m *Meta) warnJobFile(job *structs.Job) {
	for _, w := range jobFileWarnings(job) {
		m.Ui.Warn("Warning: " + w)
	}
	for _, w := range jobvalidate.Unsupported(job) {
		m.Ui.Warn("Warning: " + w)
	}
	for _, w := range jobvalidate.NotBuiltin(job) {
		m.Ui.Warn("Warning: " + w + " is not built in; its config is checked by the servers and the client")
	}
}
