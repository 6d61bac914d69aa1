//go:build linux

// Package buildkitd runs pierd's BuildKit in a process of its own,
// pier-buildkitd, so that a pierd that never builds does not link, fault
// in or run any of BuildKit, and a panic inside BuildKit no longer takes
// pierd down.
//
// The Supervisor starts pier-buildkitd on the first request that needs
// it (a /grpc or /session connection, a version-2 build, /system/df with
// a build cache on disk), hands it a pipe whose end it keeps (the child
// stops when that pipe closes: pierd stopped, or was killed), reports a
// crash and starts a new child on the next request. pierd's API proxies
// to the child's private socket (internal/server's BuildKitProxy).
//
// The child reaches pier's image store over a second private socket that
// pierd serves (store.go): FROM pulls an image pier has through the
// distribution API's manifest and blob routes, and the moby exporter's
// result is handed over by naming its manifest in BuildKit's content
// store, whose blobs pierd reads from disk into its own store.
package buildkitd
