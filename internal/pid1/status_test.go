package pid1

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func TestExitCode(t *testing.T) {
	// Wait statuses as the kernel encodes them: code<<8 for an exit, the
	// signal number (plus 0x80 for a core dump) for a death by signal.
	tests := []struct {
		ws   unix.WaitStatus
		want int
	}{
		{0, 0},
		{42 << 8, 42},
		{255 << 8, 255},
		{unix.WaitStatus(unix.SIGKILL), 137},
		{unix.WaitStatus(unix.SIGTERM), 143},
		{unix.WaitStatus(unix.SIGSEGV) | 0x80, 139},
		{unix.WaitStatus(36), 164}, // SIGRTMIN+2
	}
	for _, tt := range tests {
		if got := ExitCode(tt.ws); got != tt.want {
			t.Errorf("ExitCode(%#x) = %d, want %d", uint32(tt.ws), got, tt.want)
		}
	}
}

func TestStartErrorCodes(t *testing.T) {
	tests := []struct {
		err  error
		code int
		msg  string
	}{
		{syscall.ENOENT, CodeNotFound, "x: No such file or directory"},
		{syscall.EACCES, CodeNotExecutable, "x: Permission denied"},
		{syscall.ENOEXEC, CodeNotExecutable, "x: Exec format error"},
		{&os.PathError{Op: "fork/exec", Path: "x", Err: syscall.ENOENT}, CodeNotFound, "x: No such file or directory"},
	}
	for _, tt := range tests {
		e := startError("x", tt.err)
		if e.Code != tt.code || e.Error() != tt.msg {
			t.Errorf("startError(%v) = %d %q, want %d %q", tt.err, e.Code, e.Error(), tt.code, tt.msg)
		}
	}
}

func TestLookPath(t *testing.T) {
	dir1, dir2 := t.TempDir(), t.TempDir()
	write := func(dir, name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write(dir1, "both", 0o644)
	exe := write(dir2, "both", 0o755)
	plain := write(dir1, "plain", 0o644)
	if err := os.Mkdir(filepath.Join(dir1, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := dir1 + ":" + dir2

	if got, err := lookPath("both", path); err != nil || got != exe {
		t.Errorf("lookPath(both) = %q, %v; want the executable %q", got, err, exe)
	}
	if got, err := lookPath("plain", path); err != nil || got != plain {
		t.Errorf("lookPath(plain) = %q, %v; want the non-executable %q (126 later)", got, err, plain)
	}
	if got, err := lookPath("./rel/x", path); err != nil || got != "./rel/x" {
		t.Errorf("lookPath(./rel/x) = %q, %v; want it unchanged", got, err)
	}
	for _, name := range []string{"missing", "adir"} {
		_, err := lookPath(name, path)
		var se *StartError
		if !errors.As(err, &se) || se.Code != CodeNotFound || se.Error() != name+": command not found" {
			t.Errorf("lookPath(%s) error = %v, want %q with code 127", name, err, name+": command not found")
		}
	}
}
