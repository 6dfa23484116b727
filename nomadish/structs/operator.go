package structs

// RaftServer is one server in the Raft configuration.
type RaftServer struct {
	ID           string
	Node         string
	Address      string
	Leader       bool
	Voter        bool
	RaftProtocol string
}

// RaftConfigurationResponse is the Raft configuration.
type RaftConfigurationResponse struct {
	Servers []*RaftServer
	Index   uint64
}

// RaftPeerRequest names a Raft peer to remove, by address or ID.
type RaftPeerRequest struct {
	Address string
	ID      string
	WriteRequest
}
