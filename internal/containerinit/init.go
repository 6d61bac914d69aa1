package containerinit

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/hooks"
	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/rootfs"
	"github.com/pier-engine/pier/internal/syncmsg"
	"github.com/pier-engine/pier/internal/trace"
)

// Main is `pier-runtime init`. It returns only on failure, with the exit
// status to use; failures before the container is ready go to the runtime
// over the bootstrap socket, later ones to stderr.
func Main() int {
	trace.Mark("init", "go main")
	runtime.LockOSThread()
	fd, err := strconv.Atoi(os.Getenv(nsenter.BootstrapEnv))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pier-runtime init: not started by pier-runtime")
		return 1
	}
	unix.CloseOnExec(fd)
	sock := os.NewFile(uintptr(fd), "bootstrap")
	conn := syncmsg.New(sock)
	m, err := conn.Expect(syncmsg.TypeConfig)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pier-runtime init: %v\n", err)
		return 1
	}
	cfg := m.Config
	trace.Mark("init", "config received")
	if err := enterCgroupNS(cfg); err != nil {
		_ = conn.SendError(err)
		return 1
	}
	var p *prepared
	if cfg.Exec {
		p, err = setupExec(cfg)
	} else {
		p, err = setupContainer(cfg, conn)
	}
	if err == nil {
		err = conn.Send(syncmsg.Message{Type: syncmsg.TypeReady})
	}
	if err != nil {
		_ = conn.SendError(err)
		return 1
	}
	sock.Close()
	trace.Mark("init", "ready sent")
	if !cfg.Exec {
		if err := awaitStart(cfg); err != nil {
			fmt.Fprintf(os.Stderr, "pier-runtime init: %v\n", err)
			return 1
		}
	}
	if p == nil {
		fmt.Fprintln(os.Stderr, "pier-runtime init: the config has no process")
		return 1
	}
	err = p.exec()
	fmt.Fprintf(os.Stderr, "pier-runtime init: %v\n", err)
	return p.execFailureCode(err)
}

// setupContainer builds the container around this process, up to the
// point where only `start` is missing.
func setupContainer(cfg *syncmsg.InitConfig, conn *syncmsg.Conn) (*prepared, error) {
	spec := cfg.Spec
	if _, err := unix.Setsid(); err != nil {
		return nil, fmt.Errorf("setsid: %w", err)
	}
	if !cfg.NoNewKeyring {
		if _, err := unix.KeyctlJoinSessionKeyring("_ses." + cfg.ID); err != nil && err != unix.ENOSYS {
			return nil, fmt.Errorf("join session keyring: %w", err)
		}
	}
	if cfg.Process != nil {
		if err := applyOOMScore(cfg.Process.OOMScoreAdj); err != nil {
			return nil, err
		}
	}
	opts := rootfs.Options{Rootfs: cfg.Rootfs, Spec: spec, NoPivot: cfg.NoPivot, UserNS: cfg.UserNS, SharedMountNS: cfg.SharedMountNS}
	trace.Mark("init", "session, keyring, oom_score_adj")
	if err := rootfs.Prepare(opts); err != nil {
		return nil, err
	}
	if err := setHostname(spec.Hostname, spec.Domainname); err != nil {
		return nil, err
	}
	if err := conn.Send(syncmsg.Message{Type: syncmsg.TypeHooks}); err != nil {
		return nil, err
	}
	if _, err := conn.Expect(syncmsg.TypeContinue); err != nil {
		return nil, err
	}
	if spec.Hooks != nil {
		if err := hooks.Run("createContainer", spec.Hooks.CreateContainer, cfg.State); err != nil {
			return nil, err
		}
	}
	trace.Mark("init", "hostname, hooks point, createContainer hooks")
	if err := rootfs.Pivot(opts); err != nil {
		return nil, err
	}
	trace.Mark("init", "pivot_root")
	if cfg.Process != nil && cfg.Process.Terminal {
		pty, err := setupConsole(cfg.ConsoleFd, cfg.Process.ConsoleSize)
		if err != nil {
			return nil, err
		}
		err = rootfs.BindConsole(pty)
		pty.Close()
		if err != nil {
			return nil, err
		}
	}
	if err := finishAndSysctls(opts); err != nil {
		return nil, err
	}
	trace.Mark("init", "masked, readonly paths, sysctls")
	if cfg.Process == nil {
		return nil, nil // a container with nothing to run: start will stop it
	}
	p, err := prepare(cfg)
	trace.Mark("init", "process checked (program, user, caps, seccomp BPF)")
	return p, err
}

// enterCgroupNS joins or creates the cgroup namespace now that the
// process is in its cgroup (see runtime.cgroupNSFile for why the preamble
// does not). It changes this thread's namespace only, which is enough: it
// is the thread that mounts and execs.
func enterCgroupNS(cfg *syncmsg.InitConfig) error {
	if cfg.CgroupNSFd >= 0 {
		err := unix.Setns(cfg.CgroupNSFd, unix.CLONE_NEWCGROUP)
		unix.Close(cfg.CgroupNSFd)
		if err != nil {
			return fmt.Errorf("setns cgroup namespace: %w", err)
		}
	}
	if cfg.NewCgroupNS {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	return nil
}

// setupExec prepares a process joining a running container; the preamble
// has already moved it into the container's namespaces and root.
func setupExec(cfg *syncmsg.InitConfig) (*prepared, error) {
	if cfg.Process.Terminal {
		if _, err := unix.Setsid(); err != nil {
			return nil, fmt.Errorf("setsid: %w", err)
		}
		pty, err := setupConsole(cfg.ConsoleFd, cfg.Process.ConsoleSize)
		if err != nil {
			return nil, err
		}
		pty.Close()
	}
	if err := applyOOMScore(cfg.Process.OOMScoreAdj); err != nil {
		return nil, err
	}
	return prepare(cfg)
}

// awaitStart blocks until `start` writes to the exec fifo, then runs the
// startContainer hooks inside the container.
func awaitStart(cfg *syncmsg.InitConfig) error {
	unix.CloseOnExec(cfg.FifoFd)
	// A raw read, unknown to the Go scheduler: a goroutine blocked in an
	// ordinary syscall makes the runtime start a thread to run others, and
	// by now the cgroup's pids limit may allow none.
	var b [1]byte
	for {
		_, _, errno := unix.RawSyscall(unix.SYS_READ, uintptr(cfg.FifoFd), uintptr(unsafe.Pointer(&b[0])), 1)
		if errno == 0 {
			break
		}
		if errno != unix.EINTR {
			return fmt.Errorf("wait for start: read exec fifo: %w", errno)
		}
	}
	trace.Mark("init", "exec fifo released")
	if cfg.Spec.Hooks != nil {
		cfg.State.Status = "running"
		return hooks.Run("startContainer", cfg.Spec.Hooks.StartContainer, cfg.State)
	}
	return nil
}

func setHostname(host, domain string) error {
	if host != "" {
		if err := unix.Sethostname([]byte(host)); err != nil {
			return fmt.Errorf("sethostname %q: %w", host, err)
		}
	}
	if domain != "" {
		if err := unix.Setdomainname([]byte(domain)); err != nil {
			return fmt.Errorf("setdomainname %q: %w", domain, err)
		}
	}
	return nil
}
