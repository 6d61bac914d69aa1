//go:build linux

// Package specgen turns an image config plus Docker's container Config and
// HostConfig into an OCI runtime spec, the way dockerd's daemon/oci_linux.go
// does: Docker's default capabilities, masked and read-only paths, default
// seccomp profile and mounts, with pier's differences (pier-init as PID 1 by
// default).
//
// Build is a pure function of its Input except where Input says otherwise:
// it reads the rootfs's /etc/passwd and /etc/group (inside the root, never
// following a symlink out) to resolve user names, a seccomp profile file
// named by a security option, and host devices (through Input's functions,
// which tests replace). It creates nothing.
package specgen
