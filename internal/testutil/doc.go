// Package testutil is shared by pier's tests and only by tests: gating of
// root tests (RequiresRoot, Requires), busybox bundles, the project's built
// binaries, and the leak check every root test package runs.
package testutil
