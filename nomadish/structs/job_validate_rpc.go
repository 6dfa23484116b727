package structs

// JobValidateRequest asks a server to validate a job without registering
// it (PUT /v1/validate/job).
type JobValidateRequest struct {
	Job *Job
	WriteRequest
}

// JobValidateResponse is the answer, shaped like Nomad's.
type JobValidateResponse struct {
	// DriverConfigValidated is true when every task config was checked
	// against its driver's schema.
	DriverConfigValidated bool
	// ValidationErrors lists every problem, one a line.
	ValidationErrors []string
	// Error is ValidationErrors joined, or empty.
	Error string
	// Warnings are problems that do not fail the job.
	Warnings string
}
