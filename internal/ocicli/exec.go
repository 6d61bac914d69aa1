package ocicli

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/runtime"
)

type execFlags struct {
	processFile   string
	tty           bool
	detach        bool
	pidFile       string
	consoleSocket string
	env           []string
	cwd           string
	user          string
	groups        []string
	caps          []string
	noNewPrivs    bool
	preserveFds   int
}

func execCmd(g *globals) *cobra.Command {
	var ef execFlags
	cmd := &cobra.Command{
		Use:   "exec [flags] ID [COMMAND [ARG...]]",
		Short: "run a new process in a running container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			rt, err := g.runtime()
			if err != nil {
				return err
			}
			rec, err := rt.ExecRecord(args[0])
			if err != nil {
				return err
			}
			proc, err := ef.process(rec.Spec.Process, args[1:])
			if err != nil {
				return err
			}
			o := runtime.ExecOpts{Process: proc, ConsoleSocket: ef.consoleSocket, PidFile: ef.pidFile, PreserveFds: ef.preserveFds, Record: rec}
			if ef.detach {
				_, err := rt.Exec(args[0], o)
				return err
			}
			code, err := rt.ExecForeground(args[0], o)
			if err != nil {
				return err
			}
			return &exitError{code: code}
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&ef.processFile, "process", "p", "", "process.json describing the process (other process flags then ignored)")
	f.BoolVarP(&ef.tty, "tty", "t", false, "allocate a pseudo-terminal")
	f.BoolVarP(&ef.detach, "detach", "d", false, "do not wait for the process")
	f.StringVar(&ef.pidFile, "pid-file", "", "file to write the process's pid to")
	f.StringVar(&ef.consoleSocket, "console-socket", "", "unix socket that receives the pty master")
	f.StringArrayVarP(&ef.env, "env", "e", nil, "set an environment variable (KEY=value)")
	f.StringVar(&ef.cwd, "cwd", "", "working directory in the container")
	f.StringVarP(&ef.user, "user", "u", "", "uid[:gid]")
	f.StringArrayVarP(&ef.groups, "additional-gids", "g", nil, "additional gid")
	f.StringArrayVarP(&ef.caps, "cap", "c", nil, "add a capability")
	f.BoolVar(&ef.noNewPrivs, "no-new-privs", false, "set no_new_privs")
	f.IntVar(&ef.preserveFds, "preserve-fds", 0, "pass this many fds, from 3 on, to the process")
	return cmd
}

// process builds the exec'd process: from -p, or from the container's own
// process with the command line's overrides, as runc does.
func (ef *execFlags) process(base *specs.Process, args []string) (*specs.Process, error) {
	if ef.processFile != "" {
		b, err := os.ReadFile(ef.processFile)
		if err != nil {
			return nil, fmt.Errorf("--process %s: %w", ef.processFile, err)
		}
		var p specs.Process
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("--process %s: %w", ef.processFile, err)
		}
		return &p, nil
	}
	if len(args) == 0 {
		return nil, fmt.Errorf("exec: no command given and no --process file")
	}
	p := *base
	p.Args = args
	p.Terminal = ef.tty
	p.ConsoleSize = nil
	p.Env = append(append([]string{}, base.Env...), ef.env...)
	if ef.cwd != "" {
		p.Cwd = ef.cwd
	}
	if ef.noNewPrivs {
		p.NoNewPrivileges = true
	}
	if ef.user != "" {
		u, err := parseUser(ef.user)
		if err != nil {
			return nil, err
		}
		p.User = u
	}
	for _, g := range ef.groups {
		n, err := strconv.ParseUint(g, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("--additional-gids %q: not a number", g)
		}
		p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(n))
	}
	if len(ef.caps) > 0 {
		c := specs.LinuxCapabilities{}
		if base.Capabilities != nil {
			c = *base.Capabilities
		}
		c.Bounding = append(append([]string{}, c.Bounding...), ef.caps...)
		c.Effective = append(append([]string{}, c.Effective...), ef.caps...)
		c.Permitted = append(append([]string{}, c.Permitted...), ef.caps...)
		p.Capabilities = &c
	}
	return &p, nil
}

func parseUser(s string) (specs.User, error) {
	uidStr, gidStr, hasGid := strings.Cut(s, ":")
	uid, err := strconv.ParseUint(uidStr, 10, 32)
	if err != nil {
		return specs.User{}, fmt.Errorf("--user %q: uid is not a number", s)
	}
	u := specs.User{UID: uint32(uid)}
	if hasGid {
		gid, err := strconv.ParseUint(gidStr, 10, 32)
		if err != nil {
			return specs.User{}, fmt.Errorf("--user %q: gid is not a number", s)
		}
		u.GID = uint32(gid)
	}
	return u, nil
}
