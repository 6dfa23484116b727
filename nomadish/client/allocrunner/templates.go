package allocrunner

import (
	"context"
	"fmt"
	"sync"

	"github.com/nomadish/nomadish/nomadish/client/taskenv"
	"github.com/nomadish/nomadish/nomadish/client/template"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// templateState is what a task runner needs to render its templates again
// when the services they read change.
type templateState struct {
	// renderMu serializes renders, so two never write the same files.
	renderMu    sync.Mutex
	mu          sync.Mutex
	paths       template.Paths
	env         map[string]string
	interpolate func(string) string
	services    []string
	watching    bool
	// dirs and hostEnv rebuild the environment after an in-place update.
	dirs    taskenv.Dirs
	hostEnv bool
}

// renderTemplates renders the task's templates with service lookups and,
// the first time they read services, starts the watcher that renders them
// again as those services change. It returns the variables to add to the
// task's environment.
func (tr *taskRunner) renderTemplates(ctx context.Context, p template.Paths, in taskenv.Input, env *taskenv.Env) (map[string]string, error) {
	ts := &tr.templates
	ts.renderMu.Lock()
	defer ts.renderMu.Unlock()
	vars, interpolate := env.Map(), env.ReplaceEnv
	res, err := template.RenderWithOptions(tr.task.Templates, p, vars, interpolate, template.Options{Services: tr.serviceLookup(ctx)})
	if err != nil {
		return nil, err
	}
	ts.mu.Lock()
	ts.paths, ts.env, ts.interpolate, ts.services = p, vars, interpolate, res.Services
	ts.dirs, ts.hostEnv = in.Dirs, in.HostEnv
	start := len(res.Services) > 0 && !ts.watching && tr.ar.cfg.Services != nil
	if start {
		ts.watching = true
	}
	ts.mu.Unlock()
	if start {
		tr.ar.wg.Add(1)
		go func() {
			defer tr.ar.wg.Done()
			tr.watchTemplates(ctx)
		}()
	}
	return res.Env, nil
}

func (tr *taskRunner) serviceLookup(ctx context.Context) template.ServiceLookup {
	cl := tr.ar.cfg.Services
	if cl == nil {
		return nil
	}
	ns := tr.ar.cfg.Alloc.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	return func(name string) ([]*structs.ServiceRegistration, error) {
		regs, _, err := cl.ServicesByName(ctx, ns, name, 0)
		return regs, err
	}
}

// watchTemplates waits for any service registration to change, renders
// the templates again, and applies the change mode of those whose content
// changed. It returns when the task runner ends or ctx does.
func (tr *taskRunner) watchTemplates(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-tr.doneCh:
			cancel()
		case <-ctx.Done():
		}
	}()
	cl := tr.ar.cfg.Services
	ns := tr.ar.cfg.Alloc.Namespace
	if ns == "" {
		ns = structs.DefaultNamespace
	}
	var index uint64
	failures := 0
	for {
		ts := &tr.templates
		ts.mu.Lock()
		names := ts.services
		ts.mu.Unlock()
		if len(names) == 0 {
			return
		}
		_, next, err := cl.ServicesByName(ctx, ns, names[0], index)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			tr.logger.Warn("watch services for templates", "error", err)
			if !sleepCtx(ctx, nil, retryDelay(failures)) {
				return
			}
			failures++
			continue
		}
		failures = 0
		if next == index {
			continue
		}
		index = next
		if err := tr.rerender(ctx); err != nil {
			tr.logger.Warn("re-render templates", "error", err)
		}
	}
}

// refreshTemplates renders the task's templates again with the
// environment of alloc, a newer version of the allocation that an in-place
// update brought (for example new meta), and applies the change modes of
// those whose content changed. The running process keeps the environment
// it was started with.
func (tr *taskRunner) refreshTemplates(ctx context.Context, alloc *structs.Allocation) error {
	ts := &tr.templates
	ts.mu.Lock()
	rendered, dirs, hostEnv := ts.paths.TaskDir != "", ts.dirs, ts.hostEnv
	ts.mu.Unlock()
	if !rendered {
		return nil // the first render, at start, reads the newest allocation
	}
	env := taskenv.Build(taskenv.Input{
		Node:    tr.ar.cfg.Node(),
		Region:  tr.ar.cfg.Region,
		Alloc:   alloc,
		Task:    tr.taskFor(alloc),
		Dirs:    dirs,
		HostEnv: hostEnv,
	})
	ts.mu.Lock()
	ts.env, ts.interpolate = env.Map(), env.ReplaceEnv
	ts.mu.Unlock()
	return tr.rerender(ctx)
}

// rerender renders the templates again and applies the change modes.
func (tr *taskRunner) rerender(ctx context.Context) error {
	ts := &tr.templates
	ts.renderMu.Lock()
	defer ts.renderMu.Unlock()
	ts.mu.Lock()
	p, env, interp := ts.paths, ts.env, ts.interpolate
	ts.mu.Unlock()
	res, err := template.RenderWithOptions(tr.task.Templates, p, env, interp, template.Options{Services: tr.serviceLookup(ctx)})
	if err != nil {
		return err
	}
	ts.mu.Lock()
	ts.services = res.Services
	ts.mu.Unlock()
	if len(res.Changed) == 0 {
		return nil
	}
	restart, signals := changeActions(res.Changed)
	tr.ar.mu.Lock()
	running := tr.liveDrv != nil
	tr.ar.mu.Unlock()
	if !running {
		return nil
	}
	if restart {
		ev := event(structs.TaskRestartSignal, "Template with change_mode restart re-rendered")
		ev.RestartReason = ev.Message
		tr.requestRestart(ev)
		return nil
	}
	for _, sig := range signals {
		if err := tr.ar.SignalTask(ctx, tr.task.Name, sig); err != nil {
			return fmt.Errorf("signal %s: %w", sig, err)
		}
	}
	return nil
}

// changeActions merges the change modes of re-rendered templates: one
// restart wins over signals; each distinct signal is sent once.
func changeActions(changed []*structs.Template) (restart bool, signals []string) {
	seen := map[string]bool{}
	for _, t := range changed {
		switch t.ChangeMode {
		case "", "restart":
			restart = true
		case "signal":
			sig := t.ChangeSignal
			if sig == "" {
				sig = "SIGHUP"
			}
			if !seen[sig] {
				seen[sig] = true
				signals = append(signals, sig)
			}
		}
	}
	if restart {
		return true, nil
	}
	return false, signals
}
