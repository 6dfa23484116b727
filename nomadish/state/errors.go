package state

import "errors"

// ErrNotFound is returned when a write names an object that does not exist.
var ErrNotFound = errors.New("not found")
