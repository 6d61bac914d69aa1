// Package atomicfile replaces files so that a crash at any point leaves
// either the old content or the new one, never a torn or empty file.
//
// Every state file pier keeps (runtime state, container records and
// configs, the image index, auth, IPAM, monitor status, volume and
// snapshot records) is written through it: a temporary file with a unique
// name in the target's directory, the data, fsync, the final mode, rename
// over the target, fsync of the directory so the rename itself survives.
// The temporary names start with TempPrefix, so a store that lists its
// directory can skip them and sweep what a crash left behind.
//
// It is a leaf: it imports nothing of pier's and never logs.
package atomicfile
