//go:build linux

// Package sys holds the small syscall helpers the rest of pier builds on:
// retrying on EINTR, resolving paths inside a root directory without ever
// leaving it (openat2 RESOLVE_IN_ROOT, or an equivalent walk on old kernels),
// marking inherited descriptors close-on-exec, and pidfds.
//
// It is a leaf: it imports nothing of pier's and never logs.
package sys
