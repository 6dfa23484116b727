package server

import (
	"context"
	"errors"
	"time"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// maxDequeueWait bounds one Eval.Dequeue long poll.
const maxDequeueWait = 10 * time.Second

// Dequeue hands an evaluation to a scheduler worker on any server.
func (e *EvalEndpoint) Dequeue(args *structs.EvalDequeueRequest, reply *structs.EvalDequeueResponse) error {
	if done, err := e.srv.forward("Eval.Dequeue", false, args, reply); done {
		return err
	}
	wait := args.Timeout
	if wait <= 0 || wait > maxDequeueWait {
		wait = maxDequeueWait
	}
	ctx, cancel := context.WithTimeout(e.srv.ctx, wait)
	defer cancel()
	ev, token, err := e.srv.evalBroker.Dequeue(ctx, args.Schedulers)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil
	}
	if err != nil {
		return err
	}
	reply.Eval, reply.Token = ev, token
	reply.Index = e.srv.State().LatestIndex()
	return nil
}

// Ack finishes an evaluation.
func (e *EvalEndpoint) Ack(args *structs.EvalAckRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("Eval.Ack", false, args, reply); done {
		return err
	}
	return e.srv.evalBroker.Ack(args.EvalID, args.Token)
}

// Nack hands an evaluation back for redelivery.
func (e *EvalEndpoint) Nack(args *structs.EvalAckRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("Eval.Nack", false, args, reply); done {
		return err
	}
	return e.srv.evalBroker.Nack(args.EvalID, args.Token)
}

// Update commits evaluations a scheduler wrote (status, follow-ups).
func (e *EvalEndpoint) Update(args *structs.EvalUpdateRequest, reply *structs.GenericResponse) error {
	if done, err := e.srv.forward("Eval.Update", false, args, reply); done {
		return err
	}
	if len(args.Evals) == 0 {
		return NewCodedError(400, "no evaluations")
	}
	index, err := e.srv.raftApply(structs.EvalUpdateRequestType, args)
	if err != nil {
		return err
	}
	reply.Index = index
	return nil
}
