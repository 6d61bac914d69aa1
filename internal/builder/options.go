package builder

import (
	"io"

	"github.com/moby/moby/api/types/container"
)

// Options are the query parameters of POST /build.
type Options struct {
	Tags        []string
	Dockerfile  string // path inside the context; "Dockerfile" when empty
	BuildArgs   map[string]*string
	Labels      map[string]string
	Target      string
	NoCache     bool
	Pull        bool
	Remove      bool // remove intermediate containers after a successful step
	ForceRemove bool // remove them always
	Quiet       bool
	CacheFrom   []string
	Platform    string
	// ContextSession names a synced context's session (pier's CLI, POST
	// /build/context): the body carries only the files it asked for.
	ContextSession string
	// Host carries the run-time settings for RUN containers: network
	// mode, extra hosts, shm size, memory, cpu and ulimits.
	Host container.HostConfig

	// Out gets the build's text (steps, command output); Aux gets the
	// image id at the end. Both may be nil.
	Out io.Writer
	Aux func(id string)
}
