// Package badinput marks the errors caused by what a user typed or wrote:
// a flag, a parameter, the manifest. The CLI exits with code 2 on them, and
// code that returns one has not started, created or changed anything. It
// imports nothing of blueprint, so every layer can return one.
package badinput

import (
	"errors"
	"fmt"
)

// Error is an error in the user's input.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with a formatted message; %w works.
func Errorf(format string, args ...any) error {
	return &Error{Err: fmt.Errorf(format, args...)}
}

// Is reports whether err is, or wraps, an *Error.
func Is(err error) bool {
	var e *Error
	return errors.As(err, &e)
}
