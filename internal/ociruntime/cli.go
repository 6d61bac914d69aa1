package ociruntime

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/pier-engine/pier/internal/errdefs"
)

// CLI is one OCI runtime binary and the state root it keeps its
// containers under. The zero Root and Log leave the runtime's defaults.
type CLI struct {
	// Name is what the runtime is called ("pier-runtime", "runc",
	// "crun"); Path is its binary.
	Name, Path string
	// Root is --root: each runtime keeps its own state files there.
	Root string
	// Log, if set, is --log with --log-format json; a failed verb's
	// message is then the last error in that file.
	Log string
}

// args is the command line of one verb, the global options first, as runc
// wants them.
func (c CLI) args(verb ...string) []string {
	var a []string
	if c.Root != "" {
		a = append(a, "--root", c.Root)
	}
	if c.Log != "" {
		a = append(a, "--log", c.Log, "--log-format", "json")
	}
	return append(a, verb...)
}

func (c CLI) command(ctx context.Context, verb ...string) *exec.Cmd {
	if ctx == nil {
		ctx = context.Background()
	}
	return exec.CommandContext(ctx, c.Path, c.args(verb...)...)
}

// run runs one verb whose output is only the runtime's talk: it is the
// error's message when the verb fails.
func (c CLI) run(ctx context.Context, op string, verb ...string) error {
	out, err := c.command(ctx, verb...).CombinedOutput()
	if err != nil {
		return c.fail(op, err, out)
	}
	return nil
}

// output runs one verb whose stdout is data; stderr makes the error.
func (c CLI) output(ctx context.Context, op string, verb ...string) ([]byte, error) {
	cmd := c.command(ctx, verb...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, c.fail(op, err, stderr.Bytes())
	}
	return out, nil
}

// Error is a runtime verb that failed: Op names the verb and its
// operands ("kill ID TERM"), Msg is the runtime's own message and Err how
// the process ended (an *exec.ExitError) or why it did not run.
type Error struct {
	Op  string
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Op + ": " + e.Err.Error()
	}
	return e.Op + ": " + e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// fail makes the Error of op: the runtime's message is the last error of
// its log file, else out.
func (c CLI) fail(op string, err error, out []byte) error {
	msg := lastLogMsg(c.Log)
	if msg == "" {
		msg = string(bytes.TrimSpace(out))
	}
	return &Error{Op: op, Msg: msg, Err: err}
}

// lastLogMsg returns the "msg" of the last error line of a runtime's JSON
// log (runc's and pier-runtime's --log-format json).
func lastLogMsg(path string) string {
	if path == "" {
		return ""
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimSpace(b), []byte{'\n'})
	for i := len(lines) - 1; i >= 0; i-- {
		var l struct{ Level, Msg string }
		if json.Unmarshal(lines[i], &l) == nil && l.Level == "error" && l.Msg != "" {
			return l.Msg
		}
	}
	return ""
}

// CreateOpts are create's inputs. The runtime hands its stdio on to the
// container (nil is /dev/null), so create's output is never captured: a
// failure's message comes from the Log file, and without one the error
// has only the exit status.
type CreateOpts struct {
	Bundle, PidFile string
	// ConsoleSocket receives the pty master of a terminal container.
	ConsoleSocket  string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// ExtraFiles become the container's fds 3, 4, ... (--preserve-fds).
	ExtraFiles []*os.File
}

// Create creates container id from its bundle; it returns once the
// container's init waits for Start.
func (c CLI) Create(ctx context.Context, id string, o CreateOpts) error {
	verb := []string{"create", "--bundle", o.Bundle, "--pid-file", o.PidFile}
	if o.ConsoleSocket != "" {
		verb = append(verb, "--console-socket", o.ConsoleSocket)
	}
	if len(o.ExtraFiles) > 0 {
		verb = append(verb, "--preserve-fds", strconv.Itoa(len(o.ExtraFiles)))
	}
	cmd := c.command(ctx, append(verb, id)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	cmd.ExtraFiles = o.ExtraFiles
	if err := cmd.Run(); err != nil {
		return c.fail("create "+id, err, nil)
	}
	return nil
}

// Start runs the user's program of created container id.
func (c CLI) Start(ctx context.Context, id string) error {
	return c.run(ctx, "start "+id, "start", id)
}

// Kill sends sig (a name, with or without SIG, or a number) to the
// container's init. A signal the runtime does not know is
// errdefs.ErrInvalidArgument.
func (c CLI) Kill(ctx context.Context, id, sig string) error {
	err := c.run(ctx, "kill "+id+" "+sig, "kill", id, sig)
	var e *Error
	if errors.As(err, &e) && (strings.Contains(e.Msg, "invalid signal") || strings.Contains(e.Msg, "unknown signal")) {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	return err
}

// Delete removes container id; force kills a live one first.
func (c CLI) Delete(ctx context.Context, id string, force bool) error {
	verb := []string{"delete"}
	if force {
		verb = append(verb, "-f")
	}
	return c.run(ctx, "delete "+id, append(verb, id)...)
}

// Pause freezes every process of container id.
func (c CLI) Pause(ctx context.Context, id string) error {
	return c.run(ctx, "pause "+id, "pause", id)
}

// Resume thaws paused container id.
func (c CLI) Resume(ctx context.Context, id string) error {
	return c.run(ctx, "resume "+id, "resume", id)
}
