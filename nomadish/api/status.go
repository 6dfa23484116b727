package api

// Status is the /v1/status endpoint group.
type Status struct {
	client *Client
}

// Status returns the status endpoints.
func (c *Client) Status() *Status { return &Status{client: c} }

// Leader returns the RPC address ("ip:port") of the cluster leader.
func (s *Status) Leader() (string, error) {
	var resp string
	if _, err := s.client.query("/v1/status/leader", &resp, nil); err != nil {
		return "", err
	}
	return resp, nil
}

// Peers returns the RPC addresses of the Raft peers.
func (s *Status) Peers() ([]string, error) {
	var resp []string
	if _, err := s.client.query("/v1/status/peers", &resp, nil); err != nil {
		return nil, err
	}
	return resp, nil
}
