package containerinit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/caps"
	"github.com/pier-engine/pier/internal/seccomp"
	"github.com/pier-engine/pier/internal/syncmsg"
	"github.com/pier-engine/pier/internal/sys"
	"github.com/pier-engine/pier/internal/trace"
)

// prepared is the user's process, checked and ready to exec: everything
// that can fail for a reason the user should hear about at create time has
// been done.
type prepared struct {
	proc        *specs.Process
	path        string
	env         []string
	caps        *caps.Set
	filter      *seccomp.Filter
	personality *specs.LinuxPersonality
	preserveFds int
}

func prepare(cfg *syncmsg.InitConfig) (*prepared, error) {
	p := &prepared{proc: cfg.Process, preserveFds: cfg.PreserveFds, personality: cfg.Spec.Linux.Personality}
	if err := checkRlimits(p.proc.Rlimits); err != nil {
		return nil, err
	}
	if err := unix.Chdir(p.proc.Cwd); err != nil {
		return nil, fmt.Errorf("process.cwd: chdir %s: %w", p.proc.Cwd, err)
	}
	// A cwd reached through a leaked host fd would print as unreachable
	// (the CVE-2024-21626 class); refuse it rather than exec there.
	if wd, err := unix.Getwd(); err != nil || !strings.HasPrefix(wd, "/") {
		return nil, fmt.Errorf("process.cwd: %s resolves outside the container", p.proc.Cwd)
	}
	p.env = withHome(p.proc.Env, p.proc.User.UID)
	var err error
	if p.path, err = lookPath(p.proc.Args[0], p.env); err != nil {
		return nil, err
	}
	if p.caps, err = caps.Parse(capsOrEmpty(p.proc.Capabilities)); err != nil {
		return nil, err
	}
	if cfg.Spec.Linux.Seccomp != nil {
		if p.filter, err = seccomp.Compile(cfg.Spec.Linux.Seccomp); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func capsOrEmpty(c *specs.LinuxCapabilities) *specs.LinuxCapabilities {
	if c == nil {
		return &specs.LinuxCapabilities{}
	}
	return c
}

// exec drops privileges in the order the kernel requires and replaces this
// process with the user's program. It returns only on failure.
func (p *prepared) exec() error {
	if err := sys.CloseExecFrom(3 + p.preserveFds); err != nil {
		return err
	}
	if err := applyRlimits(p.proc.Rlimits); err != nil {
		return err
	}
	trace.Mark("init", "fds, rlimits")
	// Without no_new_privs the filter can only be loaded while we still
	// hold CAP_SYS_ADMIN, so it goes in first and must allow the rest.
	if !p.proc.NoNewPrivileges && p.filter != nil {
		if err := p.filter.Load(); err != nil {
			return fmt.Errorf("linux.seccomp: %w", err)
		}
	}
	if err := p.caps.DropBounding(); err != nil {
		return err
	}
	if err := switchUser(p.proc.User); err != nil {
		return err
	}
	if err := p.caps.Apply(); err != nil {
		return err
	}
	trace.Mark("init", "seccomp, user, caps")
	if p.proc.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl no_new_privs: %w", err)
		}
		if p.filter != nil {
			if err := p.filter.Load(); err != nil {
				return fmt.Errorf("linux.seccomp: %w", err)
			}
		}
	}
	if p.proc.User.Umask != nil {
		unix.Umask(int(*p.proc.User.Umask))
	}
	if err := setPersonality(p.personality); err != nil {
		return err
	}
	trace.Mark("init", "execve")
	if err := unix.Exec(p.path, p.proc.Args, p.env); err != nil {
		return fmt.Errorf("exec %s: %w", p.path, err)
	}
	return nil
}

// execFailureCode follows the shell: 127 for a missing program, 126 for
// one that cannot be executed.
func (p *prepared) execFailureCode(err error) int {
	if errors.Is(err, unix.ENOENT) {
		return 127
	}
	return 126
}

func switchUser(u specs.User) error {
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl keepcaps: %w", err)
	}
	// Raw, per-thread calls on purpose: this locked thread is the one that
	// execs, and the kernel takes the new program's credentials from it
	// alone. libc's setters would stop every Go thread with a signal to
	// change theirs too, which only costs time before execve ends them.
	gids := make([]uint32, len(u.AdditionalGids))
	copy(gids, u.AdditionalGids)
	var gp uintptr
	if len(gids) > 0 {
		gp = uintptr(unsafe.Pointer(&gids[0]))
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), gp, 0); e != 0 && !(len(gids) == 0 && e == unix.EPERM) {
		return fmt.Errorf("process.user.additionalGids: setgroups %v: %w", gids, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("process.user.gid: setresgid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("process.user.uid: setresuid %d: %w", u.UID, e)
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl keepcaps: %w", err)
	}
	// The new credentials made the process as dumpable as
	// fs.suid_dumpable says; it stays not dumpable until execve (nsenter.c).
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl non-dumpable: %w", err)
	}
	return nil
}

// lookPath finds the program the way execvp would, with the process's
// own PATH, inside the container's root.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, checkExecutable(name)
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("process.args[0]: exec: %q: executable file not found in $PATH: %w", name, unix.ENOENT)
}

func checkExecutable(p string) error {
	st, err := os.Stat(p)
	if err != nil {
		return fmt.Errorf("process.args[0]: %w", err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("process.args[0]: %s: %w", p, unix.EACCES)
	}
	return nil
}

// withHome adds HOME from the container's /etc/passwd when the config
// leaves it out, as runc and Docker do.
func withHome(env []string, uid uint32) []string {
	for _, e := range env {
		if strings.HasPrefix(e, "HOME=") {
			return env
		}
	}
	home := "/"
	if f, err := os.Open("/etc/passwd"); err == nil {
		s := bufio.NewScanner(f)
		for s.Scan() {
			fields := strings.Split(s.Text(), ":")
			if len(fields) >= 6 && fields[2] == strconv.FormatUint(uint64(uid), 10) {
				home = fields[5]
				break
			}
		}
		f.Close()
	}
	return append(append([]string{}, env...), "HOME="+home)
}
