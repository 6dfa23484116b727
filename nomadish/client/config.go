package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// RPCer reaches the servers. Methods are the structs.Method* constants:
//
//	Node.Register        NodeRegisterRequest → NodeUpdateResponse
//	Node.UpdateStatus    NodeUpdateStatusRequest → NodeUpdateResponse (the heartbeat)
//	Node.GetClientAllocs NodeSpecificRequest (blocking) → NodeClientAllocsResponse
//	Alloc.GetAllocs      AllocsGetRequest → AllocsGetResponse
//	Node.UpdateAlloc     AllocUpdateRequest → GenericResponse
//
// RPC is called concurrently from the client's loops. A blocking query may
// block for up to its MaxQueryTime.
type RPCer interface {
	RPC(method string, args interface{}, reply interface{}) error
}

// ContextRPCer is an RPCer that can abandon a call when ctx ends. When the
// configured RPCer implements it, the client uses long blocking queries and
// Shutdown does not wait for one to time out.
type ContextRPCer interface {
	RPCContext(ctx context.Context, method string, args interface{}, reply interface{}) error
}

// Config configures a Client.
type Config struct {
	// Logger is scoped by the client as "client".
	Logger hclog.Logger
	// DataDir holds client/state.db, client/client-id and alloc/<id>.
	DataDir string

	// Node identity. Name defaults to the hostname, Datacenter to "dc1",
	// Region to "global", NodePool to "default".
	Name       string
	Datacenter string
	Region     string
	NodeClass  string
	NodePool   string
	Meta       map[string]string

	// CPUTotalCompute (MHz) and MemoryTotalMB override the fingerprint when
	// positive.
	CPUTotalCompute int
	MemoryTotalMB   int
	// Reserved resources are held back from scheduling.
	Reserved *structs.NodeReservedResources
	// HTTPAddr is the advertised HTTP address ("ip:port").
	HTTPAddr string

	// Drivers names the drivers to load and fingerprint.
	Drivers []string
	// DriverConfig is each plugin's `config {}` block, passed to SetConfig
	// as JSON.
	DriverConfig map[string]map[string]interface{}
	// DriverLoader starts (or returns the running) plugin for a driver. It
	// is called again after a plugin dies, and must then start a new one.
	DriverLoader func(ctx context.Context, name string) (drivers.DriverPlugin, error)
	// RPC reaches the servers.
	RPC RPCer

	// DevMode stops every task on Shutdown; otherwise tasks keep running
	// and are recovered when the client starts again.
	DevMode bool

	// MaxQueryTime bounds each blocking alloc query. Defaults to 5 minutes
	// with a ContextRPCer, 10 seconds otherwise.
	MaxQueryTime time.Duration
	// DriverFingerprintTimeout bounds how long the first registration waits for each
	// driver's first fingerprint before registering. Default 1s; a driver
	// reporting later causes a re-registration.
	DriverFingerprintTimeout time.Duration
	// ShutdownTimeout bounds how long a DevMode Shutdown waits for tasks
	// to stop. Default 30s.
	ShutdownTimeout time.Duration
	// DNSAddr is the UDP address of the service DNS responder
	// ("127.0.0.1:8600"); "" runs none.
	DNSAddr string
	// BridgeNetworkName, BridgeNetworkSubnet and BridgeNetworkHairpinMode
	// configure bridge-mode allocation networks (client options
	// bridge_network_name, bridge_network_subnet and
	// bridge_network_hairpin_mode); empty values take the defaults,
	// "nomadish" and 172.26.64.0/20.
	BridgeNetworkName        string
	BridgeNetworkSubnet      string
	BridgeNetworkHairpinMode bool
	// ArtifactHostFiles lets file artifact sources read any host path
	// (client artifact { disable_filesystem_isolation = true }); without
	// it they must lie within the allocation directory.
	ArtifactHostFiles bool
}

// DefaultConfig returns a config with the defaults filled in; the caller
// sets DataDir, RPC and DriverLoader.
func DefaultConfig() *Config {
	return &Config{
		Logger:                   hclog.NewNullLogger(),
		Datacenter:               structs.DefaultDatacenter,
		Region:                   structs.DefaultRegion,
		NodePool:                 structs.DefaultNodePool,
		DriverFingerprintTimeout: time.Second,
		ShutdownTimeout:          30 * time.Second,
	}
}

// Validate reports every problem with the config.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("data_dir is required"))
	}
	if c.RPC == nil {
		errs = append(errs, errors.New("an RPC connection to the servers is required"))
	}
	if len(c.Drivers) > 0 && c.DriverLoader == nil {
		errs = append(errs, errors.New("drivers are configured but no driver loader is set"))
	}
	if c.CPUTotalCompute < 0 {
		errs = append(errs, fmt.Errorf("cpu_total_compute %d must not be negative", c.CPUTotalCompute))
	}
	if c.MemoryTotalMB < 0 {
		errs = append(errs, fmt.Errorf("memory_total_mb %d must not be negative", c.MemoryTotalMB))
	}
	return errors.Join(errs...)
}

func (c *Config) canonicalize() {
	if c.Logger == nil {
		c.Logger = hclog.NewNullLogger()
	}
	if c.Datacenter == "" {
		c.Datacenter = structs.DefaultDatacenter
	}
	if c.Region == "" {
		c.Region = structs.DefaultRegion
	}
	if c.NodePool == "" {
		c.NodePool = structs.DefaultNodePool
	}
	if c.MaxQueryTime <= 0 {
		if _, ok := c.RPC.(ContextRPCer); ok {
			c.MaxQueryTime = 5 * time.Minute
		} else {
			c.MaxQueryTime = 10 * time.Second
		}
	}
	if c.DriverFingerprintTimeout <= 0 {
		c.DriverFingerprintTimeout = time.Second
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
}
