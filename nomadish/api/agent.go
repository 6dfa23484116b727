package api

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Agent is the /v1/agent endpoint group: the agent the client talks to.
type Agent struct {
	client *Client
}

// Agent returns the agent endpoints.
func (c *Client) Agent() *Agent { return &Agent{client: c} }

// AgentSelf describes the agent.
type AgentSelf struct {
	// Config is the agent's effective configuration.
	Config map[string]any `json:"config"`
	// Member is the agent's gossip membership.
	Member map[string]any `json:"member"`
	// Stats are per-subsystem counters.
	Stats map[string]map[string]any `json:"stats"`
}

// AgentHealthResponse reports the health of the agent's server and client.
type AgentHealthResponse struct {
	Server *AgentHealth `json:"server,omitempty"`
	Client *AgentHealth `json:"client,omitempty"`
}

// AgentHealth is the health of one side of an agent.
type AgentHealth struct {
	Ok      bool   `json:"ok"`
	Message string `json:"message"`
}

// Self describes the agent.
func (a *Agent) Self() (*AgentSelf, error) {
	var out AgentSelf
	if _, err := a.client.query("/v1/agent/self", &out, nil); err != nil {
		return nil, err
	}
	return &out, nil
}

// Health reports whether the agent's server knows a leader and its client
// runs. An unhealthy agent answers 500 with the same body, which is
// returned along with the error.
func (a *Agent) Health() (*AgentHealthResponse, error) {
	var out AgentHealthResponse
	_, err := a.client.query("/v1/agent/health", &out, nil)
	if err == nil {
		return &out, nil
	}
	var ue *UnexpectedResponseError
	if errors.As(err, &ue) && ue.StatusCode() == http.StatusInternalServerError {
		if json.Unmarshal([]byte(ue.Body()), &out) == nil {
			return &out, err
		}
	}
	return nil, err
}
