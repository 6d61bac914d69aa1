package atomicfile

import "io/fs"

// WriteVolatile replaces path with data atomically for other processes
// (a reader sees the old content or the new, never a part) but does not
// make it durable: no fsync of the file or its directory. It is for
// run-time state that a reboot makes meaningless anyway (an OCI runtime's
// state, pid files), where WriteFile's two fsyncs cost milliseconds on a
// disk-backed /run.
func WriteVolatile(path string, data []byte, perm fs.FileMode) error {
	return write(path, perm, volatile, writeData(data))
}

// WriteOrdered replaces path with data atomically, its data on disk before
// the rename but the rename not waited for (one fsync, not WriteFile's
// two): after a host crash path holds the old content or the new, each
// whole. It is for records whose last change a restart can do without.
func WriteOrdered(path string, data []byte, perm fs.FileMode) error {
	return write(path, perm, ordered, writeData(data))
}
