// Package errdefs defines the kinds of error pier's layers return, so that
// callers branch with errors.Is and each edge (CLI exit code, HTTP status)
// translates a kind in exactly one place.
package errdefs

import (
	"errors"
	"fmt"
)

// Error kinds. Wrap them with the object's id: fmt.Errorf("container %s: %w", id, ErrNotFound).
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrNotImplemented  = errors.New("not supported")
	ErrConflict        = errors.New("conflict")
	ErrNotRunning      = errors.New("not running")
	// ErrUnauthorized: a registry refused the credentials.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrTooLarge: a request body over its limit.
	ErrTooLarge = errors.New("request body too large")
)

// New returns an error whose text is exactly msg while errors.Is still
// finds kind. It is for messages whose wording is someone else's
// contract: dockerd's, which the docker CLI prints as it is and scripts
// match, where wrapping would append ": invalid argument".
func New(kind error, msg string) error { return &kindError{msg: msg, kind: kind} }

// Newf is New with a format.
func Newf(kind error, format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: kind}
}

type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }
