package pid1

import (
	"errors"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Exit codes a shell uses for a command it could not run.
const (
	CodeNotExecutable = 126
	CodeNotFound      = 127
)

// ExitCode is the status pier-init exits with for a child that ended with
// ws: its exit code, or 128+N when signal N killed it.
func ExitCode(ws unix.WaitStatus) int {
	switch {
	case ws.Exited():
		return ws.ExitStatus()
	case ws.Signaled():
		return 128 + int(ws.Signal())
	}
	// Stopped or continued statuses are not reported without WUNTRACED;
	// reaching here means a status the kernel should not produce.
	return 1
}

// StartError is a command pier-init could not start, with the code a shell
// would exit with for it.
type StartError struct {
	Cmd  string
	Code int
	Err  error
}

func (e *StartError) Error() string {
	if e.Code == CodeNotFound && errors.Is(e.Err, errNotInPath) {
		return e.Cmd + ": command not found"
	}
	return e.Cmd + ": " + describe(e.Err)
}

func (e *StartError) Unwrap() error { return e.Err }

var errNotInPath = errors.New("not found in $PATH")

// describe spells an errno the way a shell's message does ("Permission
// denied"), capitalised like strerror.
func describe(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return err.Error()
	}
	s := errno.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// startError classifies an execve failure like a shell: a missing file
// (or a missing script interpreter) is 127, anything else 126.
func startError(cmd string, err error) *StartError {
	code := CodeNotExecutable
	if errors.Is(err, syscall.ENOENT) {
		code = CodeNotFound
	}
	return &StartError{Cmd: cmd, Code: code, Err: err}
}

// lookPath finds name the way a shell does: a name with a slash is used as
// it is; otherwise the first executable regular file of that name in path
// wins, and failing that the first file of that name at all, whose execve
// will then fail as not executable (126) rather than not found (127).
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	fallback := ""
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + name
		fi, err := os.Stat(p)
		if err != nil || fi.IsDir() {
			continue
		}
		if fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
		if fallback == "" {
			fallback = p
		}
	}
	if fallback != "" {
		return fallback, nil
	}
	return "", &StartError{Cmd: name, Code: CodeNotFound, Err: errNotInPath}
}
