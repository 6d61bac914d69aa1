package monitor

import (
	"context"

	"github.com/pier-engine/pier/internal/ociruntime"
)

// containerRuntime is what a monitor asks of the container's runtime:
// ociruntime.CLI runs its commands (runc, crun, pier-runtime's CLI), and
// libRuntime drives pier-runtime in this process.
type containerRuntime interface {
	Create(ctx context.Context, id string, o ociruntime.CreateOpts) error
	Start(ctx context.Context, id string) error
	Delete(ctx context.Context, id string, force bool) error
}

var _ containerRuntime = ociruntime.CLI{}
