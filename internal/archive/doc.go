//go:build linux

// Package archive reads and writes layer tarballs.
//
// Layer tarballs come from registries and users and are untrusted. Extract
// therefore never resolves a path with the host's view of the file system:
// every parent directory is opened relative to a file descriptor of the
// target with openat2(RESOLVE_IN_ROOT|RESOLVE_NO_MAGICLINKS), so "..",
// absolute names and symlinks (absolute or relative) all resolve inside the
// target, as they would inside the container, and the final component of an
// entry is created with *at calls that do not follow it. Hardlink targets are
// resolved the same way, so a link to /etc/shadow names the layer's own
// etc/shadow or fails.
//
// This package sits at the bottom of pier's layers: it talks to the kernel
// through golang.org/x/sys/unix only and does not log.
package archive
