package client

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// driverManager hands out configured driver plugins. It keeps the plugin
// the loader returned until someone reports it dead (Invalidate), then asks
// the loader again, so a loader that launches a new process per call is
// still called once per plugin life. SetConfig is sent to every plugin
// instance before it is handed out.
type driverManager struct {
	cfg    *Config
	logger hclog.Logger

	mu      sync.Mutex
	locks   map[string]*sync.Mutex
	current map[string]drivers.DriverPlugin
}

func newDriverManager(cfg *Config, logger hclog.Logger) *driverManager {
	return &driverManager{cfg: cfg, logger: logger.Named("drivers"), locks: map[string]*sync.Mutex{}, current: map[string]drivers.DriverPlugin{}}
}

// Driver returns the running, configured plugin for name.
func (m *driverManager) Driver(ctx context.Context, name string) (drivers.DriverPlugin, error) {
	if !m.enabled(name) {
		return nil, fmt.Errorf("driver %q is not enabled on this client", name)
	}
	if m.cfg.DriverLoader == nil {
		return nil, fmt.Errorf("no driver loader for %q", name)
	}
	m.mu.Lock()
	if p := m.current[name]; p != nil {
		m.mu.Unlock()
		return p, nil
	}
	l, ok := m.locks[name]
	if !ok {
		l = &sync.Mutex{}
		m.locks[name] = l
	}
	m.mu.Unlock()

	l.Lock()
	defer l.Unlock()
	m.mu.Lock()
	p := m.current[name]
	m.mu.Unlock()
	if p != nil {
		return p, nil
	}
	p, err := m.cfg.DriverLoader(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("load driver %q: %w", name, err)
	}
	conf := m.cfg.DriverConfig[name]
	if conf == nil {
		conf = map[string]interface{}{}
	}
	buf, err := json.Marshal(conf)
	if err != nil {
		return nil, fmt.Errorf("encode driver %q config: %w", name, err)
	}
	if err := p.SetConfig(ctx, buf); err != nil {
		return nil, fmt.Errorf("configure driver %q: %w", name, err)
	}
	m.mu.Lock()
	m.current[name] = p
	m.mu.Unlock()
	return p, nil
}

// Invalidate reports that plugin p of driver name died; the next Driver
// call loads a new one. Reports about an already replaced plugin are
// ignored.
func (m *driverManager) Invalidate(name string, p drivers.DriverPlugin) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if samePlugin(m.current[name], p) {
		delete(m.current, name)
	}
}

func (m *driverManager) enabled(name string) bool {
	if len(m.cfg.Drivers) == 0 {
		return true
	}
	for _, d := range m.cfg.Drivers {
		if d == name {
			return true
		}
	}
	return false
}

// samePlugin compares plugin instances without panicking on values of
// incomparable types.
func samePlugin(a, b drivers.DriverPlugin) bool {
	if a == nil || b == nil {
		return false
	}
	ta, tb := reflect.TypeOf(a), reflect.TypeOf(b)
	if ta != tb || !ta.Comparable() {
		return false
	}
	return a == b
}

// startDriverFingerprints starts one fingerprint loop per driver. Each
// loop reports its driver's first fingerprint on c.firstFingerprint.
func (c *Client) startDriverFingerprints(ctx context.Context) {
	c.firstFingerprint = make(chan string, len(c.cfg.Drivers))
	for _, name := range c.cfg.Drivers {
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			c.fingerprintDriver(ctx, name, c.firstFingerprint)
		}()
	}
}

// waitDriverFingerprints waits up to DriverFingerprintTimeout for every
// driver's first fingerprint, so the first registration carries them.
func (c *Client) waitDriverFingerprints(ctx context.Context) {
	timeout := time.NewTimer(c.cfg.DriverFingerprintTimeout)
	defer timeout.Stop()
	for range c.cfg.Drivers {
		select {
		case <-c.firstFingerprint:
		case <-timeout.C:
			c.logger.Warn("timed out waiting for driver fingerprints; registering without them")
			return
		case <-ctx.Done():
			return
		}
	}
}

// fingerprintDriver follows one driver's fingerprint stream, relaunching
// the plugin when the stream ends early.
func (c *Client) fingerprintDriver(ctx context.Context, name string, first chan<- string) {
	signaled := false
	signal := func() {
		if !signaled {
			signaled = true
			first <- name
		}
	}
	attempt := 0
	for ctx.Err() == nil {
		p, err := c.drivers.Driver(ctx, name)
		var ch <-chan *drivers.Fingerprint
		if err == nil {
			ch, err = p.Fingerprint(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.logger.Warn("driver fingerprint failed", "driver", name, "error", err)
			c.setDriverHealth(name, &drivers.Fingerprint{Health: drivers.HealthStateUndetected, HealthDescription: err.Error()})
			signal()
			if !sleepCtx(ctx, backoff(attempt, 500*time.Millisecond, 30*time.Second)) {
				return
			}
			attempt++
			continue
		}
		evCtx, stopEvents := context.WithCancel(ctx)
		eventsDone := c.followDriverEvents(evCtx, name, p)
		for fp := range ch {
			if fp == nil {
				continue
			}
			attempt = 0
			c.setDriverHealth(name, fp)
			signal()
		}
		stopEvents()
		<-eventsDone
		if ctx.Err() != nil {
			return
		}
		c.drivers.Invalidate(name, p)
		c.logger.Warn("driver fingerprint stream ended; reloading the plugin", "driver", name)
		c.setDriverHealth(name, &drivers.Fingerprint{Health: drivers.HealthStateUnhealthy, HealthDescription: "driver plugin exited"})
		if !sleepCtx(ctx, backoff(attempt, 500*time.Millisecond, 30*time.Second)) {
			return
		}
		attempt++
	}
}

// setDriverHealth records a driver fingerprint in the node, and asks for a
// re-registration when anything the scheduler sees changed.
func (c *Client) setDriverHealth(name string, fp *drivers.Fingerprint) {
	healthy := fp.Health == drivers.HealthStateHealthy
	detected := fp.Health != drivers.HealthStateUndetected
	prefix := "driver." + name
	attrs := map[string]string{}
	for k, v := range fp.Attributes {
		if !strings.HasPrefix(k, "driver.") {
			k = prefix + "." + k
		}
		attrs[k] = v
	}
	if healthy {
		attrs[prefix] = "1"
	}

	c.nodeMu.Lock()
	n := c.node
	old := n.Drivers[name]
	changed := old == nil || old.Healthy != healthy || old.Detected != detected ||
		old.HealthDescription != fp.HealthDescription || !reflect.DeepEqual(old.Attributes, attrs)
	if changed {
		for k := range n.Attributes {
			if k == prefix || strings.HasPrefix(k, prefix+".") {
				delete(n.Attributes, k)
			}
		}
		if healthy {
			for k, v := range attrs {
				n.Attributes[k] = v
			}
		}
		n.Drivers[name] = &structs.DriverInfo{
			Attributes:        attrs,
			Detected:          detected,
			Healthy:           healthy,
			HealthDescription: fp.HealthDescription,
			UpdateTime:        time.Now(),
		}
	}
	c.nodeMu.Unlock()
	if changed {
		c.logger.Info("driver health", "driver", name, "health", fp.Health, "description", fp.HealthDescription)
		select {
		case c.nodeChanged <- struct{}{}:
		default:
		}
	}
}

// followDriverEvents forwards a plugin's task events to the alloc runners
// as "Driver" task events until ctx ends or the stream closes. The returned
// channel is closed when it has stopped.
func (c *Client) followDriverEvents(ctx context.Context, name string, p drivers.DriverPlugin) <-chan struct{} {
	done := make(chan struct{})
	ch, err := p.TaskEvents(ctx)
	if err != nil {
		c.logger.Debug("driver task events unavailable", "driver", name, "error", err)
		close(done)
		return done
	}
	go func() {
		defer close(done)
		for ev := range ch {
			if ev == nil {
				continue
			}
			if ar := c.runner(ev.AllocID); ar != nil {
				ar.DriverEvent(ev.TaskName, ev.Message, ev.Annotations)
			}
		}
	}()
	return done
}
