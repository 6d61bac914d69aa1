package runtime

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/hooks"
	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/syncmsg"
	"github.com/pier-engine/pier/internal/trace"
)

// chooseInit picks the container process's init before it is spawned: the
// C init, with its process part checked now (a bad config fails before
// anything runs), or the Go init when cinitFallback names a reason. The
// timeline shows which, and why.
func chooseInit(opts *spawnOpts, cfg *syncmsg.InitConfig, spec *specs.Spec, filter func() (*seccompBPF, error)) (*procPlan, error) {
	if why := cinitFallback(cfg); why != "" {
		trace.Mark("runtime", "init: Go ("+why+")")
		return nil, nil
	}
	pp, err := planProcess(spec, cfg.Process, filter)
	if err != nil {
		return nil, err
	}
	opts.bootstrap.CInit = true
	trace.Mark("runtime", "init: C, process checked")
	return pp, nil
}

// initContainerC drives the C init through the container's setup: the
// plan, the runtime-namespace hooks at the hooks point, then ready.
func (r *Runtime) initContainerC(c *child, rec *Record, cfg *syncmsg.InitConfig, pp *procPlan) error {
	plan, err := createPlan(cfg, c.pid, pp)
	if err != nil {
		return err
	}
	if err := sendPlan(c, plan); err != nil {
		return err
	}
	rec.Creating = true
	if err := r.save(rec); err != nil {
		return err
	}
	trace.Mark("runtime", "plan sent, state saved")
	if err := expectC(c, nsenter.MsgHooks); err != nil {
		return err
	}
	trace.Mark("runtime", "mounts done (hooks point)")
	if h := rec.Spec.Hooks; h != nil {
		if err := hooks.Run("createRuntime", h.CreateRuntime, creatingState(rec)); err != nil {
			return err
		}
	}
	if _, err := c.sock.Write(nsenter.Continue()); err != nil {
		return fmt.Errorf("container setup: send continue: %w", err)
	}
	if err := expectC(c, nsenter.MsgReady); err != nil {
		return err
	}
	trace.Mark("runtime", "container ready")
	return r.setLimits(rec)
}

func sendPlan(c *child, plan *nsenter.Plan) error {
	raw, err := plan.Encode()
	if err != nil {
		return err
	}
	if _, err := c.sock.Write(raw); err != nil {
		return fmt.Errorf("container setup: send plan: %w", err)
	}
	return nil
}

// expectC reads the C init's next message, which must be want; its error
// message, or its death, becomes the error.
func expectC(c *child, want uint32) error {
	m, err := nsenter.ReadReply(c.sock)
	if err != nil {
		return fmt.Errorf("container setup: %w", err)
	}
	if m.Type == nsenter.MsgError {
		return fmt.Errorf("container setup: %w", m.AsError())
	}
	if m.Type != want {
		return fmt.Errorf("container setup: message %d from the C init, want %d", m.Type, want)
	}
	return nil
}
