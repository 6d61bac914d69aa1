// Package logfile writes and reads container logs in Docker's json-file
// format, so that `docker logs` semantics (tail, since, until, follow) work
// on the files pier's per-container monitor writes.
//
// Each entry is one JSON object on its own line, exactly as Docker writes it:
//
//	{"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}
//
// "log" holds the bytes the container wrote, newline included. A line longer
// than MaxLine bytes, or output still without a newline when the stream
// closes, is stored in pieces whose "log" does not end in "\n" (a partial
// entry), as Docker does.
//
// Rotation: when an entry would push the file past Options.MaxSize, the
// Writer renames path to path.1, path.1 to path.2 and so on, keeping
// Options.MaxFiles files in all (the oldest is replaced by the last rename),
// and starts a new path. Every rename is atomic and happens only after the
// last write to the old file, so a reader can follow the chain by inode: the
// successor of the file at path.k is the one at path.(k-1).
//
// Reading polls: a following Read checks for new data every PollInterval
// (50 ms), which is the latency `logs --follow` adds. Polling keeps the
// package free of inotify and works on any filesystem.
//
// Damaged data: a line that does not decode (a record cut short by a crash,
// or garbage) is skipped by Read. Open terminates an unfinished last line
// with "\n" so that new entries never glue onto a damaged one.
package logfile
