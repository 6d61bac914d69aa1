package monitor

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/trace"
)

// The handover: a monitor that has launched its container re-executes
// itself, same pid, into its watch image, so that what the launch left in
// its heap (the spec, the plan, encoding/json's caches, the collector's
// view of a few megabytes of garbage) is not paid for the container's
// whole life. The Go heap keeps its spans after a collection; a fresh
// image starts from the binary's own floor.
//
//	launch image                                watch image (same pid)
//	  create, start, report on SyncFD
//	  handoverDelay later, container alive:
//	    hold the reaper (no wait4 from here)
//	    pause the attach hub (only if no client is connected)
//	    pause the copiers (read deadline)
//	    state → memfd; clear FD_CLOEXEC ── execve ──▶ read the memfd
//	                                               reopen the log, resume
//	                                               copiers, hub; reap; delete
//
// Nothing is lost in the window: the pipes keep what the container writes
// (it blocks when one is full), a client that connects waits in the
// listen queue, and a child that exits stays a zombie of this pid until
// the watch image reaps it (reaper). The delay keeps short containers
// (`run --rm true`) from paying a second Go start, and a container with
// an attached client keeps the launch image until the client leaves
// (connections are not handed over; the hub retries with a back-off).

// HandoverEnv overrides the handover's delay (a Go duration) or, with
// "off", disables it.
const HandoverEnv = "PIER_MONITOR_HANDOVER"

// handoverStallEnv makes the launch image sleep for that long with the
// reaper held, just before its exec: tests widen the window with it.
const handoverStallEnv = "PIER_MONITOR_TEST_STALL"

const (
	handoverDelay    = time.Second
	handoverMaxRetry = time.Minute
)

// handover is the state the watch image resumes from.
type handover struct {
	Config    Config    `json:"config"`
	Pid       int       `json:"pid"`
	StartedAt time.Time `json:"startedAt"`
	OOMBase   uint64    `json:"oomBase"`
	// Readers are the fds of the output pipes (or, with a tty, the
	// master as Readers[0]); -1 for none. Pending is what each stream
	// holds of a line whose newline has not arrived.
	Readers [2]int    `json:"readers"`
	Pending [2][]byte `json:"pending"`
	// Stdin is the fd of the container's stdin pipe (write end), -1 for
	// none or closed; StdinClosed says a StdinOnce client closed it.
	Stdin       int  `json:"stdin"`
	StdinClosed bool `json:"stdinClosed"`
	// Listener is the attach socket's fd, -1 for none.
	Listener int    `json:"listener"`
	CopyErr  string `json:"copyErr,omitempty"`
	// FullExe is the full monitor's binary, which the watch binary
	// re-executes to delete (finish.go); Self the launch's command line.
	FullExe string   `json:"fullExe,omitempty"`
	Self    []string `json:"self"`
}

// handOverLoop hands over after the delay, retrying with a back-off while
// attach clients are connected. It gives up once the container has ended
// or an exec has failed.
func (m *monitor) handOverLoop(self []string) {
	delay := handoverDelay
	if v := os.Getenv(HandoverEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil { // "off", or nonsense: never
			freeLaunchHeap()
			return
		}
		delay = d
	}
	freed := false
	for wait := delay; ; wait = min(2*wait+time.Second, handoverMaxRetry) {
		time.Sleep(wait)
		retry, err := m.handOver(self)
		if err != nil || (retry && !freed) {
			// This image stays for a while: give back the launch's garbage.
			freeLaunchHeap()
			freed = true
		}
		if !retry {
			return
		}
	}
}

// freeLaunchHeap collects what the launch allocated (the spec, the plan,
// JSON, buffers) and returns its pages, for a launch image that keeps
// watching: it may idle for months with no allocation to trigger a
// collection. An image that hands over within the delay, or whose
// container ends, skips it (1-20 ms of CPU beside the container's start).
func freeLaunchHeap() {
	debug.FreeOSMemory()
	trace.Mark("monitor", "launch heap freed")
}

// handOver re-executes the monitor into its watch image, and returns only
// if it did not: retry says to try again later (clients are attached), err
// that the exec failed. Neither: the container has ended.
func (m *monitor) handOver(self []string) (retry bool, err error) {
	if !m.reap.hold() {
		return false, nil
	}
	defer m.reap.release()
	if m.hub != nil && !m.hub.pause() {
		m.hub.resume()
		return true, nil
	}
	m.pauseCopiers()
	trace.Mark("monitor", "handover held")
	if d, err := time.ParseDuration(os.Getenv(handoverStallEnv)); err == nil {
		time.Sleep(d)
	}
	err = m.exec(self)
	os.Stderr.WriteString("pier-monitor: handover: " + err.Error() + "\n")
	m.resumeCopiers()
	if m.hub != nil {
		m.hub.resume()
	}
	return false, err
}

// pauseCopiers stops the copiers between two reads; what they read is in
// the streams (whole lines in the log, a partial one pending).
func (m *monitor) pauseCopiers() {
	for _, r := range m.readers {
		if r != nil {
			_ = r.SetReadDeadline(time.Unix(1, 0))
		}
	}
	m.copiers.Wait()
}

// resumeCopiers restarts the copiers after a failed exec. A pipe that
// had reached EOF gives EOF again at once.
func (m *monitor) resumeCopiers() {
	for i, r := range m.readers {
		if r != nil {
			_ = r.SetReadDeadline(time.Time{})
			m.copiers.Add(1)
			go m.copy(m.streams[i], FrameStdout+byte(i), r)
		}
	}
}

// exec writes the handover to a memfd, lets the fds it names survive the
// exec and execs self's watch image. It returns only on failure, with
// the fds close-on-exec again.
func (m *monitor) exec(self []string) error {
	h := handover{Config: m.cfg, Pid: m.reap.pid, StartedAt: m.startedAt, OOMBase: m.oomBase,
		Readers: [2]int{-1, -1}, Stdin: -1, Listener: -1}
	var fds []int
	for i, r := range m.readers {
		if r != nil {
			h.Readers[i] = rawFD(r)
			h.Pending[i] = m.streams[i].Pending()
			fds = append(fds, h.Readers[i])
		}
	}
	m.stdinMu.Lock()
	h.StdinClosed = m.stdinClosed
	if m.stdin != nil && !m.stdinClosed && m.stdin != m.master {
		h.Stdin = rawFD(m.stdin)
		fds = append(fds, h.Stdin)
	}
	m.stdinMu.Unlock()
	if m.hub != nil {
		h.Listener = rawFD(m.hub.ln)
		fds = append(fds, h.Listener)
	}
	if err := m.copyError(); err != nil {
		h.CopyErr = err.Error()
	}
	exe, full := watchBinary()
	h.FullExe, h.Self = full, self
	mfd, err := writeMemfd("pier-monitor-handover", h)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	for _, fd := range fds {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, 0); err != nil {
			closeOnExec(fds)
			return fmt.Errorf("keep fd %d across exec: %w", fd, err)
		}
	}
	trace.Mark("monitor", "handover exec")
	err = execImage(exe, "--watch", mfd, self)
	closeOnExec(fds)
	return err
}

// WatchBinaryName is the watch binary, beside pier-monitor: the monitor
// without pier-runtime's library (-tags monitorwatch), whose idle process
// is ~0.2 MB smaller. Without it the monitor re-executes itself.
const WatchBinaryName = "pier-monitor-watch"

// watchBinary is the binary of the watch image, and the full monitor's.
func watchBinary() (watch, full string) {
	full, err := os.Executable()
	if err != nil || strings.HasSuffix(full, " (deleted)") {
		return "/proc/self/exe", ""
	}
	watch = filepath.Join(filepath.Dir(full), WatchBinaryName)
	if unix.Access(watch, unix.X_OK) != nil {
		return "/proc/self/exe", full
	}
	return watch, full
}

// execImage execs exe as `NAME MODE FD ARGS...`, where NAME and ARGS are
// the launch image's command line (self): the image resumes from the
// memfd fd. It returns only on failure.
func execImage(exe, mode string, fd int, self []string) error {
	argv := append([]string{self[0], mode, strconv.Itoa(fd)}, self[1:]...)
	if exe != "/proc/self/exe" {
		argv[0] = exe
	}
	err := unix.Exec(exe, argv, os.Environ())
	return fmt.Errorf("exec %s: %w", exe, err)
}

// writeMemfd is a new memfd (inherited across exec) holding v as JSON.
func writeMemfd(name string, v any) (int, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return -1, fmt.Errorf("encode %s: %w", name, err)
	}
	fd, err := unix.MemfdCreate(name, 0)
	if err != nil {
		return -1, fmt.Errorf("memfd_create: %w", err)
	}
	for p := b; len(p) > 0; {
		n, err := unix.Write(fd, p)
		if err != nil {
			unix.Close(fd)
			return -1, fmt.Errorf("write %s: %w", name, err)
		}
		p = p[n:]
	}
	return fd, nil
}

// readMemfd decodes what writeMemfd wrote into fd, and closes fd.
func readMemfd(fd int, v any) error {
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	_, err := f.Seek(0, io.SeekStart)
	var b []byte
	if err == nil {
		b, err = io.ReadAll(f)
	}
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		return fmt.Errorf("read memfd %d: %w", fd, err)
	}
	return nil
}

func closeOnExec(fds []int) {
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
}

// rawFD is f's descriptor. Not f.Fd(), which would make it blocking:
// the watch image needs the deadlines and wake-ups of the poller.
func rawFD(f interface {
	SyscallConn() (syscall.RawConn, error)
}) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		_ = rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}

// Watch is the watch image's life: it resumes a handover read from the
// memfd fd and watches the container to its end, as Run does after the
// launch.
func Watch(fd int) error {
	trace.Mark("monitor", "watch image")
	var h handover
	if err := readMemfd(fd, &h); err != nil {
		return fmt.Errorf("handover: %w", err)
	}
	m := &monitor{cfg: h.Config, startedAt: h.StartedAt, oomBase: h.OOMBase, fullExe: h.FullExe, self: h.Self}
	m.resume(h)
	// No collection here, unlike after the launch: this heap is small, and
	// a first collection would cost more than it frees (the collector's
	// own buffers, ~0.2-0.4 MB dirty for good, measured). Without one, none
	// runs until the heap reaches its 4 MB minimum goal: the runtime forces
	// a collection every two minutes only after a first one.
	return m.watch(h.Pid, nil)
}
