//go:build linux

// Package volume keeps the daemon's named volumes: a directory
// <root>/volumes/<name>/_data per volume, described by a record in the
// metadata store, with Docker's rules for names, listing filters, removal
// and prune.
//
// Lifecycle: the daemon calls New once at start-up; New also finishes or
// undoes whatever a crash interrupted. A volume exists when both its record
// and its directory exist:
//
//	Create: mkdir volumes/.new-*/_data -> record -> rename to volumes/<name>
//	Remove: rename volumes/<name> to volumes/.trash-* -> delete record -> remove tree
//
// so after a crash New removes every .new-* and .trash-* directory and every
// record whose directory is gone. A directory without a record is never
// created by this package, and New leaves one alone rather than risk a
// user's data.
//
// Which containers use a volume is the daemon's knowledge, not this
// package's: Remove, Prune and the dangling filter take an inUse function,
// called while the store's lock is held.
package volume
