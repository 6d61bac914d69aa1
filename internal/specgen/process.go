package specgen

import (
	"errors"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultPath is Docker's PATH for a container whose image sets none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func setProcess(in Input, s *specs.Spec) error {
	p := s.Process
	args, err := command(in)
	if err != nil {
		return err
	}
	if initOn(in) {
		if in.InitPath == "" {
			return invalid("Input.InitPath", errors.New("empty while HostConfig.Init is on"))
		}
		args = append([]string{InitTarget, "--"}, args...)
	}
	p.Args = args
	p.Terminal = in.Config.Tty
	if in.Config.Tty && in.HostConfig.ConsoleSize != [2]uint{} {
		p.ConsoleSize = &specs.Box{Height: in.HostConfig.ConsoleSize[0], Width: in.HostConfig.ConsoleSize[1]}
	}
	if p.Cwd, err = workingDir(in); err != nil {
		return err
	}
	u, err := resolveUser(in)
	if err != nil {
		return err
	}
	p.User = u.spec
	p.User.Umask = in.HostConfig.Umask
	p.Env = environment(in, u.home)
	if n := in.HostConfig.OomScoreAdj; n < -1000 || n > 1000 {
		return invalid("HostConfig.OomScoreAdj", fmt.Errorf("%d is outside [-1000, 1000]", n))
	} else if n != 0 {
		p.OOMScoreAdj = &n
	}
	p.Rlimits, err = rlimits(in.HostConfig.Ulimits)
	return err
}

// initOn is pier's default: pier-init runs as PID 1 unless Init is false.
func initOn(in Input) bool {
	return in.HostConfig.Init == nil || *in.HostConfig.Init
}

// command applies Docker's override rules: a container entrypoint replaces
// the image's and then drops the image's Cmd; a container Cmd replaces the
// image's. Entrypoint [""] (docker run --entrypoint "") clears the image's
// entrypoint but keeps its Cmd.
func command(in Input) ([]string, error) {
	img := imageConfig(in)
	entry, cmd := in.Config.Entrypoint, in.Config.Cmd
	if len(entry) == 1 && entry[0] == "" {
		entry = []string{}
	}
	if len(entry) == 0 {
		if len(cmd) == 0 {
			cmd = img.Cmd
		}
		if entry == nil {
			entry = img.Entrypoint
		}
	}
	args := append(slices.Clone(entry), cmd...)
	if len(args) == 0 || args[0] == "" {
		return nil, invalid("Config.Cmd", errors.New("no command specified"))
	}
	return args, nil
}

func workingDir(in Input) (string, error) {
	wd := in.Config.WorkingDir
	if wd == "" {
		wd = imageConfig(in).WorkingDir
	}
	if wd == "" {
		return "/", nil
	}
	if !path.IsAbs(wd) {
		return "", invalid("Config.WorkingDir", fmt.Errorf("%q is not an absolute path", wd))
	}
	return path.Clean(wd), nil
}

// environment builds Docker's order: PATH, HOSTNAME, TERM (with a tty), then
// the image's variables with the container's replacing or appended. A
// container variable without "=" removes that name. HOME comes last, from
// the user's passwd entry, when nothing else set it.
func environment(in Input, home string) []string {
	env := []string{"PATH=" + defaultPath}
	if h := hostname(in); h != "" {
		env = append(env, "HOSTNAME="+h)
	}
	if in.Config.Tty {
		env = append(env, "TERM=xterm")
	}
	env = mergeEnv(env, imageConfig(in).Env)
	env = mergeEnv(env, in.Config.Env)
	if !slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, "HOME=") }) {
		env = append(env, "HOME="+home)
	}
	return env
}

func mergeEnv(env, over []string) []string {
	for _, kv := range over {
		name, _, hasValue := strings.Cut(kv, "=")
		i := slices.IndexFunc(env, func(e string) bool { return strings.HasPrefix(e, name+"=") })
		switch {
		case !hasValue && i >= 0:
			env = slices.Delete(env, i, i+1)
		case !hasValue:
		case i >= 0:
			env[i] = kv
		default:
			env = append(env, kv)
		}
	}
	return env
}

// rlimitNames are the names docker run --ulimit accepts.
var rlimitNames = []string{
	"as", "core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue",
	"nice", "nofile", "nproc", "rss", "rtprio", "rttime", "sigpending", "stack",
}

func rlimits(ulimits []*units.Ulimit) ([]specs.POSIXRlimit, error) {
	var out []specs.POSIXRlimit
	for _, u := range ulimits {
		if u == nil {
			continue
		}
		if !slices.Contains(rlimitNames, u.Name) {
			return nil, invalid("HostConfig.Ulimits", fmt.Errorf("unknown ulimit %q", u.Name))
		}
		if u.Soft < -1 || u.Hard < -1 || (u.Hard != -1 && (u.Soft == -1 || u.Soft > u.Hard)) {
			return nil, invalid("HostConfig.Ulimits", fmt.Errorf("%s: soft %d, hard %d", u.Name, u.Soft, u.Hard))
		}
		out = append(out, specs.POSIXRlimit{
			Type: "RLIMIT_" + strings.ToUpper(u.Name),
			Soft: uint64(u.Soft), // -1 is unlimited: RLIM_INFINITY
			Hard: uint64(u.Hard),
		})
	}
	return out, nil
}
