//go:build monitorwatch

package monitor

import (
	"context"
	"errors"

	"github.com/pier-engine/pier/internal/ociruntime"
)

// haveLibrary is false in the watch binary (pier-monitor-watch, built with
// -tags monitorwatch): it leaves out pier-runtime's library, whose package
// initialisation alone keeps ~0.2 MB of a process's heap dirty, and its
// delete re-executes the full monitor instead (finish.go).
const haveLibrary = false

var errNoLibrary = errors.New("pier-runtime's library is not in the watch binary")

// libRuntime stands in for pier-runtime's library; it is never called:
// watch hands the delete to the full binary first.
type libRuntime struct{}

func newLibRuntime(root, exe string) (libRuntime, error) { return libRuntime{}, errNoLibrary }

func (libRuntime) Create(context.Context, string, ociruntime.CreateOpts) error { return errNoLibrary }
func (libRuntime) Start(context.Context, string) error                         { return errNoLibrary }
func (libRuntime) Delete(context.Context, string, bool) error                  { return errNoLibrary }

// warmUp has nothing to warm in the watch binary, which is never parked.
func warmUp() {}
