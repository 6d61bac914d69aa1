//go:build linux

// Package containerinit is what runs inside a new container (or next to a
// running one, for exec) between the C preamble and execve of the user's
// program: `pier-runtime init`, for the configs the C init
// (internal/nsenter/preamble/cinit.c) leaves to Go: a terminal, a user
// namespace, createContainer or startContainer hooks, old kernels, or
// PIER_GO_INIT=1 (internal/runtime's cinitFallback says which). By the
// time it starts, the process already sits in its namespaces and cgroup;
// it builds the root filesystem, sets
// the hostname and sysctls, runs the in-container hooks, waits for `start`,
// then drops to the configured user, capabilities, no_new_privs and seccomp
// filter and execs.
//
// All of it runs on one locked OS thread, because credentials,
// capabilities, no_new_privs and a seccomp filter are per-thread, and the
// thread that calls execve is the one whose state the program inherits.
package containerinit
