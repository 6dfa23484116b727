package allocrunner

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nomadish/nomadish/drivers"
	"github.com/nomadish/nomadish/nomadish/client/network"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// Network makes and removes allocations' network namespaces;
// *network.Manager implements it. The runner calls Setup before any task
// starts (again after a client restart, when the existing namespace and
// address must be kept) and Teardown once every task is dead, both from
// its Run goroutine.
type Network interface {
	Setup(ctx context.Context, req *network.Request) (*network.Status, error)
	Teardown(ctx context.Context, allocID string) error
	Status(allocID string) (*network.Status, bool)
}

// networkMode is the group's network mode; host when it has no network
// block or leaves the mode out.
func (ar *AllocRunner) networkMode() string {
	return ar.cfg.Alloc.GroupNetworkMode()
}

// setupNetwork gives a bridge- or none-mode group its namespace. Every
// task's driver must be able to join it; a driver that must make the
// namespace itself (docker) is asked to, and the client configures it.
func (ar *AllocRunner) setupNetwork(ctx context.Context) error {
	mode := ar.networkMode()
	switch mode {
	case network.ModeHost:
		return nil
	case network.ModeBridge, network.ModeNone:
	default:
		return fmt.Errorf("network mode %q is not supported by this client (use %q, %q or %q)", mode, network.ModeHost, network.ModeBridge, network.ModeNone)
	}
	if ar.cfg.Network == nil {
		return fmt.Errorf("network mode %q: this client cannot make network namespaces", mode)
	}
	id := ar.cfg.Alloc.ID
	maker, makerName, err := ar.networkDrivers(ctx)
	if err != nil {
		return err
	}
	req := &network.Request{AllocID: id, Mode: mode, Ports: ar.portMappings()}
	var made *drivers.NetworkIsolationSpec
	if maker != nil {
		if st, ok := ar.cfg.Network.Status(id); ok && st.Driver == makerName {
			// Restored: the record names the namespace the driver made.
			req.Driver, req.Labels = st.Driver, st.Labels
		} else {
			spec, err := maker.CreateNetwork(ctx, id)
			if err != nil {
				return fmt.Errorf("driver %q: create network namespace: %w", makerName, err)
			}
			made = spec
			req.NetnsPath, req.Driver, req.Labels = spec.Path, makerName, spec.Labels
		}
	}
	st, err := ar.cfg.Network.Setup(ctx, req)
	if err != nil {
		if made != nil {
			if derr := maker.DestroyNetwork(ctx, id, made); derr != nil {
				ar.logger.Warn("destroy driver network after failed setup", "driver", makerName, "error", derr)
			}
		}
		return err
	}
	ar.logger.Debug("network set up", "mode", mode, "address", st.Address, "netns", st.Path)
	ar.mu.Lock()
	ar.netStatus = st
	ar.version++
	ar.mu.Unlock()
	return nil
}

// networkReady calls the NetworkHook once the group's namespace is set
// up; the func it returns runs what the hook returned, at most once.
func (ar *AllocRunner) networkReady() func() {
	ar.mu.Lock()
	st := ar.netStatus
	ar.mu.Unlock()
	if ar.cfg.NetworkHook == nil || st == nil {
		return func() {}
	}
	done := ar.cfg.NetworkHook(ar, st)
	if done == nil {
		return func() {}
	}
	return sync.OnceFunc(done)
}

// networkDrivers checks that every task's driver can join the group's
// namespace and returns the one that must make it, if any.
func (ar *AllocRunner) networkDrivers(ctx context.Context) (drivers.NetworkManager, string, error) {
	var maker drivers.NetworkManager
	var makerName string
	for _, name := range ar.order {
		t := ar.tasks[name].task
		drv, err := ar.cfg.Drivers.Driver(ctx, t.Driver)
		if err != nil {
			return nil, "", fmt.Errorf("task %q: %w", name, err)
		}
		caps, err := drv.Capabilities(ctx)
		if err != nil {
			return nil, "", fmt.Errorf("task %q: driver %q capabilities: %w", name, t.Driver, err)
		}
		if !caps.SupportsNetIsolation(drivers.NetIsolationModeGroup) {
			return nil, "", fmt.Errorf("task %q: driver %q cannot join the group's network namespace (it supports network isolation %v)", name, t.Driver, caps.NetIsolationModes)
		}
		if !caps.MustInitiateNetwork || t.Driver == makerName {
			continue
		}
		if maker != nil {
			return nil, "", fmt.Errorf("task %q: drivers %q and %q both need to make the group's network namespace; a group can hold tasks of only one of them", name, makerName, t.Driver)
		}
		nm, ok := drv.(drivers.NetworkManager)
		if !ok {
			return nil, "", fmt.Errorf("task %q: driver %q must make the network namespace but cannot", name, t.Driver)
		}
		maker, makerName = nm, t.Driver
	}
	return maker, makerName, nil
}

// portMappings are the group's allocated ports, forwarded into the
// namespace.
func (ar *AllocRunner) portMappings() []network.PortMapping {
	r := ar.cfg.Alloc.AllocatedResources
	if r == nil {
		return nil
	}
	var out []network.PortMapping
	for _, p := range r.Shared.Ports {
		out = append(out, network.PortMapping{Label: p.Label, HostPort: p.Value, To: p.To})
	}
	return out
}

// teardownNetwork removes the namespace once every task is dead, and has
// the driver that made it destroy its part. A failure is logged: the
// network's record stays and the client's next start-up cleanup retries.
func (ar *AllocRunner) teardownNetwork(ctx context.Context) {
	if ar.networkMode() == network.ModeHost || ar.cfg.Network == nil {
		return
	}
	id := ar.cfg.Alloc.ID
	st, ok := ar.cfg.Network.Status(id)
	if err := ar.cfg.Network.Teardown(ctx, id); err != nil {
		ar.logger.Error("tear down network", "error", err)
		return
	}
	if ok && st.Driver != "" {
		if err := DestroyDriverNetwork(ctx, ar.cfg.Drivers, st); err != nil {
			ar.logger.Error("destroy driver network", "driver", st.Driver, "error", err)
		}
	}
}

// DestroyDriverNetwork has the driver that made a network namespace
// destroy it.
func DestroyDriverNetwork(ctx context.Context, ds Drivers, st *network.Status) error {
	drv, err := ds.Driver(ctx, st.Driver)
	if err != nil {
		return err
	}
	nm, ok := drv.(drivers.NetworkManager)
	if !ok {
		return errors.New("the driver cannot destroy network namespaces")
	}
	return nm.DestroyNetwork(ctx, st.AllocID, &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Labels: st.Labels})
}

// networkIsolation is what a task's driver is told to join; nil in host
// mode. It fails when the group's namespace should exist but does not.
func (ar *AllocRunner) networkIsolation() (*drivers.NetworkIsolationSpec, error) {
	if ar.networkMode() == network.ModeHost {
		return nil, nil
	}
	ar.mu.Lock()
	st := ar.netStatus
	ar.mu.Unlock()
	if st == nil {
		return nil, errors.New("the allocation's network namespace is not set up")
	}
	return &drivers.NetworkIsolationSpec{Mode: drivers.NetIsolationModeGroup, Path: st.Path, Labels: st.Labels}, nil
}

// allocNetworkStatusLocked is the network reported with the allocation.
func (ar *AllocRunner) allocNetworkStatusLocked() *structs.AllocNetworkStatus {
	if ar.netStatus == nil || ar.netStatus.Address == "" {
		return nil
	}
	return &structs.AllocNetworkStatus{InterfaceName: ar.netStatus.Interface, Address: ar.netStatus.Address}
}

// withNetworkLocked returns a with the allocation's own network status,
// which the server's copy may not carry yet.
func (ar *AllocRunner) withNetworkLocked(a *structs.Allocation) *structs.Allocation {
	ns := ar.allocNetworkStatusLocked()
	if ns == nil || a == nil {
		return a
	}
	c := *a
	c.NetworkStatus = ns
	return &c
}
