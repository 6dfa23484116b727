package api

import "strconv"

// SchedulerConfiguration is the cluster-wide scheduler setting.
type SchedulerConfiguration struct {
	// SchedulerAlgorithm is "binpack" or "spread".
	SchedulerAlgorithm string
	// PreemptionConfig enables preemption per scheduler type.
	PreemptionConfig PreemptionConfig
	// MemoryOversubscriptionEnabled lets tasks set memory_max.
	MemoryOversubscriptionEnabled bool
	// RejectJobRegistration makes the servers refuse job registrations.
	RejectJobRegistration bool
	// PauseEvalBroker stops the leader's broker.
	PauseEvalBroker bool
	// CreateIndex and ModifyIndex are Raft indexes.
	CreateIndex uint64
	ModifyIndex uint64
}

// PreemptionConfig enables preemption per scheduler type.
type PreemptionConfig struct {
	SystemSchedulerEnabled   bool
	SysBatchSchedulerEnabled bool
	BatchSchedulerEnabled    bool
	ServiceSchedulerEnabled  bool
}

// SchedulerConfigurationResponse is the answer of a read.
type SchedulerConfigurationResponse struct {
	// SchedulerConfig is the configuration in force.
	SchedulerConfig *SchedulerConfiguration
	// Index is the Raft index of the configuration.
	Index uint64
}

// SchedulerSetConfigurationResponse is the answer of a change.
type SchedulerSetConfigurationResponse struct {
	// Updated is false when a check-and-set lost to another writer.
	Updated bool
	// Index is the Raft index of the write.
	Index uint64
}

// SchedulerGetConfiguration reads the scheduler configuration.
func (o *Operator) SchedulerGetConfiguration(q *QueryOptions) (*SchedulerConfigurationResponse, *QueryMeta, error) {
	var out SchedulerConfigurationResponse
	qm, err := o.client.query("/v1/operator/scheduler/configuration", &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, qm, nil
}

// SchedulerSetConfiguration replaces the scheduler configuration.
func (o *Operator) SchedulerSetConfiguration(conf *SchedulerConfiguration, q *WriteOptions) (*SchedulerSetConfigurationResponse, *WriteMeta, error) {
	var out SchedulerSetConfigurationResponse
	wm, err := o.client.put("/v1/operator/scheduler/configuration", conf, &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}

// SchedulerCASConfiguration replaces the configuration only if its
// ModifyIndex is still conf.ModifyIndex.
func (o *Operator) SchedulerCASConfiguration(conf *SchedulerConfiguration, q *WriteOptions) (*SchedulerSetConfigurationResponse, *WriteMeta, error) {
	var out SchedulerSetConfigurationResponse
	path := "/v1/operator/scheduler/configuration?cas=" + strconv.FormatUint(conf.ModifyIndex, 10)
	wm, err := o.client.put(path, conf, &out, q)
	if err != nil {
		return nil, nil, err
	}
	return &out, wm, nil
}
