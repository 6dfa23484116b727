package structs

import "time"

// Node statuses.
const (
	NodeStatusInit         = "initializing"
	NodeStatusReady        = "ready"
	NodeStatusDown         = "down"
	NodeStatusDisconnected = "disconnected"
)

// Scheduling eligibility.
const (
	NodeSchedulingEligible   = "eligible"
	NodeSchedulingIneligible = "ineligible"
)

// Node is a client machine that runs allocations.
type Node struct {
	// ID is a UUID the client persists in its data dir.
	ID string
	// SecretID authenticates the client's own writes.
	SecretID string `json:"-"`
	// Datacenter the node is in.
	Datacenter string
	// Name is the node's human name (hostname by default).
	Name string
	// HTTPAddr is the client's HTTP address, for logs and fs.
	HTTPAddr string
	// Attributes are fingerprinted facts: kernel.name, cpu.numcores, driver.raw_exec, ...
	Attributes map[string]string
	// NodeResources are the node's total resources.
	NodeResources *NodeResources
	// ReservedResources are held back from scheduling.
	ReservedResources *NodeReservedResources
	// Links name external identities.
	Links map[string]string
	// Meta is operator-set metadata.
	Meta map[string]string
	// NodeClass groups like nodes.
	NodeClass string
	// NodePool the node belongs to.
	NodePool string
	// ComputedClass hashes the scheduling-relevant fields.
	ComputedClass string
	// Drain is true while the node is draining.
	Drain bool
	// DrainStrategy of an active drain.
	DrainStrategy *DrainStrategy
	// SchedulingEligibility says whether new allocations may land here.
	SchedulingEligibility string
	// Status is one of the NodeStatus constants.
	Status string
	// StatusDescription says why.
	StatusDescription string
	// StatusUpdatedAt is Unix seconds.
	StatusUpdatedAt int64
	// Drivers holds per-driver health.
	Drivers map[string]*DriverInfo
	// Events is the node's history.
	Events []*NodeEvent
	// LastHeartbeat is not replicated; kept for display.
	CreateIndex uint64
	ModifyIndex uint64
}

// Ready reports whether the node can take new allocations.
func (n *Node) Ready() bool {
	return n.Status == NodeStatusReady && !n.Drain && n.SchedulingEligibility == NodeSchedulingEligible
}

// NodeResources are a node's totals.
type NodeResources struct {
	Cpu            NodeCpuResources
	Memory         NodeMemoryResources
	Disk           NodeDiskResources
	Networks       []*NetworkResource
	MinDynamicPort int
	MaxDynamicPort int
}

// NodeCpuResources of a node.
type NodeCpuResources struct {
	CpuShares          int64
	TotalCpuCores      uint16
	ReservableCpuCores []uint16
}

// NodeMemoryResources of a node.
type NodeMemoryResources struct {
	MemoryMB int64
}

// NodeDiskResources of a node.
type NodeDiskResources struct {
	DiskMB int64
}

// NodeReservedResources are held back from scheduling.
type NodeReservedResources struct {
	Cpu      NodeReservedCpuResources
	Memory   NodeReservedMemoryResources
	Disk     NodeReservedDiskResources
	Networks NodeReservedNetworkResources
}

// NodeReservedCpuResources of a node.
type NodeReservedCpuResources struct {
	CpuShares uint64
}

// NodeReservedMemoryResources of a node.
type NodeReservedMemoryResources struct {
	MemoryMB uint64
}

// NodeReservedDiskResources of a node.
type NodeReservedDiskResources struct {
	DiskMB uint64
}

// NodeReservedNetworkResources of a node.
type NodeReservedNetworkResources struct {
	ReservedHostPorts string
}

// DrainStrategy of a draining node.
type DrainStrategy struct {
	DrainSpec
	ForceDeadline int64
	StartedAt     int64
}

// DrainSpec is what the operator asked for.
type DrainSpec struct {
	Deadline         int64
	IgnoreSystemJobs bool
}

// DriverInfo is a driver's health on a node.
type DriverInfo struct {
	Attributes        map[string]string
	Detected          bool
	Healthy           bool
	HealthDescription string
	UpdateTime        time.Time
}

// NodeEvent is one entry in a node's history.
type NodeEvent struct {
	Message     string
	Subsystem   string
	Details     map[string]string
	Timestamp   time.Time
	CreateIndex uint64
}

// NodeListStub is the list view of a node.
type NodeListStub struct {
	Address               string
	ID                    string
	Datacenter            string
	Name                  string
	NodeClass             string
	NodePool              string
	Version               string
	Drain                 bool
	SchedulingEligibility string
	Status                string
	StatusDescription     string
	Drivers               map[string]*DriverInfo
	CreateIndex           uint64
	ModifyIndex           uint64
}

// Stub returns the list view.
func (n *Node) Stub() *NodeListStub {
	return &NodeListStub{
		Address:               n.Attributes["unique.network.ip-address"],
		ID:                    n.ID,
		Datacenter:            n.Datacenter,
		Name:                  n.Name,
		NodeClass:             n.NodeClass,
		NodePool:              n.NodePool,
		Version:               n.Attributes["nomad.version"],
		Drain:                 n.Drain,
		SchedulingEligibility: n.SchedulingEligibility,
		Status:                n.Status,
		StatusDescription:     n.StatusDescription,
		Drivers:               n.Drivers,
		CreateIndex:           n.CreateIndex,
		ModifyIndex:           n.ModifyIndex,
	}
}
