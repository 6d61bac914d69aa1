package caps

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestTableMatchesKernelNumbers(t *testing.T) {
	for name, want := range map[string]int{
		"CAP_CHOWN": unix.CAP_CHOWN, "CAP_KILL": unix.CAP_KILL, "CAP_SETPCAP": unix.CAP_SETPCAP,
		"CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN,
		"CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE, "CAP_SETFCAP": unix.CAP_SETFCAP,
		"CAP_AUDIT_READ": unix.CAP_AUDIT_READ, "CAP_PERFMON": unix.CAP_PERFMON, "CAP_BPF": unix.CAP_BPF,
		"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
	} {
		if got, ok := Number(name); !ok || got != want {
			t.Errorf("%s = %d, want %d", name, got, want)
		}
	}
	if len(names) != unix.CAP_LAST_CAP+1 {
		t.Errorf("%d names, x/sys knows %d capabilities", len(names), unix.CAP_LAST_CAP+1)
	}
}

func TestParseMasks(t *testing.T) {
	s, err := parse(&specs.LinuxCapabilities{
		Bounding:    []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"},
		Effective:   []string{"CAP_KILL"},
		Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
		Inheritable: []string{"CAP_NET_BIND_SERVICE"},
		Ambient:     []string{"CAP_NET_BIND_SERVICE", "CAP_NET_BIND_SERVICE"},
	}, 40)
	if err != nil {
		t.Fatal(err)
	}
	want := [5]uint64{1<<0 | 1<<5 | 1<<10 | 1<<29, 1 << 5, 1<<5 | 1<<10, 1 << 10, 1 << 10}
	if got := [5]uint64{s.Bounding, s.Effective, s.Permitted, s.Inheritable, s.Ambient}; got != want {
		t.Errorf("parsed %#x, want %#x", got, want)
	}
	if n := Names(s.Bounding); !reflect.DeepEqual(n, []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_AUDIT_WRITE"}) {
		t.Errorf("Names = %v", n)
	}
	if len(s.Ignored()) != 0 {
		t.Errorf("ignored %v", s.Ignored())
	}
}

func TestParseUnknownNamesTheSet(t *testing.T) {
	for set, c := range map[string]*specs.LinuxCapabilities{
		"bounding":    {Bounding: []string{"CAP_KILL", "CAP_FOO"}},
		"effective":   {Effective: []string{"CAP_FOO"}},
		"permitted":   {Permitted: []string{"CAP_FOO"}},
		"inheritable": {Inheritable: []string{"CAP_FOO"}},
		"ambient":     {Ambient: []string{"CAP_FOO"}},
	} {
		_, err := parse(c, 40)
		want := `process.capabilities.` + set + `: unknown capability "CAP_FOO"`
		if err == nil || err.Error() != want {
			t.Errorf("error %v, want %q", err, want)
		}
	}
	if _, err := parse(&specs.LinuxCapabilities{Bounding: []string{"cap_kill"}}, 40); err == nil {
		t.Errorf("a lower-case name was accepted; runc refuses it")
	}
}

func TestParseIgnoresWhatTheKernelLacks(t *testing.T) {
	s, err := parse(&specs.LinuxCapabilities{
		Bounding:  []string{"CAP_KILL", "CAP_BPF", "CAP_CHECKPOINT_RESTORE"},
		Effective: []string{"CAP_PERFMON"},
	}, 37) // a 5.4 kernel: CAP_AUDIT_READ is its last
	if err != nil {
		t.Fatal(err)
	}
	if s.Bounding != 1<<5 || s.Effective != 0 {
		t.Errorf("masks %#x %#x, want only CAP_KILL", s.Bounding, s.Effective)
	}
	ig := strings.Join(s.Ignored(), "\n")
	for _, want := range []string{"bounding: CAP_BPF", "bounding: CAP_CHECKPOINT_RESTORE", "effective: CAP_PERFMON", "cap_last_cap 37"} {
		if !strings.Contains(ig, want) {
			t.Errorf("ignored notes %q lack %q", ig, want)
		}
	}
}

func TestParseNil(t *testing.T) {
	s, err := parse(nil, 40)
	if err != nil || s.Bounding|s.Effective|s.Permitted|s.Inheritable|s.Ambient != 0 {
		t.Errorf("nil: %+v %v", s, err)
	}
}

func TestNamesBeyondTable(t *testing.T) {
	if got := Names(1<<5 | 1<<63); !reflect.DeepEqual(got, []string{"CAP_KILL", "CAP_63"}) {
		t.Errorf("Names = %v", got)
	}
	if len(Known()) != len(names) || Known()[0] != "CAP_AUDIT_CONTROL" {
		t.Errorf("Known = %v", Known())
	}
}
