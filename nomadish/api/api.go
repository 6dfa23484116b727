package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultAddress is used when neither the config nor the environment names
// an agent.
const DefaultAddress = "http://127.0.0.1:4646"

// Environment variables read by DefaultConfig, in order of precedence.
const (
	EnvAddress      = "NOMADISH_ADDR"
	EnvNomadAddress = "NOMAD_ADDR"
	EnvRegion       = "NOMADISH_REGION"
	EnvNamespace    = "NOMADISH_NAMESPACE"
	EnvToken        = "NOMADISH_TOKEN"
)

// Config configures a Client.
type Config struct {
	// Address is the agent's HTTP address, with or without a scheme.
	Address string
	// Region is sent with every request unless the request names its own.
	Region string
	// Namespace is sent with every request unless the request names its own.
	Namespace string
	// SecretID is sent as the X-Nomad-Token header when set.
	SecretID string
	// HttpClient makes the requests; nil means a client without a timeout,
	// since blocking queries and log streams stay open for long.
	HttpClient *http.Client
	// WaitTime bounds blocking queries that set WaitIndex without WaitTime.
	WaitTime time.Duration
}

// DefaultConfig returns a config read from the environment: NOMADISH_ADDR,
// then NOMAD_ADDR, then DefaultAddress.
func DefaultConfig() *Config {
	c := &Config{Address: DefaultAddress}
	for _, env := range []string{EnvAddress, EnvNomadAddress} {
		if v := os.Getenv(env); v != "" {
			c.Address = v
			break
		}
	}
	if v := firstEnv(EnvRegion, "NOMAD_REGION"); v != "" {
		c.Region = v
	}
	if v := firstEnv(EnvNamespace, "NOMAD_NAMESPACE"); v != "" {
		c.Namespace = v
	}
	if v := firstEnv(EnvToken, "NOMAD_TOKEN"); v != "" {
		c.SecretID = v
	}
	return c
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// Client talks to one agent over HTTP.
type Client struct {
	config  Config
	baseURL *url.URL
	http    *http.Client
}

// NewClient returns a client for the configured address. A nil config or an
// empty address means DefaultConfig's.
func NewClient(config *Config) (*Client, error) {
	def := DefaultConfig()
	if config == nil {
		config = def
	}
	c := *config
	if c.Address == "" {
		c.Address = def.Address
	}
	addr := c.Address
	if !strings.Contains(addr, "://") {
		addr = "http://" + addr
	}
	u, err := url.Parse(addr)
	if err != nil {
		return nil, fmt.Errorf("invalid address %q: %w", c.Address, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid address %q: scheme must be http or https", c.Address)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid address %q: no host", c.Address)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	hc := c.HttpClient
	if hc == nil {
		hc = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &Client{config: c, baseURL: u, http: hc}, nil
}

// Address returns the agent address the client talks to.
func (c *Client) Address() string { return c.baseURL.String() }

// SetRegion sets the region sent with requests that do not name their own.
func (c *Client) SetRegion(region string) { c.config.Region = region }

// SetNamespace sets the namespace sent with requests that do not name their own.
func (c *Client) SetNamespace(ns string) { c.config.Namespace = ns }

// withAddress returns a client for another agent with the same settings.
func (c *Client) withAddress(addr string) (*Client, error) {
	conf := c.config
	conf.Address = addr
	conf.HttpClient = c.http
	return NewClient(&conf)
}

// QueryOptions are the parameters of a read.
type QueryOptions struct {
	// Region and Namespace override the client's.
	Region    string
	Namespace string
	// AllowStale lets any server answer from its own state.
	AllowStale bool
	// WaitIndex makes the read a blocking query: the answer comes once the
	// result's index is past WaitIndex, or when WaitTime runs out.
	WaitIndex uint64
	// WaitTime bounds a blocking query.
	WaitTime time.Duration
	// Prefix filters list results by ID prefix.
	Prefix string
	// Filter is a go-bexpr filter expression.
	Filter string
	// Params are extra query parameters.
	Params map[string]string
	// AuthToken overrides the client's token.
	AuthToken string

	ctx context.Context
}

// WithContext returns a copy of the options whose requests are bound to ctx.
func (o *QueryOptions) WithContext(ctx context.Context) *QueryOptions {
	c := &QueryOptions{}
	if o != nil {
		*c = *o
	}
	c.ctx = ctx
	return c
}

// Context returns the options' context, or context.Background.
func (o *QueryOptions) Context() context.Context {
	if o != nil && o.ctx != nil {
		return o.ctx
	}
	return context.Background()
}

// QueryMeta is returned with every read.
type QueryMeta struct {
	// LastIndex is the X-Nomad-Index of the answer: pass it as the next
	// WaitIndex to block until something changes.
	LastIndex uint64
	// LastContact is how stale the answering server may be.
	LastContact time.Duration
	// KnownLeader says whether the answering server knew a leader.
	KnownLeader bool
	// RequestTime is how long the request took.
	RequestTime time.Duration
}

// WriteOptions are the parameters of a write.
type WriteOptions struct {
	// Region and Namespace override the client's.
	Region    string
	Namespace string
	// AuthToken overrides the client's token.
	AuthToken string

	ctx context.Context
}

// WithContext returns a copy of the options whose requests are bound to ctx.
func (o *WriteOptions) WithContext(ctx context.Context) *WriteOptions {
	c := &WriteOptions{}
	if o != nil {
		*c = *o
	}
	c.ctx = ctx
	return c
}

// Context returns the options' context, or context.Background.
func (o *WriteOptions) Context() context.Context {
	if o != nil && o.ctx != nil {
		return o.ctx
	}
	return context.Background()
}

// WriteMeta is returned with every write.
type WriteMeta struct {
	// LastIndex is the Raft index of the write.
	LastIndex uint64
	// RequestTime is how long the request took.
	RequestTime time.Duration
}

// UnexpectedResponseError is returned when the agent answers with a status
// code other than 200. Its text is Nomad's: "Unexpected response code: 404
// (job not found)".
type UnexpectedResponseError struct {
	statusCode int
	body       string
}

// Error returns the code and the body of the answer.
func (e *UnexpectedResponseError) Error() string {
	return fmt.Sprintf("Unexpected response code: %d (%s)", e.statusCode, e.body)
}

// StatusCode returns the HTTP status code of the answer.
func (e *UnexpectedResponseError) StatusCode() int { return e.statusCode }

// Body returns the body of the answer, without surrounding white space.
func (e *UnexpectedResponseError) Body() string { return e.body }

// IsNotFound reports whether err is an answer with status 404.
func IsNotFound(err error) bool {
	var ue *UnexpectedResponseError
	return errors.As(err, &ue) && ue.statusCode == http.StatusNotFound
}

// request is one HTTP request being built. path is already escaped.
type request struct {
	method string
	path   string
	params url.Values
	header http.Header
	body   io.Reader
	ctx    context.Context
}

func (c *Client) newRequest(method, path string) *request {
	r := &request{
		method: method,
		path:   path,
		params: url.Values{},
		header: http.Header{},
		ctx:    context.Background(),
	}
	if p, rawQuery, ok := strings.Cut(path, "?"); ok {
		r.path = p
		if vs, err := url.ParseQuery(rawQuery); err == nil {
			r.params = vs
		}
	}
	if c.config.Region != "" {
		r.params.Set("region", c.config.Region)
	}
	if c.config.Namespace != "" {
		r.params.Set("namespace", c.config.Namespace)
	}
	if c.config.SecretID != "" {
		r.header.Set("X-Nomad-Token", c.config.SecretID)
	}
	return r
}

func (r *request) setQueryOptions(q *QueryOptions, defWait time.Duration) {
	if q == nil {
		return
	}
	if q.Region != "" {
		r.params.Set("region", q.Region)
	}
	if q.Namespace != "" {
		r.params.Set("namespace", q.Namespace)
	}
	if q.AuthToken != "" {
		r.header.Set("X-Nomad-Token", q.AuthToken)
	}
	if q.AllowStale {
		r.params.Set("stale", "")
	}
	if q.WaitIndex != 0 {
		r.params.Set("index", strconv.FormatUint(q.WaitIndex, 10))
		wait := q.WaitTime
		if wait == 0 {
			wait = defWait
		}
		if wait != 0 {
			r.params.Set("wait", durToMsec(wait))
		}
	} else if q.WaitTime != 0 {
		r.params.Set("wait", durToMsec(q.WaitTime))
	}
	if q.Prefix != "" {
		r.params.Set("prefix", q.Prefix)
	}
	if q.Filter != "" {
		r.params.Set("filter", q.Filter)
	}
	for k, v := range q.Params {
		r.params.Set(k, v)
	}
	r.ctx = q.Context()
}

func (r *request) setWriteOptions(q *WriteOptions) {
	if q == nil {
		return
	}
	if q.Region != "" {
		r.params.Set("region", q.Region)
	}
	if q.Namespace != "" {
		r.params.Set("namespace", q.Namespace)
	}
	if q.AuthToken != "" {
		r.header.Set("X-Nomad-Token", q.AuthToken)
	}
	r.ctx = q.Context()
}

// durToMsec renders a duration as the "Nms" the agent parses.
func durToMsec(d time.Duration) string {
	ms := d / time.Millisecond
	if d > 0 && ms == 0 {
		ms = 1
	}
	return fmt.Sprintf("%dms", ms)
}

// do sends the request and returns the response when its status is 200.
// The caller closes the body.
func (c *Client) do(r *request) (*http.Response, time.Duration, error) {
	target := c.baseURL.String() + r.path
	if len(r.params) > 0 {
		target += "?" + r.params.Encode()
	}
	req, err := http.NewRequestWithContext(r.ctx, r.method, target, r.body)
	if err != nil {
		return nil, 0, err
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	rtt := time.Since(start)
	if err != nil {
		return nil, rtt, err
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return nil, rtt, &UnexpectedResponseError{
			statusCode: resp.StatusCode,
			body:       strings.TrimSpace(string(body)),
		}
	}
	return resp, rtt, nil
}

// query GETs path and decodes the JSON answer into out.
func (c *Client) query(path string, out any, q *QueryOptions) (*QueryMeta, error) {
	r := c.newRequest(http.MethodGet, path)
	r.setQueryOptions(q, c.config.WaitTime)
	resp, rtt, err := c.do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	qm := parseQueryMeta(resp)
	qm.RequestTime = rtt
	if err := decodeBody(resp, out); err != nil {
		return nil, err
	}
	return qm, nil
}

// write sends in as JSON with the method and decodes the answer into out.
func (c *Client) write(method, path string, in, out any, q *WriteOptions) (*WriteMeta, error) {
	r := c.newRequest(method, path)
	r.setWriteOptions(q)
	if in != nil {
		buf, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		r.body = bytes.NewReader(buf)
	}
	resp, rtt, err := c.do(r)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	wm := &WriteMeta{RequestTime: rtt}
	if idx, err := strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64); err == nil {
		wm.LastIndex = idx
	}
	if out != nil {
		if err := decodeBody(resp, out); err != nil {
			return nil, err
		}
	}
	return wm, nil
}

func (c *Client) put(path string, in, out any, q *WriteOptions) (*WriteMeta, error) {
	return c.write(http.MethodPut, path, in, out, q)
}

func (c *Client) delete(path string, out any, q *WriteOptions) (*WriteMeta, error) {
	return c.write(http.MethodDelete, path, nil, out, q)
}

func parseQueryMeta(resp *http.Response) *QueryMeta {
	qm := &QueryMeta{}
	if idx, err := strconv.ParseUint(resp.Header.Get("X-Nomad-Index"), 10, 64); err == nil {
		qm.LastIndex = idx
	}
	if ms, err := strconv.ParseUint(resp.Header.Get("X-Nomad-LastContact"), 10, 64); err == nil {
		qm.LastContact = time.Duration(ms) * time.Millisecond
	}
	qm.KnownLeader = resp.Header.Get("X-Nomad-KnownLeader") == "true"
	return qm
}

func decodeBody(resp *http.Response, out any) error {
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode %s %s: %w", resp.Request.Method, resp.Request.URL.Path, err)
	}
	return nil
}
