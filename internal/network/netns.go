package network

import "golang.org/x/sys/unix"

// NewNetns creates a network namespace holding only a down lo and keeps it
// alive with a bind mount on path, a new file, so that pier can wire the
// namespace before any process of the container exists and the namespace
// outlives pierd. The caller removes it with DeleteNetns.
func NewNetns(path string) error { return newNamespace(path, unix.CLONE_NEWNET, "") }

// DeleteNetns unmounts and removes a namespace file NewNetns made; the
// namespace itself goes once no process is left in it. A file already gone
// or not mounted is not an error, so clean-up after a crash can call it
// blindly.
func DeleteNetns(path string) error { return DeleteNamespace(path) }
