package drivertest

import (
	"errors"

	"github.com/nomadish/nomadish/drivers"
)

func errorsIsNotFound(err error) bool { return errors.Is(err, drivers.ErrTaskNotFound) }
