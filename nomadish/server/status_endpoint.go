package server

import (
	"github.com/nomadish/nomadish/nomadish/structs"
)

// StatusEndpoint answers cluster status questions.
type StatusEndpoint struct {
	srv *Server
}

// Leader returns the leader's RPC address.
func (e *StatusEndpoint) Leader(args *structs.GenericRequest, reply *structs.StatusLeaderResponse) error {
	reply.Leader = e.srv.Leader()
	return nil
}

// Peers returns the Raft peers' addresses.
func (e *StatusEndpoint) Peers(args *structs.GenericRequest, reply *structs.StatusPeersResponse) error {
	peers, err := e.srv.Peers()
	if err != nil {
		return err
	}
	reply.Peers = peers
	return nil
}

// Ping answers at once; clients use it to check a server is reachable.
func (e *StatusEndpoint) Ping(args *structs.GenericRequest, reply *structs.GenericResponse) error {
	return nil
}
