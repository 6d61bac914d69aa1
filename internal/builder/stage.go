package builder

import (
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"

	"github.com/pier-engine/pier/internal/trace"
)

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// stage is the state of one build stage: the image so far and the config
// its next step starts from.
type stage struct {
	name       string
	image      string         // "" until FROM names one (or for scratch)
	cfg        *v1.ConfigFile // the current image's config file
	run        v1.Config      // the config the next step sees
	args       map[string]*string
	argOrder   []string
	maintainer string
	cmdSet     bool
}

// builtinArgs may be given with --build-arg without an ARG; they reach
// RUN's environment but not the image's history unless declared.
var builtinArgs = map[string]bool{
	"HTTP_PROXY": true, "http_proxy": true, "HTTPS_PROXY": true, "https_proxy": true,
	"FTP_PROXY": true, "ftp_proxy": true, "NO_PROXY": true, "no_proxy": true,
	"ALL_PROXY": true, "all_proxy": true,
}

// resolveMeta evaluates the ARGs before the first FROM, in order, with
// the build args given.
func (bd *build) resolveMeta(args []instructions.ArgCommand) error {
	bd.meta = map[string]*string{}
	for _, a := range args {
		for _, kv := range a.Args {
			v := kv.Value
			if v != nil {
				s, _, err := bd.lex.ProcessWord(*v, shell.EnvsFromSlice(bd.metaEnv()))
				if err != nil {
					return invalidf("ARG %s: %w", kv.Key, err)
				}
				v = &s
			}
			if g, ok := bd.opts.BuildArgs[kv.Key]; ok && g != nil {
				v = g
			}
			bd.meta[kv.Key] = v
			bd.used[kv.Key] = true
		}
	}
	return nil
}

func (bd *build) metaEnv() []string {
	var env []string
	for k, v := range bd.meta {
		if v != nil {
			env = append(env, k+"="+*v)
		}
	}
	return env
}

// runStage runs FROM, the base image's ONBUILD triggers and the stage's
// instructions.
func (bd *build) runStage(s *instructions.Stage) (*stage, error) {
	st, err := bd.from(s)
	if err != nil {
		return nil, err
	}
	if err := bd.onBuild(st); err != nil {
		return nil, err
	}
	for _, cmd := range s.Commands {
		if err := bd.ctx.Err(); err != nil {
			return nil, err
		}
		bd.step++
		bd.printf("Step %d/%d : %s\n", bd.step, bd.total, cmd)
		trace.Mark("build", "step "+strconv.Itoa(bd.step)+" "+cmd.Name())
		if err := bd.dispatch(st, cmd); err != nil {
			return nil, err
		}
	}
	return st, nil
}

func (bd *build) from(s *instructions.Stage) (*stage, error) {
	bd.step++
	bd.printf("Step %d/%d : %s\n", bd.step, bd.total, s.SourceCode)
	base, _, err := bd.lex.ProcessWord(s.BaseName, shell.EnvsFromSlice(bd.metaEnv()))
	if err != nil {
		return nil, invalidf("FROM %s: %w", s.BaseName, err)
	}
	if base == "" {
		return nil, invalidf("base name (%s) should not be blank", s.BaseName)
	}
	st := &stage{name: strings.ToLower(s.Name), args: map[string]*string{}}
	switch prev := bd.stageNamed(base); {
	case prev != nil:
		st.image, st.cfg = prev.image, prev.cfg
	case strings.EqualFold(base, "scratch"):
		st.cfg = &v1.ConfigFile{Architecture: runtime.GOARCH, OS: "linux"}
	default:
		platform := s.Platform
		if platform != "" {
			if platform, _, err = bd.lex.ProcessWord(platform, shell.EnvsFromSlice(bd.metaEnv())); err != nil {
				return nil, invalidf("FROM --platform: %w", err)
			}
		} else {
			platform = bd.opts.Platform
		}
		id, cfg, err := bd.engine.Image(bd.ctx, base, bd.opts.Pull, platform)
		if err != nil {
			return nil, err
		}
		st.image, st.cfg = id, cfg
	}
	if st.cfg == nil {
		st.cfg = &v1.ConfigFile{Architecture: runtime.GOARCH, OS: "linux"}
	}
	st.run = cloneConfig(st.cfg.Config)
	if !slices.ContainsFunc(st.run.Env, func(kv string) bool { return strings.HasPrefix(kv, "PATH=") }) {
		st.run.Env = append(st.run.Env, "PATH="+defaultPath)
	}
	st.run.OpenStdin, st.run.StdinOnce = false, false
	if st.image != "" {
		bd.printf(" ---> %s\n", shortID(st.image))
	}
	return st, nil
}

// stageNamed finds an earlier stage by name or index.
func (bd *build) stageNamed(name string) *stage {
	if i, err := strconv.Atoi(name); err == nil && i >= 0 && i < len(bd.stages) {
		return bd.stages[i]
	}
	for _, s := range bd.stages {
		if s.name != "" && strings.EqualFold(s.name, name) {
			return s
		}
	}
	return nil
}

// onBuild runs the base image's triggers, then clears them.
func (bd *build) onBuild(st *stage) error {
	triggers := st.run.OnBuild
	st.run.OnBuild = nil
	if len(triggers) == 0 {
		return nil
	}
	bd.printf("# Executing %d build trigger", len(triggers))
	if len(triggers) > 1 {
		bd.printf("s")
	}
	bd.printf("\n")
	for _, t := range triggers {
		res, err := parser.Parse(strings.NewReader(t))
		if err != nil {
			return parseError(err)
		}
		for _, n := range res.AST.Children {
			cmd, err := instructions.ParseCommand(n)
			if err != nil {
				return parseError(err)
			}
			if err := bd.dispatch(st, cmd); err != nil {
				return err
			}
		}
	}
	return nil
}

// env is what ${VAR} expands from in the next step: the config's
// variables and the declared build args they do not shadow.
func (bd *build) env(st *stage) []string {
	return append(slices.Clone(st.run.Env), bd.argEnv(st, st.run.Env)...)
}

// argEnv lists the build args in scope as K=V, sorted, leaving out those
// env sets.
func (bd *build) argEnv(st *stage, env []string) []string {
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	var out []string
	for _, k := range st.argOrder {
		if v := st.args[k]; v != nil && !set[k] {
			out = append(out, k+"="+*v)
		}
	}
	for k, v := range bd.opts.BuildArgs {
		if builtinArgs[k] && v != nil && !set[k] {
			if _, declared := st.args[k]; !declared {
				out = append(out, k+"="+*v)
			}
		}
	}
	slices.Sort(out)
	return out
}

// declare handles one ARG of the stage.
func (bd *build) declare(st *stage, key string, def *string) {
	v := def
	if v == nil {
		if m, ok := bd.meta[key]; ok {
			v = m
		}
	}
	if g, ok := bd.opts.BuildArgs[key]; ok && g != nil {
		v = g
	}
	if _, ok := st.args[key]; !ok {
		st.argOrder = append(st.argOrder, key)
	}
	st.args[key] = v
	bd.used[key] = true
}

func cloneConfig(c v1.Config) v1.Config {
	c.Cmd = slices.Clone(c.Cmd)
	c.Entrypoint = slices.Clone(c.Entrypoint)
	c.Env = slices.Clone(c.Env)
	c.OnBuild = slices.Clone(c.OnBuild)
	c.Shell = slices.Clone(c.Shell)
	if c.Labels != nil {
		m := make(map[string]string, len(c.Labels))
		for k, v := range c.Labels {
			m[k] = v
		}
		c.Labels = m
	}
	c.Volumes = cloneSet(c.Volumes)
	c.ExposedPorts = cloneSet(c.ExposedPorts)
	if c.Healthcheck != nil {
		h := *c.Healthcheck
		h.Test = slices.Clone(h.Test)
		c.Healthcheck = &h
	}
	return c
}

func cloneSet(m map[string]struct{}) map[string]struct{} {
	if m == nil {
		return nil
	}
	out := make(map[string]struct{}, len(m))
	for k := range m {
		out[k] = struct{}{}
	}
	return out
}

func (st *stage) shell() []string {
	if len(st.run.Shell) > 0 {
		return slices.Clone(st.run.Shell)
	}
	return []string{"/bin/sh", "-c"}
}

// probe is the config a step is cached and recorded under: the stage's
// config with Cmd naming the step.
func (st *stage) probe(cmd []string) v1.Config {
	p := cloneConfig(st.run)
	p.Cmd = cmd
	p.Image = st.image
	return p
}

// nop is the Cmd of a step that runs nothing, as dockerd records it
// ("#(nop) " and the comment as two words, so history shows two spaces).
func (st *stage) nop(comment string) []string {
	return append(st.shell(), "#(nop) ", comment)
}

// nopString is nop as one word, as dockerd records WORKDIR, COPY and ADD.
func (st *stage) nopString(comment string) []string {
	return append(st.shell(), "#(nop) "+comment)
}

// cached looks the step up; on a hit the stage moves to that image.
func (bd *build) cached(st *stage, probe v1.Config) (bool, error) {
	if bd.opts.NoCache {
		return false, nil
	}
	id := bd.fromCache(st, probe)
	if id == "" {
		return false, nil
	}
	id, cfg, err := bd.engine.Image(bd.ctx, id, false, "")
	if err != nil {
		return false, nil // the image is gone: a miss
	}
	bd.printf(" ---> Using cache\n ---> %s\n", shortID(id))
	st.image, st.cfg = id, cfg
	return true, nil
}

// commit makes the step's image from the stage's config and the
// container's writable layer ("" for none) and moves the stage to it.
func (bd *build) commit(st *stage, probe v1.Config, container string) error {
	now := v1.Time{Time: time.Now().UTC()}
	run := cloneConfig(st.run)
	run.Image = st.image
	cfg := &v1.ConfigFile{
		Architecture: st.cfg.Architecture, OS: st.cfg.OS, Variant: st.cfg.Variant, OSVersion: st.cfg.OSVersion,
		Author: st.maintainer, Created: now, Container: container,
		History: append(slices.Clone(st.cfg.History), v1.History{
			Created: now, CreatedBy: joinCmd(probe.Cmd), Author: st.maintainer,
		}),
		Config: run,
	}
	id, err := bd.commitStep(st.image, container, cfg, probe)
	if err != nil {
		return err
	}
	if err := bd.cache.put(cacheKey(st.image, probe), id); err != nil {
		return err
	}
	st.image, st.cfg = id, cfg
	return nil
}

// commitNop records a metadata-only step.
func (bd *build) commitNop(st *stage, comment string) error {
	probe := st.probe(st.nop(comment))
	if hit, err := bd.cached(st, probe); err != nil || hit {
		return err
	}
	if err := bd.commit(st, probe, ""); err != nil {
		return err
	}
	bd.printf(" ---> %s\n", shortID(st.image))
	return nil
}
