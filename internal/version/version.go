// Package version is pier's version and the commit it was built from, for
// all its binaries. The Makefile stamps both here, once:
//
//	go build -ldflags '-X github.com/pier-engine/pier/internal/version.Version=v1.2 ...'
//
// It is a leaf: it imports nothing.
package version

// Version is pier's version; "0.1.0" when the build does not set it.
var Version = "0.1.0"

// GitCommit is the commit pier was built from, or "" when the build does
// not set it.
var GitCommit = ""

// APIVersion is the Docker Engine API version pierd serves at most and
// the one the pier CLI speaks first, without asking the daemon (a CLI
// and its pierd come from the same build).
const APIVersion = "1.51"
