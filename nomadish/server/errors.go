package server

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
)

// CodedError is an error with the HTTP status code the API should answer
// with. Its text carries the code as "[404] message" so that it survives
// being forwarded between servers as a plain string.
type CodedError struct {
	Code int
	Msg  string
}

// NewCodedError returns a CodedError.
func NewCodedError(code int, msg string) *CodedError { return &CodedError{Code: code, Msg: msg} }

func (e *CodedError) Error() string { return fmt.Sprintf("[%d] %s", e.Code, e.Msg) }

var codedRe = regexp.MustCompile(`^\[(\d{3})\] (?s:(.*))$`)

// ErrorCode returns the HTTP status and message of an error from an
// endpoint: a CodedError (in process or forwarded) keeps its code,
// anything else is a 500.
func ErrorCode(err error) (int, string) {
	var ce *CodedError
	if errors.As(err, &ce) {
		return ce.Code, ce.Msg
	}
	if m := codedRe.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[1])
		return code, m[2]
	}
	return 500, err.Error()
}
