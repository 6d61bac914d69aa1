package daemon

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
	"github.com/pier-engine/pier/internal/sys"
)

// execProcess is the container's own process with the exec's overrides:
// its command, environment on top of the container's, working directory
// and user (nil keeps the container's).
func execProcess(base *specs.Process, cfg container.ExecCreateRequest, user *specs.User) *specs.Process {
	p := *base
	p.Args = append([]string{}, cfg.Cmd...)
	p.Terminal, p.ConsoleSize = cfg.Tty, nil
	if cfg.Tty && cfg.ConsoleSize != nil && cfg.ConsoleSize[0] > 0 && cfg.ConsoleSize[1] > 0 {
		p.ConsoleSize = &specs.Box{Height: cfg.ConsoleSize[0], Width: cfg.ConsoleSize[1]}
	}
	p.Env = mergeEnv(base.Env, cfg.Env)
	if cfg.WorkingDir != "" {
		p.Cwd = cfg.WorkingDir
	}
	if user != nil {
		p.User = *user
	}
	return &p
}

// mergeEnv overrides base's KEY=value entries with extra's, keeping
// base's order: a duplicate key would leave the winner to the program.
func mergeEnv(base, extra []string) []string {
	out := append([]string{}, base...)
	index := map[string]int{}
	for i, kv := range out {
		k, _, _ := strings.Cut(kv, "=")
		index[k] = i
	}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := index[k]; ok {
			out[i] = kv
			continue
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	return out
}

// resolveExecUser turns docker's "user[:group]" (names or numbers) into
// ids, reading names from the container's /etc/passwd and /etc/group;
// "" keeps the container's user (nil). Those files are the container's:
// they are read only when they are regular files (a FIFO would block
// the exec, a symlink to /dev/zero feed it forever).
func resolveExecUser(rootfs, spec string) (*specs.User, error) {
	if spec == "" {
		return nil, nil
	}
	name, group, hasGroup := strings.Cut(spec, ":")
	u := &specs.User{}
	passwd := func() (io.ReadCloser, error) { return sys.OpenRegularInRoot(rootfs, "etc/passwd") }
	uid, gid, err := lookupID(passwd, name, true)
	if err != nil {
		return nil, err
	}
	u.UID, u.GID = uid, gid
	if hasGroup {
		groups := func() (io.ReadCloser, error) { return sys.OpenRegularInRoot(rootfs, "etc/group") }
		if u.GID, _, err = lookupID(groups, group, false); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// lookupID finds name (or a number) in a passwd or group file: it
// returns the id and, for passwd, the primary gid. A number not in the
// file stands for itself, as in dockerd.
func lookupID(open func() (io.ReadCloser, error), name string, passwd bool) (uint32, uint32, error) {
	n, numErr := strconv.ParseUint(name, 10, 32)
	f, err := open()
	if err != nil {
		if numErr == nil {
			return uint32(n), 0, nil
		}
		return 0, 0, fmt.Errorf("unable to find user %s: no matching entries in passwd file: %w", name, errdefs.ErrNotFound)
	}
	defer f.Close()
	return scanIDs(f, name, uint32(n), numErr == nil, passwd)
}

func scanIDs(r io.Reader, name string, n uint32, numeric, passwd bool) (uint32, uint32, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		// name:x:id[:gid:...]
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 {
			continue
		}
		id, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil || (f[0] != name && !(numeric && uint32(id) == n)) {
			continue
		}
		var gid uint64
		if passwd && len(f) > 3 {
			gid, _ = strconv.ParseUint(f[3], 10, 32)
		}
		return uint32(id), uint32(gid), nil
	}
	if numeric {
		return n, 0, nil
	}
	what := "user"
	if !passwd {
		what = "group"
	}
	return 0, 0, fmt.Errorf("unable to find %s %s: no matching entries in %s file: %w", what, name, map[bool]string{true: "passwd", false: "group"}[passwd], errdefs.ErrNotFound)
}
