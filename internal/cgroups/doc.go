//go:build linux

// Package cgroups places a container's processes in cgroups and limits them
// from the OCI runtime-spec's linux.resources, on cgroup v1, v2 and the
// hybrid layout (v1 controllers plus a controller-less cgroup2 tree at
// <root>/unified), chosen at run time from what is mounted.
//
// Lifecycle of a Manager: New computes paths and detects the layout without
// touching anything, so any process (create, pause, update, delete) can
// rebuild the same Manager from the same Config. Apply creates the cgroup in
// every hierarchy and moves a pid in; Set writes limits (again on update);
// Freeze/Thaw pause; KillAll and Destroy end it. Destroy removes only what
// belongs to the container: its own directories and empty pier-owned
// parents, never a cgroup pier did not create.
//
// A Manager is not safe for concurrent use.
//
// Every cgroup pier makes lives under a top-level "pier" directory unless the
// spec's cgroupsPath is absolute.
package cgroups
