// Package errdefs defines the kinds of error pier's layers return, so that
// callers branch with errors.Is and each edge (CLI exit code, HTTP status)
// translates a kind in exactly one place.
package errdefs

import "errors"

// Error kinds. Wrap them with the object's id: fmt.Errorf("container %s: %w", id, ErrNotFound).
var (
	ErrNotFound        = errors.New("not found")
	ErrAlreadyExists   = errors.New("already exists")
	ErrInvalidArgument = errors.New("invalid argument")
	ErrNotImplemented  = errors.New("not supported")
	ErrConflict        = errors.New("conflict")
	ErrNotRunning      = errors.New("not running")
)
