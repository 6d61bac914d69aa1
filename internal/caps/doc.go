//go:build linux

// Package caps turns the five capability sets of config.json into bit masks
// and applies them to the calling thread: the bounding set with
// PR_CAPBSET_DROP, effective/permitted/inheritable with capset(2), ambient
// with PR_CAP_AMBIENT.
//
// Capabilities are per thread. The container init calls DropBounding and
// Apply with its OS thread locked, from the thread that will execve the
// user's program: DropBounding while it still has CAP_SETPCAP (before
// switching to the container's user), Apply after the switch (with
// PR_SET_KEEPCAPS set across setuid).
package caps
