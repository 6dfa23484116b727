package server

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/hashicorp/raft"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// OperatorEndpoint serves cluster operations.
type OperatorEndpoint struct {
	srv *Server
}

// RaftGetConfiguration returns the Raft configuration as the leader sees it.
func (e *OperatorEndpoint) RaftGetConfiguration(args *structs.GenericRequest, reply *structs.RaftConfigurationResponse) error {
	if done, err := e.srv.forward("Operator.RaftGetConfiguration", args.AllowStale, args, reply); done {
		return err
	}
	f := e.srv.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	_, leaderID := e.srv.raft.LeaderWithID()
	for _, s := range f.Configuration().Servers {
		reply.Servers = append(reply.Servers, &structs.RaftServer{
			ID:           string(s.ID),
			Node:         string(s.ID),
			Address:      string(s.Address),
			Leader:       s.ID == leaderID,
			Voter:        s.Suffrage == raft.Voter,
			RaftProtocol: "3",
		})
	}
	reply.Index = f.Index()
	return nil
}

// RaftRemovePeer removes a server from the Raft configuration.
func (e *OperatorEndpoint) RaftRemovePeer(args *structs.RaftPeerRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("Operator.RaftRemovePeer", false, args, reply); done {
		return err
	}
	if (args.Address == "") == (args.ID == "") {
		return NewCodedError(400, "must specify exactly one of a peer address or a peer ID")
	}
	f := e.srv.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return err
	}
	for _, s := range f.Configuration().Servers {
		if (args.ID != "" && string(s.ID) == args.ID) || (args.Address != "" && string(s.Address) == args.Address) {
			if err := e.srv.raft.RemoveServer(s.ID, 0, 10*time.Second).Error(); err != nil {
				return fmt.Errorf("remove raft peer: %w", err)
			}
			return nil
		}
	}
	return NewCodedError(404, "peer not found in the raft configuration")
}

// snapshotMagic opens every snapshot file nomadish writes.
const snapshotMagic = "nomadish-snapshot-v1\n"

// SnapshotSave writes a point-in-time snapshot of the whole state: a
// header line, the Raft snapshot metadata as one JSON line, then the data.
func (s *Server) SnapshotSave(w io.Writer) error {
	f := s.raft.Snapshot()
	if err := f.Error(); err != nil {
		return fmt.Errorf("take snapshot: %w", err)
	}
	meta, rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("open snapshot: %w", err)
	}
	defer rc.Close()
	if _, err := io.WriteString(w, snapshotMagic); err != nil {
		return err
	}
	if err := json.NewEncoder(w).Encode(meta); err != nil {
		return err
	}
	_, err = io.Copy(w, rc)
	return err
}

// ErrBadSnapshot is returned for a file that is not a nomadish snapshot.
var ErrBadSnapshot = errors.New("not a nomadish snapshot")

// SnapshotRestore replaces the whole cluster state with a snapshot. It
// must run on the leader; the restored state is replicated to the others.
func (s *Server) SnapshotRestore(r io.Reader) error {
	if !s.IsLeader() {
		return NewCodedError(400, "snapshot restore must be sent to the leader")
	}
	br := bufio.NewReader(r)
	magic := make([]byte, len(snapshotMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != snapshotMagic {
		return NewCodedError(400, ErrBadSnapshot.Error())
	}
	line, err := br.ReadBytes('\n')
	if err != nil {
		return NewCodedError(400, ErrBadSnapshot.Error()+": no metadata")
	}
	var meta raft.SnapshotMeta
	if err := json.Unmarshal(line, &meta); err != nil {
		return NewCodedError(400, ErrBadSnapshot.Error()+": "+err.Error())
	}
	if err := s.raft.Restore(&meta, br, 2*time.Minute); err != nil {
		return fmt.Errorf("restore snapshot: %w", err)
	}
	// The broker held evaluations of the old state.
	s.leaderMu.Lock()
	if !s.brokerPaused() {
		s.evalBroker.SetEnabled(true)
		s.blockedEvals.SetEnabled(true)
		s.restoreEvals()
	}
	s.leaderMu.Unlock()
	return nil
}
