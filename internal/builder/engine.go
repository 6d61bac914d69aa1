package builder

import (
	"context"
	"fmt"
	"io"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/moby/api/types/container"
)

// Engine is what a build needs from the container engine; pierd's daemon
// implements it (daemon.BuildEngine). Its methods use no type of this
// package, so the engine need not import the builder. Ids are the
// engine's. A container made by Create or Mount lives until Remove; the
// builder removes each one it made, on success and failure alike.
type Engine interface {
	// Image returns the id and config of the image ref names (a name or
	// an id), pulling it when it is missing or pull is set; platform is
	// os/arch[/variant], "" for the engine's own.
	Image(ctx context.Context, ref string, pull bool, platform string) (string, *v1.ConfigFile, error)
	// Create makes a stopped container for a RUN step.
	Create(ctx context.Context, cfg *container.Config, host *container.HostConfig) (string, error)
	// Start runs container id to its end, writing its output to stdout and
	// stderr as it comes, and returns its exit code. Cancelling ctx kills
	// it.
	Start(ctx context.Context, id string, stdout, stderr io.Writer) (int, error)
	// Mount makes a writable layer on image ("" for scratch) and mounts it
	// on a host directory it returns, for COPY, ADD and WORKDIR to change,
	// or for COPY --from to read.
	Mount(ctx context.Context, image string) (id, dir string, err error)
	// Commit stores an image of parent ("" for none) plus the writable
	// layer of container ("" for a metadata-only step) with config cfg,
	// whose last history entry describes the step; it sets that entry's
	// EmptyLayer when the layer holds no change, and fills in RootFS.
	Commit(ctx context.Context, parent, container string, cfg *v1.ConfigFile) (string, error)
	// Remove deletes a container made by Create or Mount and its layer.
	Remove(ctx context.Context, id string) error
	// Tag points ref at image id.
	Tag(ctx context.Context, id, ref string) error
	// Fetch downloads url (ADD of a URL) into w and returns its
	// Last-Modified time, zero when unknown.
	Fetch(ctx context.Context, url string, w io.Writer) (time.Time, error)
}

// ExitError is a RUN step whose command failed.
type ExitError struct {
	Cmd  []string
	Code int
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("The command '%s' returned a non-zero code: %d", joinCmd(e.Cmd), e.Code)
}
