package builder

import (
	"fmt"

	"github.com/pier-engine/pier/internal/errdefs"
)

// userError is a build error whose text is exactly what the client should
// print (dockerd's wording) while it still carries a kind for the API's
// status code.
type userError struct {
	err  error
	kind error
}

func (e *userError) Error() string   { return e.err.Error() }
func (e *userError) Unwrap() []error { return []error{e.err, e.kind} }

// invalidf is a user error of kind errdefs.ErrInvalidArgument.
func invalidf(format string, a ...any) error {
	return &userError{err: fmt.Errorf(format, a...), kind: errdefs.ErrInvalidArgument}
}
