//go:build linux

// Package buildkit is pier's BuildKit, run by pier-buildkitd (a process
// of its own that pierd starts on the first build and proxies to; see
// internal/buildkitd), shaped as dockerd's builder-next: BuildKit's
// control API (served on /grpc), its session manager (/session), a
// solver with the Dockerfile frontend built in, and a worker whose RUN
// steps run through pier-runtime (BuildKit's runc executor drives any
// runc-compatible binary).
//
// The worker keeps BuildKit's own overlay snapshotter, content store and
// cache database under <pierd root>/buildkit, so the build cache survives
// restarts. A build's result reaches pier's image store through the
// "moby" exporter (exporter.go), which is what buildx's docker driver
// asks for on --load: pierd copies the image's blobs from BuildKit's
// content store straight into internal/image, with no tar in between
// (store.go); FROM reads pier's images over pierd's store socket
// (registry.go).
//
// pier-buildkitd starts BuildKit at once (Lazy); pierd starts
// pier-buildkitd only for the first call that needs it.
package buildkit
