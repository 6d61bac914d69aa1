package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/trace"
)

// A parked monitor is one started before its container is known: pierd
// keeps one waiting, its Go runtime started and its decoders warmed, and
// hands it the next container's config path, which takes a fresh
// monitor's start (~3 ms here) and the first decode of a spec and compile
// of a seccomp filter (~2 ms of reflection caches and syscall tables) off
// the container's start.
//
//	pierd ── Park(bin) ──▶ pier-monitor --park      (new session, GOMAXPROCS=1)
//	   fds: 3 sync pipe (write end), 4 readiness pipe (write end),
//	        5 the park pipe (read end); pierd holds the other ends
//	   warm up; read the park pipe to EOF
//	pierd ── Parked.Start ──▶ config file, then its path on the park pipe, close
//	   EOF with a path: Run on that config, as `pier-monitor CONFIG.json` would
//	   EOF with nothing: pierd closed the pool or died; exit 0
//
// pierd is the only holder of the park pipe's write end (close-on-exec in
// pierd, never inherited), so its death, even by SIGKILL, ends a parked
// monitor that has no container; one that has a container is an ordinary
// monitor by then, and outlives pierd as any does.

// ParkArg is the command-line flag of a parked monitor.
const ParkArg = "--park"

// The parked monitor's fds, in the order of Park's cmd.ExtraFiles.
const (
	parkSyncFD  = 3
	parkReadyFD = 4
	parkPipeFD  = 5
)

// errParkedGone says a parked monitor had ended before it was handed a
// container: the caller starts a fresh one.
var errParkedGone = errors.New("parked monitor gone")

// Parked is a parked monitor seen from pierd.
type Parked struct {
	cmd   *exec.Cmd
	sync  *os.File // read end of the sync pipe
	ready *os.File // read end of the readiness pipe
	park  *os.File // write end of the park pipe
}

// Park starts the monitor binary bin parked, as Start would start it
// (its own session, one P, stderr as given) but without a container.
func Park(bin string, stderr *os.File) (*Parked, error) {
	var p Parked
	var child [3]*os.File // the sync, readiness and park pipes' other ends
	defer func() {
		for _, f := range child {
			if f != nil {
				f.Close()
			}
		}
	}()
	var err error
	if p.sync, child[0], err = os.Pipe(); err == nil {
		if p.ready, child[1], err = os.Pipe(); err == nil {
			child[2], p.park, err = os.Pipe()
		}
	}
	if err == nil {
		p.cmd = exec.Command(bin, ParkArg)
		p.cmd.ExtraFiles = child[:]
		if stderr != nil {
			p.cmd.Stderr = stderr
		}
		p.cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
		p.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err = p.cmd.Start(); err != nil {
			err = fmt.Errorf("start %s: %w", bin, err)
		}
	} else {
		err = fmt.Errorf("parked monitor pipe: %w", err)
	}
	if err != nil {
		for _, f := range []*os.File{p.sync, p.ready, p.park} {
			if f != nil {
				f.Close()
			}
		}
		return nil, err
	}
	return &p, nil
}

// Pid is the parked monitor's pid.
func (p *Parked) Pid() int { return p.cmd.Process.Pid }

// Start hands the parked monitor its container, as Start does for a fresh
// one; it consumes p. errParkedGone (errors.Is) means the parked monitor
// had already ended and nothing was started.
func (p *Parked) Start(configPath string, cfg Config) (*Monitor, error) {
	cfg.SyncFD, cfg.ReadyFD = parkSyncFD, 0
	if cfg.InitReady {
		cfg.ReadyFD = parkReadyFD
	} else {
		p.ready.Close()
		p.ready = nil
	}
	if err := writeConfig(configPath, cfg); err != nil {
		p.Close()
		return nil, err
	}
	trace.Mark("pierd", "monitor: unpark")
	_, err := p.park.WriteString(configPath + "\n")
	p.park.Close()
	if err != nil { // EPIPE: it has ended
		p.Close()
		return nil, fmt.Errorf("%w: %w", errParkedGone, err)
	}
	m, err := waitStarted(p.cmd, p.sync, p.ready, cfg)
	if err != nil && p.ready != nil {
		p.ready.Close()
	}
	return m, err
}

// Close ends a parked monitor that was not handed a container, and reaps it.
func (p *Parked) Close() error {
	for _, f := range []*os.File{p.park, p.sync, p.ready} {
		if f != nil {
			f.Close()
		}
	}
	err := p.cmd.Wait()
	if err != nil {
		return fmt.Errorf("parked monitor %d: %w", p.Pid(), err)
	}
	return nil
}

// RunParked is a parked monitor's life (`pier-monitor --park`): it warms
// up, waits on the park pipe for its config's path, then runs as
// `pier-monitor CONFIG.json` would. With no path (pierd closed the pool,
// or died) it returns nil at once.
func RunParked(exe string) error {
	trace.Mark("monitor", "parked")
	// Nothing of the park passes on by accident: the sync fd is closed by
	// report, and only the container's process gets the readiness pipe
	// (readyFiles).
	for _, fd := range []int{parkSyncFD, parkReadyFD, parkPipeFD} {
		unix.CloseOnExec(fd)
	}
	warmUp()
	f := os.NewFile(parkPipeFD, "park")
	b, err := io.ReadAll(f)
	f.Close()
	path := strings.TrimSuffix(string(b), "\n")
	if err != nil || path == "" {
		unix.Close(parkSyncFD)
		unix.Close(parkReadyFD)
		if err != nil {
			return fmt.Errorf("park pipe: %w", err)
		}
		return nil
	}
	trace.Mark("monitor", "unparked")
	cfg, err := ReadConfig(path)
	if err == nil && (cfg.SyncFD != parkSyncFD || cfg.ReadyFD != 0 && cfg.ReadyFD != parkReadyFD) {
		err = fmt.Errorf("monitor config %s: syncFd %d, readyFd %d: not a parked monitor's", path, cfg.SyncFD, cfg.ReadyFD)
	}
	if err != nil {
		report(parkSyncFD, 0, err)
		return err
	}
	if cfg.ReadyFD == 0 {
		unix.Close(parkReadyFD)
	}
	return Run(cfg, []string{exe, path})
}
