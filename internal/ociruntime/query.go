package ociruntime

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Ps lists the host pids of container id's processes (`ps --format json`),
// in the runtime's order.
func (c CLI) Ps(ctx context.Context, id string) ([]int, error) {
	out, err := c.output(ctx, "ps "+id, "ps", "--format", "json", id)
	if err != nil {
		return nil, err
	}
	var pids []int
	if err := json.Unmarshal(out, &pids); err != nil {
		return nil, fmt.Errorf("ps %s: decode %q: %w", id, trim(out), err)
	}
	return pids, nil
}

// Stats reads one stats event of container id (`events --stats`) and
// decodes its data, the runtime's cgroup snapshot, into data.
func (c CLI) Stats(ctx context.Context, id string, data any) error {
	out, err := c.output(ctx, "events --stats "+id, "events", "--stats", id)
	if err != nil {
		return err
	}
	ev := struct {
		Type string `json:"type"`
		Data any    `json:"data"`
	}{Data: data}
	if err := json.Unmarshal(bytes.TrimSpace(out), &ev); err != nil {
		return fmt.Errorf("events --stats %s: decode %q: %w", id, trim(out), err)
	}
	if ev.Type != "stats" {
		return fmt.Errorf("events --stats %s: a %q event, want stats", id, ev.Type)
	}
	return nil
}

// State is container id's OCI state document (`state`).
func (c CLI) State(ctx context.Context, id string) (specs.State, error) {
	var st specs.State
	out, err := c.output(ctx, "state "+id, "state", id)
	if err != nil {
		return st, err
	}
	if err := json.Unmarshal(out, &st); err != nil {
		return st, fmt.Errorf("state %s: decode %q: %w", id, trim(out), err)
	}
	return st, nil
}

// Resources are the limits Update changes; a zero field is left as it is.
type Resources struct {
	Memory, MemorySwap, CPUShares int64
	CPUPeriod, CPUQuota           int64
	CpusetCpus                    string
	PidsLimit                     int64
}

// Flags are update's flags for the set fields of r.
func (r Resources) Flags() []string {
	var a []string
	i := func(flag string, v int64) {
		if v != 0 {
			a = append(a, flag, strconv.FormatInt(v, 10))
		}
	}
	i("--memory", r.Memory)
	i("--memory-swap", r.MemorySwap)
	i("--cpu-shares", r.CPUShares)
	i("--cpu-period", r.CPUPeriod)
	i("--cpu-quota", r.CPUQuota)
	if r.CpusetCpus != "" {
		a = append(a, "--cpuset-cpus", r.CpusetCpus)
	}
	i("--pids-limit", r.PidsLimit)
	return a
}

// Update changes the limits of live container id; with no field set it
// runs nothing.
func (c CLI) Update(ctx context.Context, id string, r Resources) error {
	flags := r.Flags()
	if len(flags) == 0 {
		return nil
	}
	return c.run(ctx, "update "+id, append(append([]string{"update"}, flags...), id)...)
}

// trim shortens a runtime's output for an error message.
func trim(b []byte) string {
	const max = 200
	b = bytes.TrimSpace(b)
	if len(b) > max {
		return string(b[:max]) + "..."
	}
	return string(b)
}

// Version is the runtime's version: the last word of the first line of
// `--version` ("runc version 1.1.5", "crun version 1.8.1").
func (c CLI) Version(ctx context.Context) (string, error) {
	out, err := c.output(ctx, "--version", "--version")
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(out), "\n")
	f := strings.Fields(line)
	if len(f) == 0 {
		return "", fmt.Errorf("%s --version: no version in %q", c.Path, trim(out))
	}
	return f[len(f)-1], nil
}
