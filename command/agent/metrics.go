package agent

import (
	"net/http"
	"strconv"
	"time"

	"github.com/hashicorp/go-memdb"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

func init() {
	registerRoutes(func(h *HTTPServer) {
		h.mux.HandleFunc("GET /v1/metrics", h.metrics)
	})
}

// agentMetrics is one agent's metric registry. Gauges read the server's
// and client's state when scraped, so nothing on a hot path updates them;
// the HTTP counters are the only instrumentation.
type agentMetrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newAgentMetrics(a *Agent) *agentMetrics {
	m := &agentMetrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "nomad_http_requests_total", Help: "HTTP API requests by method and status code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "nomad_http_request_duration_seconds", Help: "HTTP API request latency.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5},
		}, []string{"method"}),
	}
	m.reg.MustRegister(m.requests, m.latency, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	gauge := func(name, help string, fn func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
	}
	if s := a.server; s != nil {
		raftStat := func(key string) func() float64 {
			return func() float64 {
				v, _ := strconv.ParseFloat(s.RaftStats()[key], 64)
				return v
			}
		}
		gauge("nomad_raft_leader", "1 while this server leads.", func() float64 {
			if s.IsLeader() {
				return 1
			}
			return 0
		})
		gauge("nomad_raft_term", "Current Raft term.", raftStat("term"))
		gauge("nomad_raft_applied_index", "Last Raft index applied to the state.", raftStat("applied_index"))
		gauge("nomad_raft_commit_index", "Last committed Raft index.", raftStat("commit_index"))
		broker := func(pick func(b server.BrokerStats) int) func() float64 {
			return func() float64 { return float64(pick(s.BrokerStats())) }
		}
		gauge("nomad_broker_total_ready", "Evaluations ready to be scheduled.", broker(func(b server.BrokerStats) int { return b.TotalReady }))
		gauge("nomad_broker_total_unacked", "Evaluations being scheduled.", broker(func(b server.BrokerStats) int { return b.TotalUnacked }))
		gauge("nomad_broker_total_pending", "Evaluations waiting for their job's in-flight one.", broker(func(b server.BrokerStats) int { return b.TotalPending }))
		gauge("nomad_broker_total_delayed", "Evaluations waiting for their time.", broker(func(b server.BrokerStats) int { return b.TotalDelayed }))
		plan := func(name, help string, pick func(p server.PlanStats) uint64) {
			m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
				return float64(pick(s.PlanStats()))
			}))
		}
		plan("nomad_plan_evaluated_total", "Plans the plan applier evaluated.", func(p server.PlanStats) uint64 { return p.Plans })
		plan("nomad_plan_partial_total", "Plans not committed whole because a node no longer had room.", func(p server.PlanStats) uint64 { return p.PlansPartial })
		plan("nomad_plan_node_rejected_total", "Nodes the plan applier refused.", func(p server.PlanStats) uint64 { return p.NodesRejected })
		plan("nomad_plan_allocations_committed_total", "Placements the plan applier committed.", func(p server.PlanStats) uint64 { return p.AllocsCommitted })
		gauge("nomad_blocked_evals_total_blocked", "Evaluations waiting for capacity.", func() float64 { return float64(s.BlockedEvals()) })
		gauge("nomad_state_jobs", "Jobs in the state store.", func() float64 {
			jobs, _ := s.State().Jobs(memdb.NewWatchSet(), "*", "")
			return float64(len(jobs))
		})
		gauge("nomad_state_nodes_ready", "Ready client nodes.", func() float64 {
			nodes, _ := s.State().Nodes(nil, "")
			n := 0
			for _, node := range nodes {
				if node.Status == structs.NodeStatusReady {
					n++
				}
			}
			return float64(n)
		})
		allocs := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "nomad_state_allocations", Help: "Allocations by client status."}, []string{"client_status"})
		m.reg.MustRegister(&allocCollector{s: a, vec: allocs})
	}
	return m
}

// registerClient adds the client's gauges once it runs.
func (m *agentMetrics) registerClient(a *Agent) {
	c := a.client
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "nomad_client_allocations", Help: "Allocations this client runs.",
	}, func() float64 { return float64(c.NumAllocs()) }))
}

// allocCollector counts allocations by client status when scraped.
type allocCollector struct {
	s   *Agent
	vec *prometheus.GaugeVec
}

func (c *allocCollector) Describe(ch chan<- *prometheus.Desc) { c.vec.Describe(ch) }

// Collect reads the counts the state store keeps as allocations change.
func (c *allocCollector) Collect(ch chan<- prometheus.Metric) {
	counts, err := c.s.server.State().AllocCountsByClientStatus()
	if err != nil {
		return
	}
	c.vec.Reset()
	for status, n := range counts {
		c.vec.WithLabelValues(status).Set(float64(n))
	}
	c.vec.Collect(ch)
}

// observe records one HTTP request.
func (m *agentMetrics) observe(method string, code int, took time.Duration) {
	m.requests.WithLabelValues(method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(method).Observe(took.Seconds())
}

// metricValue is one entry of the JSON form of /v1/metrics.
type metricValue struct {
	Name   string
	Value  float64           `json:",omitempty"`
	Count  uint64            `json:",omitempty"`
	Sum    float64           `json:",omitempty"`
	Labels map[string]string `json:",omitempty"`
}

// metrics serves /v1/metrics: Nomad's JSON summary, or the Prometheus text
// format with ?format=prometheus.
func (h *HTTPServer) metrics(w http.ResponseWriter, r *http.Request) {
	m := h.agent.metrics
	if r.URL.Query().Get("format") == "prometheus" {
		promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{DisableCompression: true}).ServeHTTP(w, r)
		return
	}
	h.wrap(func(w http.ResponseWriter, r *http.Request) (interface{}, error) {
		families, err := m.reg.Gather()
		if err != nil {
			return nil, err
		}
		out := map[string]interface{}{"Timestamp": time.Now().UTC().Format(time.RFC3339)}
		gauges, counters, samples := []metricValue{}, []metricValue{}, []metricValue{}
		for _, f := range families {
			for _, mt := range f.GetMetric() {
				v := metricValue{Name: f.GetName(), Labels: labels(mt)}
				switch f.GetType() {
				case dto.MetricType_GAUGE:
					v.Value = mt.GetGauge().GetValue()
					gauges = append(gauges, v)
				case dto.MetricType_COUNTER:
					v.Count = uint64(mt.GetCounter().GetValue())
					v.Sum = mt.GetCounter().GetValue()
					counters = append(counters, v)
				case dto.MetricType_HISTOGRAM:
					v.Count = mt.GetHistogram().GetSampleCount()
					v.Sum = mt.GetHistogram().GetSampleSum()
					samples = append(samples, v)
				case dto.MetricType_SUMMARY:
					v.Count = mt.GetSummary().GetSampleCount()
					v.Sum = mt.GetSummary().GetSampleSum()
					samples = append(samples, v)
				}
			}
		}
		out["Gauges"], out["Counters"], out["Samples"] = gauges, counters, samples
		return out, nil
	})(w, r)
}

func labels(m *dto.Metric) map[string]string {
	if len(m.GetLabel()) == 0 {
		return nil
	}
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}
