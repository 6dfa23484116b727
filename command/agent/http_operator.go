package agent

import (
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"

	"github.com/nomadish/nomadish/nomadish/gossip"
	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func (h *HTTPServer) operatorRoutes() {
	m := h.mux
	m.HandleFunc("GET /v1/agent/members", h.wrap(h.agentMembers))
	m.HandleFunc("GET /v1/agent/servers", h.wrap(h.agentServers))
	m.HandleFunc("GET /v1/operator/raft/configuration", h.wrap(h.raftConfiguration))
	m.HandleFunc("DELETE /v1/operator/raft/peer", h.wrap(h.raftRemovePeer))
	m.HandleFunc("GET /v1/operator/snapshot", h.snapshotSave)
	m.HandleFunc("PUT /v1/operator/snapshot", h.snapshotRestore)
	m.HandleFunc("POST /v1/operator/snapshot", h.snapshotRestore)
}

// agentMember is one entry of /v1/agent/members, as Nomad's.
type agentMember struct {
	Name        string
	Addr        string
	Port        uint16
	Tags        map[string]string
	Status      string
	ProtocolMin uint8
	ProtocolMax uint8
	ProtocolCur uint8
	DelegateMin uint8
	DelegateMax uint8
	DelegateCur uint8
}

// agentMembers lists the servers in the gossip pool, with their tags.
func (h *HTTPServer) agentMembers(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	a := h.agent
	out := map[string]interface{}{
		"ServerName":   a.config.Name,
		"ServerRegion": a.config.Region,
		"ServerDC":     a.config.Datacenter,
	}
	members := []agentMember{}
	if a.gossip != nil {
		leader := ""
		if a.server != nil {
			leader = a.server.Leader()
		}
		for _, m := range a.gossip.Members() {
			if m.Tags[server.TagRole] != server.RoleServer {
				continue
			}
			tags := map[string]string{}
			for k, v := range m.Tags {
				tags[k] = v
			}
			tags["leader"] = "false"
			if leader != "" && m.Tags[server.TagRPCAddr] == leader && m.Status == gossip.StatusAlive {
				tags["leader"] = "true"
			}
			members = append(members, agentMember{
				Name: m.Name, Addr: m.Addr, Port: uint16(m.Port), Tags: tags, Status: m.Status,
				ProtocolMin: 1, ProtocolMax: 5, ProtocolCur: 2, DelegateMin: 2, DelegateMax: 5, DelegateCur: 4,
			})
		}
	}
	out["Members"] = members
	return out, nil
}

// agentServers lists the RPC addresses of the servers this agent knows.
func (h *HTTPServer) agentServers(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	if h.agent.server != nil {
		return h.agent.server.Peers()
	}
	return h.agent.remote.list(), nil
}

func (h *HTTPServer) raftConfiguration(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	args := &structs.GenericRequest{}
	if err := parseQuery(r, &args.QueryOptions); err != nil {
		return nil, err
	}
	var reply structs.RaftConfigurationResponse
	if err := h.rpc("Operator.RaftGetConfiguration", args, &reply); err != nil {
		return nil, err
	}
	return &reply, nil
}

func (h *HTTPServer) raftRemovePeer(w http.ResponseWriter, r *http.Request) (interface{}, error) {
	q := r.URL.Query()
	args := &structs.RaftPeerRequest{Address: q.Get("address"), ID: q.Get("id")}
	if err := h.rpc("Operator.RaftRemovePeer", args, &structs.GenericResponse{}); err != nil {
		return nil, err
	}
	return nil, nil
}

// snapshotSave streams a snapshot of the cluster state.
func (h *HTTPServer) snapshotSave(w http.ResponseWriter, r *http.Request) {
	if h.agent.server == nil {
		h.proxyToServer(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := h.agent.server.SnapshotSave(w); err != nil {
		h.logger.Error("snapshot save", "error", err)
	}
}

// snapshotRestore restores a snapshot; a non-leader passes it on to the
// leader's HTTP API.
func (h *HTTPServer) snapshotRestore(w http.ResponseWriter, r *http.Request) {
	if h.agent.server == nil || !h.agent.server.IsLeader() {
		h.proxyToServer(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<30)
	if err := h.agent.server.SnapshotRestore(r.Body); err != nil {
		code, msg := server.ErrorCode(err)
		w.WriteHeader(code)
		_, _ = io.WriteString(w, msg)
	}
}

// proxyToServer passes a request to the leader's HTTP address (known from
// its gossip tags).
func (h *HTTPServer) proxyToServer(w http.ResponseWriter, r *http.Request) {
	target := h.agent.leaderHTTPAddr()
	if target == "" || target == h.Addr() {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, "no cluster leader known")
		return
	}
	u, err := url.Parse("http://" + target)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, err.Error())
		return
	}
	httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
}
