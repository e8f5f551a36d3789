package pipeline

import (
	"errors"
	"fmt"
)

// InputError marks an error caused by what a user typed or wrote (a flag, a
// parameter, the manifest). Commands exit with code 2 on it, and code that
// returns one has not started, created or changed anything.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Inputf returns an *InputError with a formatted message; %w works.
func Inputf(format string, args ...any) error {
	return &InputError{Err: fmt.Errorf(format, args...)}
}

// IsInput reports whether err is, or wraps, an *InputError.
func IsInput(err error) bool {
	var ie *InputError
	return errors.As(err, &ie)
}
