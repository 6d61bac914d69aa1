package preamble_test

import (
	"testing"

	"github.com/pier-engine/pier/internal/nsenter"
	"github.com/pier-engine/pier/internal/nsenter/preamble"
	"github.com/pier-engine/pier/internal/trace"
)

// TestConstantsMatchHeader keeps protocol.go and nsenter.h from drifting.
func TestConstantsMatchHeader(t *testing.T) {
	h := preamble.HeaderValues()
	checks := []struct {
		name   string
		goSide int
	}{
		{"magic", nsenter.BootstrapMagic}, {"version", nsenter.BootstrapVersion}, {"max join", nsenter.MaxJoin},
		{"max cgroup", nsenter.MaxCgroup}, {"cg tasks", nsenter.CgroupTasks}, {"cg v2dir", nsenter.CgroupV2Dir},
		{"max path", nsenter.MaxPath}, {"max timens", nsenter.MaxTimens}, {"usermap", nsenter.MsgUsermap},
		{"usermap ack", nsenter.MsgUsermapAck}, {"pid", nsenter.MsgPID}, {"error", nsenter.MsgError},
		{"reply size", nsenter.ReplySize}, {"header size", 28},
		{"hooks", nsenter.MsgHooks}, {"continue", nsenter.MsgContinue}, {"ready", nsenter.MsgReady},
		{"plan magic", nsenter.PlanMagic}, {"plan version", nsenter.PlanVersion}, {"plan max", nsenter.PlanMax},
		{"op max", int(nsenter.OpExec)}, {"op mask", int(nsenter.OpMask)}, {"op sysctl", int(nsenter.OpSysctl)},
	}
	for _, c := range checks {
		if c.goSide != h[c.name] {
			t.Errorf("%s: protocol.go says %#x, nsenter.h says %#x", c.name, c.goSide, h[c.name])
		}
	}
	if got, want := preamble.HeaderNames(), [4]string{nsenter.NamePreamble, nsenter.NameInit, nsenter.CommPreamble, nsenter.CommInit}; got != want {
		t.Errorf("process names: nsenter.h %q, protocol.go %q", got, want)
	}
	if len(nsenter.CommPreamble) > 15 || len(nsenter.CommInit) > 15 || len(nsenter.NameInit) > len(nsenter.NamePreamble) {
		t.Errorf("comm names over 15 characters, or an init name longer than the preamble's room")
	}
	if trace.Env != preamble.HeaderTraceEnv() {
		t.Errorf("trace env: internal/trace %q vs nsenter.h %q", trace.Env, preamble.HeaderTraceEnv())
	}
	if nsenter.BootstrapEnv != preamble.HeaderEnv() {
		t.Errorf("bootstrap env: %q vs %q", nsenter.BootstrapEnv, preamble.HeaderEnv())
	}
}
