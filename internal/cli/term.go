package cli

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/pier-engine/pier/internal/signame"
)

// errNotATTY is docker's refusal of -it when stdin is a pipe or a file.
var errNotATTY = errors.New("the input device is not a TTY")

// termFd is the descriptor behind v when it is a terminal.
func termFd(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok || f == nil || !term.IsTerminal(int(f.Fd())) {
		return -1, false
	}
	return int(f.Fd()), true
}

// checkTTY refuses a tty session with stdin attached when stdin is not a
// terminal: raw mode and the detach keys would make no sense.
func checkTTY(attachStdin, tty bool) error {
	if _, ok := termFd(os.Stdin); attachStdin && tty && !ok {
		return errNotATTY
	}
	return nil
}

// rawInput puts the terminal on stdin in raw mode, so keys such as ctrl-c
// and ctrl-p reach the container instead of the local line discipline.
// The returned restore is safe to call more than once and from any path.
func rawInput() (restore func(), err error) {
	fd, ok := termFd(os.Stdin)
	if !ok {
		return func() {}, nil
	}
	state, err := term.MakeRaw(fd)
	if err != nil {
		return nil, err
	}
	return sync.OnceFunc(func() { term.Restore(fd, state) }), nil
}

// ttySize is the local terminal's size, from stdout as docker takes it and
// from stdin when only that is a terminal. ok is false with no terminal.
func (a *app) ttySize() (height, width uint, ok bool) {
	fd, isTerm := termFd(a.stdout)
	if !isTerm {
		if fd, isTerm = termFd(os.Stdin); !isTerm {
			return 0, 0, false
		}
	}
	w, h, err := term.GetSize(fd)
	if err != nil || w <= 0 || h <= 0 {
		return 0, 0, false
	}
	return uint(h), uint(w), true
}

// resizeFunc sends a size to the container or the exec.
type resizeFunc func(ctx context.Context, height, width uint) error

// monitorSize sends the terminal's size now and on every SIGWINCH until
// ctx ends. The first resize is retried a few times: right after start
// the daemon may not have the container's console yet.
func (a *app) monitorSize(ctx context.Context, resize resizeFunc) {
	h, w, ok := a.ttySize()
	if !ok {
		return
	}
	for i := range 5 {
		if resize(ctx, h, w) == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(time.Duration(i+1) * 10 * time.Millisecond)
	}
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, signame.Of("WINCH")...)
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-ctx.Done():
				return
			case <-winch:
				if h, w, ok := a.ttySize(); ok {
					resize(ctx, h, w)
				}
			}
		}
	}()
}
