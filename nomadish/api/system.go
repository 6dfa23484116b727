package api

// System is the /v1/system endpoint group.
type System struct {
	client *Client
}

// System returns the system endpoints.
func (c *Client) System() *System { return &System{client: c} }

// GarbageCollect asks the servers to collect finished jobs, evaluations,
// allocations, deployments and down nodes now, regardless of the age
// thresholds.
func (s *System) GarbageCollect() error {
	_, err := s.client.put("/v1/system/gc", nil, nil, nil)
	return err
}
