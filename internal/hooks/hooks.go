// Package hooks runs OCI lifecycle hooks: each one a program that gets the
// container's state as JSON on stdin, within its timeout. The caller picks
// the moment and the namespace; this package only runs the programs.
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Run runs hooks in order and stops at the first failure. stage names them
// in errors ("prestart", "poststop", ...).
func Run(stage string, hs []specs.Hook, state *specs.State) error {
	if len(hs) == 0 {
		return nil
	}
	in, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("%s hooks: encode state: %w", stage, err)
	}
	for i, h := range hs {
		if err := runOne(h, in); err != nil {
			return fmt.Errorf("%s hook %d (%s): %w", stage, i, h.Path, err)
		}
	}
	return nil
}

// RunAll runs every hook even when some fail, and returns the failures:
// the spec wants poststart and poststop failures to be warnings that
// stop neither the other hooks nor the lifecycle.
func RunAll(stage string, hs []specs.Hook, state *specs.State) []error {
	if len(hs) == 0 {
		return nil
	}
	in, err := json.Marshal(state)
	if err != nil {
		return []error{fmt.Errorf("%s hooks: encode state: %w", stage, err)}
	}
	var errs []error
	for i, h := range hs {
		if err := runOne(h, in); err != nil {
			errs = append(errs, fmt.Errorf("%s hook %d (%s): %w", stage, i, h.Path, err))
		}
	}
	return errs
}

func runOne(h specs.Hook, state []byte) error {
	ctx := context.Background()
	if h.Timeout != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, h.Path)
	if len(h.Args) > 0 {
		cmd.Args = h.Args
	}
	cmd.Env = h.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin = bytes.NewReader(state)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("timed out after %ds", *h.Timeout)
	}
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}

// Validate checks the hooks of a config, naming the offending field.
func Validate(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	stages := []struct {
		name string
		list []specs.Hook
	}{
		{"prestart", h.Prestart}, {"createRuntime", h.CreateRuntime}, {"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer}, {"poststart", h.Poststart}, {"poststop", h.Poststop},
	}
	for _, s := range stages {
		for i, hk := range s.list {
			if !strings.HasPrefix(hk.Path, "/") {
				return fmt.Errorf("hooks.%s[%d].path: %q is not absolute", s.name, i, hk.Path)
			}
			if hk.Timeout != nil && *hk.Timeout <= 0 {
				return fmt.Errorf("hooks.%s[%d].timeout: must be positive, got %d", s.name, i, *hk.Timeout)
			}
		}
	}
	return nil
}
