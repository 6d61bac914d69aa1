package builder

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// dispatch runs one instruction: variables expanded first, as dockerd
// does, from the stage's env and build args.
func (bd *build) dispatch(st *stage, cmd instructions.Command) error {
	if ex, ok := cmd.(instructions.SupportsSingleWordExpansion); ok {
		if _, isRun := cmd.(*instructions.RunCommand); !isRun {
			env := shell.EnvsFromSlice(bd.env(st))
			err := ex.Expand(func(word string) (string, error) {
				s, _, err := bd.lex.ProcessWord(word, env)
				return s, err
			})
			if err != nil {
				return located(cmd, err)
			}
		}
	}
	if err := bd.dispatchCmd(st, cmd); err != nil {
		return err
	}
	return nil
}

func located(cmd instructions.Command, err error) error {
	line := 0
	if loc := cmd.Location(); len(loc) > 0 {
		line = loc[0].Start.Line
	}
	return invalidf("dockerfile line %d: %s: %w", line, cmd.Name(), err)
}

func (bd *build) dispatchCmd(st *stage, cmd instructions.Command) error {
	switch c := cmd.(type) {
	case *instructions.RunCommand:
		return bd.runStep(st, c)
	case *instructions.CopyCommand:
		return bd.copyStep(st, copyStep{name: "COPY", sd: c.SourcesAndDest, from: c.From, chown: c.Chown, chmod: c.Chmod, cmd: cmd, link: c.Link, parents: c.Parents, exclude: c.ExcludePatterns})
	case *instructions.AddCommand:
		return bd.copyStep(st, copyStep{name: "ADD", sd: c.SourcesAndDest, chown: c.Chown, chmod: c.Chmod, cmd: cmd, add: true, link: c.Link, exclude: c.ExcludePatterns, checksum: c.Checksum})
	case *instructions.WorkdirCommand:
		return bd.workdir(st, c)
	case *instructions.VolumeCommand:
		return bd.volume(st, c)
	case *instructions.ArgCommand:
		var msg strings.Builder
		msg.WriteString("ARG ")
		for i, kv := range c.Args {
			if i > 0 {
				msg.WriteString(" ")
			}
			msg.WriteString(kv.Key)
			if kv.Value != nil {
				msg.WriteString("=" + *kv.Value)
			}
			bd.declare(st, kv.Key, kv.Value)
		}
		return bd.commitNop(st, msg.String())
	case *instructions.ExposeCommand:
		// BuildKit's ExposeCommand has no Expand; dockerd expands each
		// port to words ($PORTS="80 443" is two ports).
		env := shell.EnvsFromSlice(bd.env(st))
		var ports []string
		for _, p := range c.Ports {
			words, err := bd.lex.ProcessWords(p, env)
			if err != nil {
				return located(cmd, err)
			}
			ports = append(ports, words...)
		}
		c.Ports = ports
	case *instructions.HealthCheckCommand:
		if h := st.run.Healthcheck; h != nil && len(h.Test) > 0 && h.Test[0] != "NONE" {
			bd.printf("Note: overriding previous HEALTHCHECK: %v\n", h.Test)
		}
	}
	msg, err := applyMeta(st, cmd)
	if err != nil {
		return err
	}
	return bd.commitNop(st, msg)
}

// applyMeta applies an instruction that only changes the config and
// returns the comment dockerd records for it.
func applyMeta(st *stage, cmd instructions.Command) (string, error) {
	switch c := cmd.(type) {
	case *instructions.EnvCommand:
		msg := "ENV"
		for _, kv := range c.Env {
			st.run.Env = setEnv(st.run.Env, kv.Key, kv.Value)
			msg += " " + kv.String()
		}
		return msg, nil
	case *instructions.LabelCommand:
		msg := "LABEL"
		if st.run.Labels == nil {
			st.run.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			st.run.Labels[kv.Key] = kv.Value
			msg += " " + kv.String()
		}
		return msg, nil
	case *instructions.MaintainerCommand:
		st.maintainer = c.Maintainer
		return "MAINTAINER " + c.Maintainer, nil
	case *instructions.ExposeCommand:
		if st.run.ExposedPorts == nil {
			st.run.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			ports, err := parsePorts(p)
			if err != nil {
				return "", located(c, err)
			}
			for _, pp := range ports {
				st.run.ExposedPorts[pp] = struct{}{}
			}
		}
		return "EXPOSE " + strings.Join(c.Ports, " "), nil
	case *instructions.UserCommand:
		st.run.User = c.User
		return "USER " + c.User, nil
	case *instructions.VolumeCommand:
		if st.run.Volumes == nil {
			st.run.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if strings.TrimSpace(v) == "" {
				return "", located(cmd, fmt.Errorf("VOLUME specified can not be an empty string"))
			}
			st.run.Volumes[v] = struct{}{}
		}
		return fmt.Sprintf("VOLUME %v", c.Volumes), nil
	case *instructions.StopSignalCommand:
		if err := validSignal(c.Signal); err != nil {
			return "", located(cmd, err)
		}
		st.run.StopSignal = c.Signal
		return "STOPSIGNAL " + c.Signal, nil
	case *instructions.HealthCheckCommand:
		h := c.Health
		hc := &v1.HealthConfig{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
		st.run.Healthcheck = hc
		// dockerd 20.10 records its HealthConfig struct with %q.
		return fmt.Sprintf("HEALTHCHECK &{%q %q %q %q %q}", hc.Test, hc.Interval, hc.Timeout, hc.StartPeriod, rune(hc.Retries)), nil
	case *instructions.ShellCommand:
		st.run.Shell = c.Shell
		return fmt.Sprintf("SHELL %v", c.Shell), nil
	case *instructions.OnbuildCommand:
		st.run.OnBuild = append(st.run.OnBuild, c.Expression)
		return "ONBUILD " + c.Expression, nil
	case *instructions.CmdCommand:
		st.run.Cmd = st.cmdLine(c.ShellDependantCmdLine)
		st.cmdSet = true
		return fmt.Sprintf("CMD %q", st.run.Cmd), nil
	case *instructions.EntrypointCommand:
		st.run.Entrypoint = st.cmdLine(c.ShellDependantCmdLine)
		if !st.cmdSet {
			st.run.Cmd = nil
		}
		return fmt.Sprintf("ENTRYPOINT %q", st.run.Entrypoint), nil
	}
	return "", located(cmd, fmt.Errorf("%s is not supported by the classic builder", strings.ToUpper(cmd.Name())))
}

func setEnv(env []string, key, value string) []string {
	for i, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// cmdLine turns CMD, ENTRYPOINT or RUN arguments into argv: the shell
// form goes through the stage's SHELL.
func (st *stage) cmdLine(c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return c.CmdLine
	}
	line := strings.Join(c.CmdLine, " ")
	if len(c.Files) > 0 {
		if h := parser.MustParseHeredoc(line); h != nil && len(c.Files) == 1 {
			// RUN <<EOF: the heredoc is the script.
			line = c.Files[0].Data
		} else {
			// A command reading heredocs: the shell handles them.
			for _, f := range c.Files {
				line += "\n" + f.Data + f.Name
			}
		}
	}
	return append(st.shell(), line)
}

// parsePorts reads "80", "80/udp" or "8000-8002/tcp".
func parsePorts(spec string) ([]string, error) {
	port, proto, _ := strings.Cut(spec, "/")
	if proto == "" {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" && proto != "sctp" {
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	lo, hi, isRange := strings.Cut(port, "-")
	a, err := strconv.ParseUint(lo, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("Invalid containerPort: %s", port)
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
			return nil, fmt.Errorf("Invalid containerPort: %s", port)
		}
	}
	var out []string
	for i := a; i <= b; i++ {
		out = append(out, fmt.Sprintf("%d/%s", i, proto))
	}
	return out, nil
}

func validSignal(s string) error {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return fmt.Errorf("Invalid signal: %s", s)
		}
		return nil
	}
	name := strings.TrimPrefix(strings.ToUpper(s), "SIG")
	if name == "" || strings.ContainsAny(name, " /") {
		return fmt.Errorf("Invalid signal: %s", s)
	}
	return nil
}

// workdir sets the working directory and creates it in the image, as
// dockerd does (an empty layer when it already exists).
func (bd *build) workdir(st *stage, c *instructions.WorkdirCommand) error {
	wd := c.Path
	if !path.IsAbs(wd) {
		base := st.run.WorkingDir
		if base == "" {
			base = "/"
		}
		wd = path.Join(base, wd)
	}
	st.run.WorkingDir = path.Clean(wd)
	probe := st.probe(st.nopString("WORKDIR " + st.run.WorkingDir))
	if hit, err := bd.cached(st, probe); err != nil || hit {
		return err
	}
	id, dir, err := bd.engine.Mount(bd.ctx, st.image)
	if err != nil {
		return err
	}
	bd.cleanup = append(bd.cleanup, id)
	if err := mkdirIn(dir, st.run.WorkingDir); err != nil {
		return located(c, err)
	}
	if err := bd.commit(st, probe, id); err != nil {
		return err
	}
	bd.release(id)
	bd.printf(" ---> %s\n", shortID(st.image))
	return nil
}
