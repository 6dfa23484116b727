package server

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Config configures a server.
type Config struct {
	// Logger is the parent logger.
	Logger hclog.Logger
	// NodeName names this server in Raft and gossip.
	NodeName string
	// Region and Datacenter of the server.
	Region     string
	Datacenter string
	// DataDir holds the Raft log and snapshots (DataDir/raft).
	DataDir string
	// RPCAddr is the address the RPC (and Raft) listener binds to.
	RPCAddr string
	// RPCAdvertise is the address other agents use to reach RPCAddr.
	RPCAdvertise string
	// BootstrapExpect is how many servers to wait for before bootstrapping.
	BootstrapExpect int
	// DevMode bootstraps a single voter at once.
	DevMode bool
	// NumSchedulers is how many scheduler workers run on this server.
	NumSchedulers int
	// MinHeartbeatTTL is the shortest TTL handed to clients.
	MinHeartbeatTTL time.Duration
	// MaxHeartbeatsPerSecond scales TTLs with the number of nodes.
	MaxHeartbeatsPerSecond float64
	// HeartbeatGrace is added to a node's TTL before it is marked down.
	HeartbeatGrace time.Duration
	// EvalNackTimeout is how long a worker may hold an eval without acking.
	EvalNackTimeout time.Duration
	// EvalDeliveryLimit is how often an eval is handed out before it fails.
	EvalDeliveryLimit int
	// RaftSnapshotThreshold is how many log entries trigger a snapshot.
	RaftSnapshotThreshold uint64
	// RaftSnapshotInterval is how often Raft checks the threshold.
	RaftSnapshotInterval time.Duration
	// RaftTrailingLogs is how many log entries a snapshot leaves behind.
	RaftTrailingLogs uint64
	// EventBufferSize is how many Raft indexes of events the server keeps
	// for /v1/event/stream subscribers that resume from an index (Nomad's
	// event_buffer_size); zero takes the default, 100.
	EventBufferSize int

	// Garbage collection (Nomad's server options of the same names).
	// JobGCInterval is how often the leader looks for garbage.
	JobGCInterval time.Duration
	// JobGCThreshold is how long a job stays after it finished.
	JobGCThreshold time.Duration
	// EvalGCThreshold is how long a finished evaluation stays;
	// BatchEvalGCThreshold applies to those of batch jobs.
	EvalGCThreshold      time.Duration
	BatchEvalGCThreshold time.Duration
	// DeploymentGCThreshold is how long a finished deployment stays.
	DeploymentGCThreshold time.Duration
	// NodeGCThreshold is how long a down node stays.
	NodeGCThreshold time.Duration
}

// DefaultConfig returns Nomad's defaults.
func DefaultConfig() *Config {
	n := runtime.NumCPU()
	return &Config{
		Logger:                 hclog.NewNullLogger(),
		Region:                 "global",
		Datacenter:             "dc1",
		RPCAddr:                "127.0.0.1:4647",
		BootstrapExpect:        1,
		NumSchedulers:          n,
		MinHeartbeatTTL:        10 * time.Second,
		MaxHeartbeatsPerSecond: 50,
		HeartbeatGrace:         10 * time.Second,
		EvalNackTimeout:        60 * time.Second,
		EvalDeliveryLimit:      3,
		RaftSnapshotThreshold:  8192,
		RaftSnapshotInterval:   120 * time.Second,
		RaftTrailingLogs:       10240,
		JobGCInterval:          5 * time.Minute,
		JobGCThreshold:         4 * time.Hour,
		EvalGCThreshold:        time.Hour,
		BatchEvalGCThreshold:   24 * time.Hour,
		DeploymentGCThreshold:  time.Hour,
		NodeGCThreshold:        24 * time.Hour,
	}
}

// Validate checks the config.
func (c *Config) Validate() error {
	var errs []error
	if c.NodeName == "" {
		errs = append(errs, errors.New("server: node name is required"))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("server: data dir is required"))
	}
	if c.RPCAddr == "" {
		errs = append(errs, errors.New("server: rpc address is required"))
	}
	if c.BootstrapExpect < 0 {
		errs = append(errs, errors.New("server: bootstrap_expect must not be negative"))
	}
	if c.NumSchedulers < 0 {
		errs = append(errs, errors.New("server: num_schedulers must not be negative"))
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"job_gc_interval", c.JobGCInterval}, {"job_gc_threshold", c.JobGCThreshold},
		{"eval_gc_threshold", c.EvalGCThreshold}, {"batch_eval_gc_threshold", c.BatchEvalGCThreshold},
		{"deployment_gc_threshold", c.DeploymentGCThreshold}, {"node_gc_threshold", c.NodeGCThreshold},
	} {
		if d.v <= 0 {
			errs = append(errs, fmt.Errorf("server: %s must be positive, got %s", d.name, d.v))
		}
	}
	return errors.Join(errs...)
}
