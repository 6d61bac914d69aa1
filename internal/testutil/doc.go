// Package testutil is shared by pier's tests and only by tests: gating of
// root tests (RequiresRoot, Requires), busybox bundles, the project's built
// binaries, the leak check every root test package runs, and the fixtures
// several packages need (a simulated LAN host and network namespaces, a
// local docker-registry, tar streams, directory listings).
package testutil
