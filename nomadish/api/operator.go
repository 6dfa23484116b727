package api

import (
	"io"
	"net/http"
	"net/url"
)

// Operator is the /v1/operator endpoint group.
type Operator struct {
	client *Client
}

// Operator returns the operator endpoints.
func (c *Client) Operator() *Operator { return &Operator{client: c} }

// RaftServer is one server of the Raft configuration.
type RaftServer struct {
	ID           string
	Node         string
	Address      string
	Leader       bool
	Voter        bool
	RaftProtocol string
}

// RaftConfiguration is the Raft configuration.
type RaftConfiguration struct {
	Servers []*RaftServer
	Index   uint64
}

// RaftGetConfiguration reads the Raft configuration.
func (o *Operator) RaftGetConfiguration(q *QueryOptions) (*RaftConfiguration, error) {
	var out RaftConfiguration
	if _, err := o.client.query("/v1/operator/raft/configuration", &out, q); err != nil {
		return nil, err
	}
	return &out, nil
}

// RaftRemovePeerByAddress removes the peer with the given address.
func (o *Operator) RaftRemovePeerByAddress(address string, q *WriteOptions) error {
	_, err := o.client.delete("/v1/operator/raft/peer?address="+url.QueryEscape(address), nil, q)
	return err
}

// RaftRemovePeerByID removes the peer with the given ID.
func (o *Operator) RaftRemovePeerByID(id string, q *WriteOptions) error {
	_, err := o.client.delete("/v1/operator/raft/peer?id="+url.QueryEscape(id), nil, q)
	return err
}

// Snapshot streams a snapshot of the cluster state; the caller closes it.
func (o *Operator) Snapshot(q *QueryOptions) (io.ReadCloser, error) {
	r := o.client.newRequest(http.MethodGet, "/v1/operator/snapshot")
	r.setQueryOptions(q, 0)
	resp, _, err := o.client.do(r)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// SnapshotRestore replaces the cluster state with a snapshot.
func (o *Operator) SnapshotRestore(in io.Reader, q *WriteOptions) error {
	r := o.client.newRequest(http.MethodPut, "/v1/operator/snapshot")
	r.setWriteOptions(q)
	r.body = in
	resp, _, err := o.client.do(r)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// AgentMember is a server in the gossip pool.
type AgentMember struct {
	Name   string
	Addr   string
	Port   uint16
	Tags   map[string]string
	Status string
}

// ServerMembers lists the servers in the gossip pool.
type ServerMembers struct {
	ServerName   string
	ServerRegion string
	ServerDC     string
	Members      []*AgentMember
}

// Members lists the servers the agent sees in the gossip pool.
func (a *Agent) Members() (*ServerMembers, error) {
	var out ServerMembers
	if _, err := a.client.query("/v1/agent/members", &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}
