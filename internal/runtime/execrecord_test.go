package runtime

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// execSpec sets everything the exec record holds.
func execSpec() *specs.Spec {
	umask, oom := uint32(0o027), -500
	return &specs.Spec{
		Process: &specs.Process{
			Terminal: true, ConsoleSize: &specs.Box{Height: 24, Width: 80},
			User: specs.User{UID: 1000, GID: 100, Umask: &umask, AdditionalGids: []uint32{10, 20}},
			Args: []string{"sh", "-c", "echo 'a\nb'"}, Env: []string{"PATH=/bin", "EMPTY=", "NL=x\ny"}, Cwd: "/tmp",
			Capabilities: &specs.LinuxCapabilities{Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Effective: []string{"CAP_KILL"},
				Permitted: []string{"CAP_KILL"}},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1 << 40, Soft: 900}, {Type: "RLIMIT_CORE"}},
			NoNewPrivileges: true, OOMScoreAdj: &oom,
		},
		Linux: &specs.Linux{
			CgroupsPath: "/pier/x",
			Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace, Path: "/run/netns/n"},
				{Type: specs.MountNamespace}, {Type: specs.CgroupNamespace}},
			Personality: &specs.LinuxPersonality{Domain: specs.PerLinux32, Flags: []specs.LinuxPersonalityFlag{"f"}},
			Seccomp:     &specs.LinuxSeccomp{DefaultAction: specs.ActAllow},
		},
		Hooks: &specs.Hooks{Poststart: []specs.Hook{{Path: "/bin/true"}}},
	}
}

func execTestRecord(spec *specs.Spec) *Record {
	return &Record{ID: "c1", Bundle: "/b", Rootfs: "/b/rootfs", Pid: 4242, PidStartTime: 1 << 35, CgroupPath: "/sys/x", Spec: spec}
}

// The exec record gives back what the whole state would, as far as exec
// reads it: the process (as state.json decodes it), namespaces, cgroup
// path, personality, and that there is a filter.
func TestExecRecordRoundTrip(t *testing.T) {
	for name, edit := range map[string]func(*specs.Spec){
		"everything": func(*specs.Spec) {},
		"bare": func(s *specs.Spec) {
			s.Process = &specs.Process{Args: []string{"true"}, Cwd: "/"}
			s.Linux = &specs.Linux{}
			s.Hooks = nil
		},
	} {
		spec := execSpec()
		edit(spec)
		rec := execTestRecord(spec)
		b := encodeExecRecord(rec)
		if b == nil {
			t.Fatalf("%s: no exec record", name)
		}
		got, err := decodeExecRecord(b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		raw, _ := json.Marshal(rec)
		var want Record
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if !got.lean || got.ID != want.ID || got.Bundle != want.Bundle || got.Rootfs != want.Rootfs || got.Pid != want.Pid ||
			got.PidStartTime != want.PidStartTime || got.CgroupPath != want.CgroupPath || got.Creating {
			t.Errorf("%s: record %+v, want %+v", name, got, want)
		}
		if !reflect.DeepEqual(got.Spec.Process, want.Spec.Process) {
			t.Errorf("%s: process\n%+v\nwant\n%+v", name, got.Spec.Process, want.Spec.Process)
		}
		gl, wl := got.Spec.Linux, want.Spec.Linux
		if !reflect.DeepEqual(gl.Namespaces, wl.Namespaces) || gl.CgroupsPath != wl.CgroupsPath ||
			!reflect.DeepEqual(gl.Personality, wl.Personality) {
			t.Errorf("%s: linux %+v, want %+v", name, gl, wl)
		}
		if (got.bpf != nil) != (wl.Seccomp != nil) {
			t.Errorf("%s: filter expected %v, got %v", name, wl.Seccomp != nil, got.bpf != nil)
		}
	}
}

// Every field of specs.Process is either carried by the exec record or
// makes create write none: a field added by a new runtime-spec fails here
// until it is sorted into one of the two.
func TestExecRecordCoversEveryProcessField(t *testing.T) {
	carried := map[string]bool{"Terminal": true, "ConsoleSize": true, "User": true, "Args": true, "Env": true, "Cwd": true,
		"Capabilities": true, "Rlimits": true, "NoNewPrivileges": true, "OOMScoreAdj": true}
	refused := map[string]func(*specs.Process){
		"CommandLine":     func(p *specs.Process) { p.CommandLine = "x" },
		"ApparmorProfile": func(p *specs.Process) { p.ApparmorProfile = "x" },
		"SelinuxLabel":    func(p *specs.Process) { p.SelinuxLabel = "x" },
		"IOPriority":      func(p *specs.Process) { p.IOPriority = &specs.LinuxIOPriority{} },
		"Scheduler":       func(p *specs.Process) { p.Scheduler = &specs.Scheduler{} },
		"ExecCPUAffinity": func(p *specs.Process) { p.ExecCPUAffinity = &specs.CPUAffinity{} },
	}
	pt := reflect.TypeOf(specs.Process{})
	for i := 0; i < pt.NumField(); i++ {
		f := pt.Field(i).Name
		if !carried[f] && refused[f] == nil {
			t.Errorf("specs.Process.%s is neither carried by the exec record nor refused", f)
		}
	}
	ut := reflect.TypeOf(specs.User{})
	for i := 0; i < ut.NumField(); i++ {
		if f := ut.Field(i).Name; f != "UID" && f != "GID" && f != "Umask" && f != "AdditionalGids" && f != "Username" {
			t.Errorf("specs.User.%s is neither carried by the exec record nor refused", f)
		}
	}
	refused["User.Username"] = func(p *specs.Process) { p.User.Username = "x" }
	for f, set := range refused {
		s := execSpec()
		set(s.Process)
		if encodeExecRecord(execTestRecord(s)) != nil {
			t.Errorf("an exec record was made for a process with %s", f)
		}
	}
	for name, edit := range map[string]func(*specs.Spec){
		"user namespace": func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		},
		"uid mappings":    func(s *specs.Spec) { s.Linux.UIDMappings = []specs.LinuxIDMapping{{Size: 1}} },
		"createContainer": func(s *specs.Spec) { s.Hooks.CreateContainer = []specs.Hook{{Path: "/x"}} },
		"startContainer":  func(s *specs.Spec) { s.Hooks.StartContainer = []specs.Hook{{Path: "/x"}} },
		"no process":      func(s *specs.Spec) { s.Process = nil },
	} {
		s := execSpec()
		edit(s)
		if encodeExecRecord(execTestRecord(s)) != nil {
			t.Errorf("an exec record was made for a container with %s", name)
		}
	}
}

// A damaged or foreign file is an error, never a panic or a half record.
func TestExecRecordRefusesDamage(t *testing.T) {
	b := encodeExecRecord(execTestRecord(execSpec()))
	for n := 0; n < len(b); n++ {
		if _, err := decodeExecRecord(b[:n]); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", n, len(b))
		}
	}
	if _, err := decodeExecRecord(append(append([]byte{}, b...), 0)); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Errorf("trailing bytes: %v", err)
	}
	other := append([]byte("pier exec record 2\n"), b[len(execRecordMagic):]...)
	if _, err := decodeExecRecord(other); err == nil {
		t.Error("another format version decoded")
	}
}

// ExecRecord takes the exec record when there is a usable one, and the
// whole state otherwise: a container made by an older binary (no exec
// record), a filter whose BPF is missing, a record naming another id, a
// record not at the start of the file.
func TestExecRecordFallsBackToTheState(t *testing.T) {
	r := &Runtime{Root: t.TempDir()}
	rec := execTestRecord(execSpec())
	if err := os.Mkdir(r.dir(rec.ID), 0o700); err != nil {
		t.Fatal(err)
	}
	save := func(exec []byte) {
		t.Helper()
		rec.Exec = exec
		if err := r.save(rec); err != nil {
			t.Fatal(err)
		}
	}
	lean := func() bool {
		t.Helper()
		got, err := r.ExecRecord(rec.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Process.Cwd != "/tmp" || got.Pid != 4242 {
			t.Fatalf("record %+v", got)
		}
		if !got.lean && got.Spec.Linux.Seccomp == nil {
			t.Fatal("the whole state came back without its seccomp")
		}
		return got.lean
	}
	save(nil)
	if lean() {
		t.Error("no exec record, yet a lean record")
	}
	save(encodeExecRecord(rec))
	if lean() {
		t.Error("a filter without seccomp.bpf, yet a lean record")
	}
	bpf := append([]byte{0, 0, 0, 0}, make([]byte, 8)...)
	if err := os.WriteFile(filepath.Join(r.dir(rec.ID), bpfFile), bpf, 0o600); err != nil {
		t.Fatal(err)
	}
	if !lean() {
		t.Error("the exec record was not taken")
	}
	if got, _ := r.ExecRecord(rec.ID); got.bpf == nil || len(got.bpf.prog) != 8 {
		t.Errorf("filter %+v, want seccomp.bpf's", got.bpf)
	}
	other := *rec
	other.ID = "c2"
	save(encodeExecRecord(&other))
	if lean() {
		t.Error("a record naming another container was taken")
	}
	save(encodeExecRecord(rec))
	b, _ := os.ReadFile(filepath.Join(r.dir(rec.ID), stateFile))
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	moved, _ := json.Marshal(m) // keys sorted: "bundle" comes first
	if err := os.WriteFile(filepath.Join(r.dir(rec.ID), stateFile), moved, 0o600); err != nil {
		t.Fatal(err)
	}
	if lean() {
		t.Error("an exec record that is not at the start of the state was taken")
	}
	if _, err := r.ExecRecord("missing"); err == nil {
		t.Error("a missing container was found")
	}
	if _, err := r.ExecRecord("../x"); err == nil {
		t.Error("a bad id was accepted")
	}
}

// The exec record is where exec looks for it: first in the state file.
func TestExecRecordLeadsTheState(t *testing.T) {
	rec := execTestRecord(execSpec())
	rec.Exec = encodeExecRecord(rec)
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), execRecordPrefix) {
		t.Errorf("the state starts %.40q, not with the exec record", b)
	}
	rec.Exec = nil
	if b, _ := json.Marshal(rec); strings.HasPrefix(string(b), execRecordPrefix) {
		t.Errorf("a state without an exec record starts %.40q", b)
	}
}

func TestValidateID(t *testing.T) {
	for _, id := range []string{"a", "A-b_c.d+e", "0", strings.Repeat("x", 1024)} {
		if err := ValidateID(id); err != nil {
			t.Errorf("%q: %v", id, err)
		}
	}
	for _, id := range []string{"", ".", "..", "a/b", "a b", "é", "a\x00", strings.Repeat("x", 1025), "a:b"} {
		if err := ValidateID(id); err == nil {
			t.Errorf("%q was accepted", id)
		}
	}
}
