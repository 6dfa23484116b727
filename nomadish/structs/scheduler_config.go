package structs

import (
	"errors"
	"fmt"
)

// Scheduler algorithms an operator can choose.
const (
	SchedulerAlgorithmBinpack = "binpack"
	SchedulerAlgorithmSpread  = "spread"
)

// SchedulerConfiguration is the cluster-wide scheduler setting an operator
// changes with PUT /v1/operator/scheduler/configuration. It is stored
// through Raft; a cluster that never set it uses
// DefaultSchedulerConfiguration.
type SchedulerConfiguration struct {
	// SchedulerAlgorithm is "binpack" (the default) or "spread".
	SchedulerAlgorithm string
	// PreemptionConfig says which job types may preempt lower priority work.
	PreemptionConfig PreemptionConfig
	// MemoryOversubscriptionEnabled lets tasks set memory_max above memory.
	MemoryOversubscriptionEnabled bool
	// RejectJobRegistration makes the servers refuse job registrations.
	RejectJobRegistration bool
	// PauseEvalBroker stops the leader's broker from handing out evaluations.
	PauseEvalBroker bool
	// CreateIndex is the Raft index the configuration was first set at.
	CreateIndex uint64
	// ModifyIndex is the Raft index of the last change.
	ModifyIndex uint64
}

// PreemptionConfig enables preemption per scheduler type.
type PreemptionConfig struct {
	// SystemSchedulerEnabled lets system jobs preempt (default true).
	SystemSchedulerEnabled bool
	// SysBatchSchedulerEnabled lets sysbatch jobs preempt.
	SysBatchSchedulerEnabled bool
	// BatchSchedulerEnabled lets batch jobs preempt.
	BatchSchedulerEnabled bool
	// ServiceSchedulerEnabled lets service jobs preempt.
	ServiceSchedulerEnabled bool
}

// DefaultSchedulerConfiguration is what a cluster uses until an operator
// sets something: bin-packing, preemption for system jobs only.
func DefaultSchedulerConfiguration() *SchedulerConfiguration {
	return &SchedulerConfiguration{
		SchedulerAlgorithm: SchedulerAlgorithmBinpack,
		PreemptionConfig:   PreemptionConfig{SystemSchedulerEnabled: true},
	}
}

// Copy returns a copy of c (nil for nil).
func (c *SchedulerConfiguration) Copy() *SchedulerConfiguration {
	if c == nil {
		return nil
	}
	out := *c
	return &out
}

// Canonicalize fills defaults: an empty algorithm means binpack.
func (c *SchedulerConfiguration) Canonicalize() {
	if c.SchedulerAlgorithm == "" {
		c.SchedulerAlgorithm = SchedulerAlgorithmBinpack
	}
}

// ErrInvalidSchedulerConfig wraps every validation error of a scheduler
// configuration.
var ErrInvalidSchedulerConfig = errors.New("invalid scheduler configuration")

// Validate reports every problem of the configuration at once.
func (c *SchedulerConfiguration) Validate() error {
	if c == nil {
		return fmt.Errorf("%w: missing", ErrInvalidSchedulerConfig)
	}
	switch c.SchedulerAlgorithm {
	case "", SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread:
		return nil
	}
	return fmt.Errorf("%w: SchedulerAlgorithm %q: must be %q or %q", ErrInvalidSchedulerConfig,
		c.SchedulerAlgorithm, SchedulerAlgorithmBinpack, SchedulerAlgorithmSpread)
}

// SchedulerConfigurationResponse answers a read of the configuration.
type SchedulerConfigurationResponse struct {
	SchedulerConfig *SchedulerConfiguration
	QueryMeta
}

// SchedulerSetConfigRequest changes the configuration. With CAS set, the
// change happens only if the stored ModifyIndex equals Config.ModifyIndex.
type SchedulerSetConfigRequest struct {
	Config SchedulerConfiguration
	CAS    bool
	WriteRequest
}

// SchedulerSetConfigurationResponse answers a change: Updated is false
// when a CAS change lost to another writer.
type SchedulerSetConfigurationResponse struct {
	Updated bool
	WriteMeta
}
