package signame

import (
	"os"
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	good := map[string]syscall.Signal{
		"15": syscall.SIGTERM, "TERM": syscall.SIGTERM, "SIGTERM": syscall.SIGTERM, "sigkill": syscall.SIGKILL,
		"KILL": syscall.SIGKILL, "usr1": syscall.SIGUSR1, "RTMIN+2": syscall.Signal(36), "64": syscall.Signal(64),
	}
	for in, want := range good {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "65", "-1", "SIGFOO", "RTMIN+40", "TERM2"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

func TestOfAndName(t *testing.T) {
	got := Of("HUP", "WINCH")
	if len(got) != 2 || got[0] != syscall.SIGHUP || got[1] != syscall.SIGWINCH {
		t.Fatalf("Of = %v", got)
	}
	for sig, want := range map[os.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGIO: "IO", syscall.SIGABRT: "ABRT",
		syscall.Signal(40): "40", os.Interrupt: "INT"} {
		if n := Name(sig); n != want {
			t.Errorf("Name(%v) = %q, want %q", sig, n, want)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("Of of an unknown name did not panic")
		}
	}()
	Of("BOGUS")
}
