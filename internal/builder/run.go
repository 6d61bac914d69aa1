package builder

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/moby/moby/api/types/container"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

// runStep runs a RUN in a container made from the stage's image and
// commits its writable layer. The step is cached under the command with
// the build args it saw ("|N K=V... cmd", as dockerd records it).
func (bd *build) runStep(st *stage, c *instructions.RunCommand) error {
	if len(c.FlagsUsed) > 0 {
		return located(c, fmt.Errorf("the --%s option requires BuildKit", c.FlagsUsed[0]))
	}
	args := st.cmdLine(c.ShellDependantCmdLine)
	argEnv := bd.argEnv(st, st.run.Env)
	save := args
	if len(argEnv) > 0 {
		var recorded []string
		for _, kv := range argEnv {
			k := kv[:indexEq(kv)]
			if _, declared := st.args[k]; declared || !builtinArgs[k] {
				recorded = append(recorded, kv)
			}
		}
		save = append(append([]string{"|" + strconv.Itoa(len(recorded))}, recorded...), args...)
	}
	probe := st.probe(save)
	probe.Entrypoint = nil
	if hit, err := bd.cached(st, probe); err != nil || hit {
		return err
	}
	cfg := cloneConfig(st.run)
	runCfg := container.Config{
		Image: st.image, Cmd: args, Entrypoint: []string{""},
		Env: append(cfg.Env, argEnv...), User: cfg.User, WorkingDir: cfg.WorkingDir,
		Labels: cfg.Labels, Shell: cfg.Shell, StopSignal: cfg.StopSignal,
	}
	host := bd.opts.Host
	id, err := bd.engine.Create(bd.ctx, &runCfg, &host)
	if err != nil {
		return err
	}
	keep := !bd.opts.Remove && !bd.opts.ForceRemove
	bd.printf(" ---> Running in %s\n", shortID(id))
	code, err := bd.engine.Start(bd.ctx, id, bd.out, stderrWriter{bd.out})
	if err == nil && code != 0 {
		err = &ExitError{Cmd: args, Code: code}
	}
	if err != nil {
		bd.cleanup = append(bd.cleanup, id)
		var ee *ExitError
		if errors.As(err, &ee) {
			return invalidf("%w", err)
		}
		return err
	}
	// The history records the step as the cache saw it; the image keeps
	// the stage's config.
	if err := bd.commit(st, probe, id); err != nil {
		bd.cleanup = append(bd.cleanup, id)
		return err
	}
	if !keep {
		bd.printf("Removing intermediate container %s\n", shortID(id))
		bd.release(id)
	}
	bd.printf(" ---> %s\n", shortID(st.image))
	return nil
}

func indexEq(kv string) int {
	for i := range kv {
		if kv[i] == '=' {
			return i
		}
	}
	return len(kv)
}
