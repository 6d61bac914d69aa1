//go:build linux

// Package buildkit embeds BuildKit in pierd, as dockerd's builder-next
// does: BuildKit's control API (served on /grpc), its session manager
// (/session), a solver with the Dockerfile frontend built in, and a
// worker whose RUN steps run through pier-runtime (BuildKit's runc
// executor drives any runc-compatible binary).
//
// The worker keeps BuildKit's own overlay snapshotter, content store and
// cache database under <pierd root>/buildkit, so the build cache survives
// restarts. A build's result reaches pier's image store through the
// "moby" exporter (exporter.go), which is what buildx's docker driver
// asks for on --load: the image's blobs are copied from BuildKit's
// content store straight into internal/image, with no tar in between.
//
// Nothing is started until the first call that needs BuildKit (Lazy), so
// an idle pierd pays only for the linked code.
package buildkit
