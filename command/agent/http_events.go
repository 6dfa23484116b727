package agent

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/nomadish/nomadish/nomadish/server"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// eventHeartbeat is how often an idle event stream sends `{}`.
const eventHeartbeat = 10 * time.Second

func init() {
	registerRoutes(func(h *HTTPServer) {
		h.mux.HandleFunc("GET /v1/event/stream", h.eventStream)
	})
}

// topicFilter is the set of topics and keys a subscriber asked for.
type topicFilter map[string][]string

func parseTopics(values []string) (topicFilter, error) {
	f := topicFilter{}
	if len(values) == 0 {
		f[structs.TopicAll] = []string{"*"}
		return f, nil
	}
	for _, v := range values {
		topic, key, ok := strings.Cut(v, ":")
		if !ok {
			key = "*"
		}
		if topic == "" {
			return nil, server.NewCodedError(400, "invalid topic: "+v)
		}
		f[topic] = append(f[topic], key)
	}
	return f, nil
}

func (f topicFilter) match(e *structs.Event, ns string) bool {
	if ns != "" && ns != "*" && e.Namespace != "" && e.Namespace != ns {
		return false
	}
	keys := append(append([]string(nil), f[structs.TopicAll]...), f[e.Topic]...)
	for _, k := range keys {
		if k == "*" || k == e.Key {
			return true
		}
		for _, fk := range e.FilterKeys {
			if k == fk {
				return true
			}
		}
	}
	return false
}

// eventStream serves /v1/event/stream: newline-delimited JSON frames of
// the events of each Raft index, from `index` on, filtered by `topic`.
func (h *HTTPServer) eventStream(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(code int, msg string) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(msg))
	}
	if h.agent.server == nil {
		fail(400, "the event stream is served by servers; this agent runs no server")
		return
	}
	topics, err := parseTopics(q["topic"])
	if err != nil {
		code, msg := server.ErrorCode(err)
		fail(code, msg)
		return
	}
	var after uint64
	if s := q.Get("index"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			fail(400, "invalid index: "+s)
			return
		}
		if n > 0 {
			after = n - 1
		}
	}
	ns := q.Get("namespace")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	flusher, _ := w.(http.Flusher)
	if flusher != nil {
		flusher.Flush()
	}
	enc := json.NewEncoder(w)
	broker := h.agent.server.Events()
	for {
		ctx, cancel := context.WithTimeout(r.Context(), eventHeartbeat)
		batch, err := broker.Next(ctx, after)
		cancel()
		switch {
		case r.Context().Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
			if enc.Encode(struct{}{}) != nil {
				return
			}
		case errors.Is(err, server.ErrEventIndexGone):
			after = 0
			continue
		case err != nil:
			return
		default:
			after = batch.Index
			out := structs.Events{Index: batch.Index}
			for i := range batch.Events {
				if topics.match(&batch.Events[i], ns) {
					out.Events = append(out.Events, batch.Events[i])
				}
			}
			if len(out.Events) == 0 {
				continue
			}
			if enc.Encode(&out) != nil {
				return
			}
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}
