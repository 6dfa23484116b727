// Package e2e holds end-to-end tests that build the nomadish binary and
// drive real agents: real Raft, real plugin processes, real tasks. They
// carry the e2e build tag and run with `make e2e`.
package e2e
