package server

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"

	"github.com/nomadish/nomadish/nomadish/state"
	"github.com/nomadish/nomadish/nomadish/structs"
)

// fsm applies committed Raft log entries to the state store. Each entry is
// one MessageType byte followed by a msgpack request; apply decodes it and
// calls one state store method.
type fsm struct {
	logger hclog.Logger

	mu    sync.RWMutex
	state *state.StateStore

	// onEvals is called after evaluations are committed, from the Raft
	// apply goroutine; the leader uses it to feed its eval broker.
	onEvals func(evals []*structs.Evaluation)
	// onAllocsUpdated is called after allocations change on nodes, to
	// unblock evaluations waiting for capacity.
	onAllocsUpdated func(allocs []*structs.Allocation)
	// events receives the state changes of every entry, for the event stream.
	events *EventBroker
	// timetable records when entries were appended, for garbage collection.
	timetable *timeTable

	// handoff holds the requests this server proposed (see
	// Server.raftApplyHanded) until its Raft applies their entries.
	handoff handoff
	// handed is the proposed request of the entry being applied, for
	// decodeEntry; only the apply goroutine touches it.
	handed interface{}
	// handedApplied counts the entries applied from handed requests.
	handedApplied atomic.Uint64
}

// handoff lets the leader's FSM apply a request it proposed without
// decoding it again. The leader's Raft hands its FSM the very slice it was
// given to apply, so the entry's first byte identifies the request that
// was encoded into it. Followers, and any server replaying its log, find
// nothing here and decode the entry as usual; the request must therefore
// hold nothing its encoding loses, which TestServer_HandedEntriesMatchTheLog
// checks against a replay.
type handoff struct {
	mu sync.Mutex
	m  map[*byte]handedMsg
}

type handedMsg struct {
	t   structs.MessageType
	msg interface{}
}

// handable lists the message types whose apply functions read their
// request through decodeEntry.
var handable = map[structs.MessageType]bool{
	structs.ApplyPlanResultsRequestType: true,
}

// offer keeps msg for the entry data until withdraw is called.
func (h *handoff) offer(data []byte, t structs.MessageType, msg interface{}) (withdraw func()) {
	key := unsafe.SliceData(data)
	h.mu.Lock()
	if h.m == nil {
		h.m = map[*byte]handedMsg{}
	}
	h.m[key] = handedMsg{t: t, msg: msg}
	h.mu.Unlock()
	return func() {
		h.mu.Lock()
		delete(h.m, key)
		h.mu.Unlock()
	}
}

// take returns, once, the request offered for the entry data.
func (h *handoff) take(data []byte) (handedMsg, bool) {
	if len(data) == 0 {
		return handedMsg{}, false
	}
	key := unsafe.SliceData(data)
	h.mu.Lock()
	m, ok := h.m[key]
	if ok {
		delete(h.m, key)
	}
	h.mu.Unlock()
	return m, ok
}

// decodeEntry fills req with the request of the entry being applied: the
// proposed request itself when this server handed it over, else decoded
// from buf. The handed request's objects become the state's.
func decodeEntry[T any](f *fsm, buf []byte, req *T) error {
	if f.handed != nil {
		h, ok := f.handed.(*T)
		if !ok {
			panic(fmt.Sprintf("fsm: handed a %T where a %T was expected", f.handed, req))
		}
		*req = *h
		return nil
	}
	return decodeMsg(buf, req)
}

func newFSM(logger hclog.Logger) *fsm {
	return &fsm{logger: logger.Named("fsm"), state: state.NewStateStore()}
}

// State returns the current state store.
func (f *fsm) State() *state.StateStore {
	f.mu.RLock()
	defer f.mu.RUnlock()
	return f.state
}

type applyFunc func(f *fsm, index uint64, buf []byte) interface{}

var applyTable = map[structs.MessageType]applyFunc{
	structs.NodeRegisterRequestType:          (*fsm).applyNodeRegister,
	structs.NodeUpdateStatusRequestType:      (*fsm).applyNodeStatus,
	structs.JobRegisterRequestType:           (*fsm).applyJobRegister,
	structs.JobDeregisterRequestType:         (*fsm).applyJobDeregister,
	structs.EvalUpdateRequestType:            (*fsm).applyEvalUpdate,
	structs.AllocClientUpdateRequestType:     (*fsm).applyAllocClientUpdate,
	structs.AllocClientStatusRequestType:     (*fsm).applyAllocClientStatus,
	structs.ApplyPlanResultsRequestType:      (*fsm).applyPlanResults,
	structs.NodeUpdateEligibilityRequestType: (*fsm).applyNodeEligibility,
	structs.NodeDeregisterRequestType:        (*fsm).applyNodeDeregister,
}

// registerApply adds a message type's apply function; files that add
// message types call it from init.
func registerApply(t structs.MessageType, fn applyFunc) {
	if _, dup := applyTable[t]; dup {
		panic(fmt.Sprintf("fsm: message type %d registered twice", t))
	}
	applyTable[t] = fn
}

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) interface{} {
	if l.Type != raft.LogCommand || len(l.Data) == 0 {
		return nil
	}
	f.timetable.witness(l.Index, l.AppendedAt)
	if h, ok := f.handoff.take(l.Data); ok {
		f.handed = h.msg
		f.handedApplied.Add(1)
		defer func() { f.handed = nil }()
		return applyTable[h.t](f, l.Index, nil)
	}
	t, msg, release, err := openMsg(l.Data)
	if err != nil {
		panic(fmt.Sprintf("fsm: entry at index %d: %v", l.Index, err))
	}
	defer release()
	ignoreUnknown := t&structs.IgnoreUnknownTypeFlag != 0
	t &^= structs.IgnoreUnknownTypeFlag
	fn, ok := applyTable[t]
	if !ok {
		if ignoreUnknown {
			f.logger.Warn("ignoring unknown message type", "type", t)
			return nil
		}
		panic(fmt.Sprintf("fsm: unknown message type %d at index %d", t, l.Index))
	}
	return fn(f, l.Index, msg)
}

func (f *fsm) applyNodeRegister(index uint64, buf []byte) interface{} {
	var req structs.NodeRegisterRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().UpsertNode(index, req.Node); err != nil {
		return err
	}
	f.publishEvents(index, func() []structs.Event {
		n, _ := f.State().NodeByID(nil, req.Node.ID)
		if n == nil {
			return nil
		}
		return []structs.Event{nodeEvent("NodeRegistration", n)}
	})
	// A node that (re)joins may have room for blocked work.
	if f.onAllocsUpdated != nil {
		f.onAllocsUpdated(nil)
	}
	return nil
}

// nodeStatusUpdate is the log entry for a node status change.
type nodeStatusUpdate struct {
	NodeID    string
	Status    string
	UpdatedAt int64
	Event     *structs.NodeEvent
	Evals     []*structs.Evaluation
}

func (f *fsm) applyNodeStatus(index uint64, buf []byte) interface{} {
	var req nodeStatusUpdate
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	st := f.State()
	if err := st.UpdateNodeStatus(index, req.NodeID, req.Status, req.UpdatedAt, req.Event); err != nil {
		return err
	}
	f.removeDownNodeServices(index, req.NodeID, req.Status)
	if len(req.Evals) > 0 {
		if err := st.UpsertEvals(index, req.Evals); err != nil {
			return err
		}
	}
	evals := f.evalsCommitted(req.Evals)
	f.publishEvents(index, func() []structs.Event {
		var out []structs.Event
		if n, _ := st.NodeByID(nil, req.NodeID); n != nil {
			out = append(out, nodeEvent("NodeEvent", n))
		}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	if req.Status == structs.NodeStatusReady && f.onAllocsUpdated != nil {
		f.onAllocsUpdated(nil)
	}
	return nil
}

// nodeEligibilityUpdate is the log entry for an eligibility change.
type nodeEligibilityUpdate struct {
	NodeID      string
	Eligibility string
}

func (f *fsm) applyNodeEligibility(index uint64, buf []byte) interface{} {
	var req nodeEligibilityUpdate
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().UpdateNodeEligibility(index, req.NodeID, req.Eligibility); err != nil {
		return err
	}
	if req.Eligibility == structs.NodeSchedulingEligible && f.onAllocsUpdated != nil {
		f.onAllocsUpdated(nil)
	}
	return nil
}

// nodeDeregister is the log entry for removing nodes.
type nodeDeregister struct {
	NodeIDs []string
}

func (f *fsm) applyNodeDeregister(index uint64, buf []byte) interface{} {
	var req nodeDeregister
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	return f.State().DeleteNode(index, req.NodeIDs)
}

func (f *fsm) applyJobRegister(index uint64, buf []byte) interface{} {
	var req structs.JobRegisterRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().RegisterJob(index, req.Job, req.Eval); err != nil {
		return err
	}
	var evals []*structs.Evaluation
	if req.Eval != nil {
		evals = f.evalsCommitted([]*structs.Evaluation{req.Eval})
	}
	f.publishEvents(index, func() []structs.Event {
		var out []structs.Event
		if j, _ := f.State().JobByID(nil, req.Job.Namespace, req.Job.ID); j != nil {
			out = append(out, jobEvent("JobRegistered", j))
		}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	return nil
}

func (f *fsm) applyJobDeregister(index uint64, buf []byte) interface{} {
	var req structs.JobDeregisterRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().DeregisterJob(index, req.Namespace, req.JobID, req.Purge, req.Eval); err != nil {
		return err
	}
	var evals []*structs.Evaluation
	if req.Eval != nil {
		evals = f.evalsCommitted([]*structs.Evaluation{req.Eval})
	}
	f.publishEvents(index, func() []structs.Event {
		j, _ := f.State().JobByID(nil, req.Namespace, req.JobID)
		if j == nil {
			j = &structs.Job{ID: req.JobID, Namespace: req.Namespace}
		}
		out := []structs.Event{jobEvent("JobDeregistered", j)}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	return nil
}

func (f *fsm) applyEvalUpdate(index uint64, buf []byte) interface{} {
	var req structs.EvalUpdateRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	if err := f.State().UpsertEvals(index, req.Evals); err != nil {
		return err
	}
	evals := f.evalsCommitted(req.Evals)
	f.publishEvents(index, func() []structs.Event {
		out := make([]structs.Event, 0, len(evals))
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	return nil
}

func (f *fsm) applyAllocClientUpdate(index uint64, buf []byte) interface{} {
	var req structs.AllocUpdateRequest
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	return f.applyClientReports(index, structs.ClientStatusesOf(req.Alloc), req.Evals)
}

// applyAllocClientStatus applies a batch of client reports.
func (f *fsm) applyAllocClientStatus(index uint64, buf []byte) interface{} {
	var req structs.AllocClientStatusUpdate
	if err := decodeMsg(buf, &req); err != nil {
		return err
	}
	return f.applyClientReports(index, req.Allocs, req.Evals)
}

// applyClientReports stores what clients report and the evaluations the
// reports caused.
func (f *fsm) applyClientReports(index uint64, reports []structs.AllocClientStatus, evals []*structs.Evaluation) interface{} {
	st := f.State()
	stored, err := st.ApplyClientStatus(index, reports)
	if err != nil {
		return err
	}
	f.removeTerminalServices(index, stored)
	if len(evals) > 0 {
		if err := st.UpsertEvals(index, evals); err != nil {
			return err
		}
	}
	committed := f.evalsCommitted(evals)
	f.publishEventsLazy(index, func() []structs.Event {
		out := make([]structs.Event, 0, len(stored)+len(committed))
		for _, a := range stored {
			out = append(out, allocEvent("AllocationUpdated", a))
		}
		for _, e := range committed {
			out = append(out, evalEvent(e))
		}
		return out
	})
	if f.onAllocsUpdated != nil && len(stored) > 0 {
		f.onAllocsUpdated(stored)
	}
	return nil
}

func (f *fsm) applyPlanResults(index uint64, buf []byte) interface{} {
	var req structs.ApplyPlanResultsRequest
	if err := decodeEntry(f, buf, &req); err != nil {
		return err
	}
	stored, err := f.State().ApplyPlanResults(index, &req)
	if err != nil {
		return err
	}
	evals := f.evalsCommitted(req.Evals)
	f.publishEventsLazy(index, func() []structs.Event {
		out := make([]structs.Event, 0, len(stored)+len(evals))
		for _, a := range stored {
			out = append(out, allocEvent("PlanResult", a))
		}
		for _, e := range evals {
			out = append(out, evalEvent(e))
		}
		return out
	})
	if len(req.AllocsStopped) > 0 && f.onAllocsUpdated != nil {
		f.onAllocsUpdated(nil)
	}
	return nil
}

// evalsCommitted hands committed evaluations to the leader's hook as
// stored, with their Raft indexes: a worker on another server waits for
// its state to reach the eval's ModifyIndex before scheduling it.
func (f *fsm) evalsCommitted(evals []*structs.Evaluation) []*structs.Evaluation {
	if len(evals) == 0 {
		return nil
	}
	st := f.State()
	stored := make([]*structs.Evaluation, 0, len(evals))
	for _, e := range evals {
		if se, err := st.EvalByID(nil, e.ID); err == nil && se != nil {
			stored = append(stored, se)
		}
	}
	if f.onEvals != nil {
		f.onEvals(stored)
	}
	return stored
}

// Snapshot implements raft.FSM.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	return &fsmSnapshot{state: f.State().Snapshot()}, nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st, err := state.Restore(rc, msgpackHandle)
	if err != nil {
		return err
	}
	f.mu.Lock()
	old := f.state
	f.state = st
	f.mu.Unlock()
	old.Abandon()
	return nil
}

type fsmSnapshot struct {
	state *state.StateStore
}

func (s *fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := s.state.Persist(sink, msgpackHandle); err != nil {
		sink.Cancel()
		return err
	}
	return sink.Close()
}

func (s *fsmSnapshot) Release() {}
