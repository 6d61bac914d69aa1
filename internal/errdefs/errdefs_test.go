package errdefs

import (
	"errors"
	"fmt"
	"testing"
)

func TestNewKeepsTextAndKind(t *testing.T) {
	err := Newf(ErrNotFound, "Could not find the file %s in container %s", "/x", "c1")
	if got, want := err.Error(), "Could not find the file /x in container c1"; got != want {
		t.Errorf("text = %q, want %q", got, want)
	}
	wrapped := fmt.Errorf("cp: %w", err)
	if !errors.Is(wrapped, ErrNotFound) || errors.Is(wrapped, ErrInvalidArgument) {
		t.Errorf("kind of %v lost or wrong", wrapped)
	}
	if e := New(ErrConflict, "busy"); e.Error() != "busy" || !errors.Is(e, ErrConflict) {
		t.Errorf("New = %q, conflict %v", e, errors.Is(e, ErrConflict))
	}
}
