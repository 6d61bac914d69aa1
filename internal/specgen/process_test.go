package specgen

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/go-units"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/pier-engine/pier/internal/errdefs"
)

func TestArgs(t *testing.T) {
	for _, tc := range []struct {
		name             string
		imgEntry, imgCmd []string
		entry, cmd       []string
		init             *bool
		want             []string
	}{
		{name: "image cmd", imgCmd: []string{"sh"}, init: ptr(false), want: []string{"sh"}},
		{name: "image entry+cmd", imgEntry: []string{"/e"}, imgCmd: []string{"a"}, init: ptr(false), want: []string{"/e", "a"}},
		{name: "config cmd replaces image cmd", imgEntry: []string{"/e"}, imgCmd: []string{"a"}, cmd: []string{"b"}, init: ptr(false), want: []string{"/e", "b"}},
		{name: "config entry drops image cmd", imgEntry: []string{"/e"}, imgCmd: []string{"a"}, entry: []string{"/x"}, init: ptr(false), want: []string{"/x"}},
		{name: "config entry and cmd", imgCmd: []string{"a"}, entry: []string{"/x"}, cmd: []string{"y"}, init: ptr(false), want: []string{"/x", "y"}},
		{name: "empty entry keeps image cmd", imgEntry: []string{"/e"}, imgCmd: []string{"a"}, entry: []string{""}, init: ptr(false), want: []string{"a"}},
		{name: "init default on", imgCmd: []string{"sleep", "1"}, want: []string{InitTarget, "--", "sleep", "1"}},
		{name: "init true", imgCmd: []string{"sh"}, init: ptr(true), want: []string{InitTarget, "--", "sh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := input(t)
			in.Image.Config.Entrypoint, in.Image.Config.Cmd = tc.imgEntry, tc.imgCmd
			in.Config.Entrypoint, in.Config.Cmd = tc.entry, tc.cmd
			in.HostConfig.Init = tc.init
			s := build(t, in)
			if !slices.Equal(s.Process.Args, tc.want) {
				t.Errorf("args = %q, want %q", s.Process.Args, tc.want)
			}
			m, ok := mountAt(s, InitTarget)
			if on := tc.init == nil || *tc.init; on != ok {
				t.Errorf("init mount present = %v, want %v", ok, on)
			} else if ok && (m.Source != in.InitPath || !slices.Contains(m.Options, "ro")) {
				t.Errorf("init mount = %+v, want read-only bind of %s", m, in.InitPath)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	in := input(t)
	in.Image.Config.Env = []string{"PATH=/img/bin", "A=image", "B=image", "GONE=x"}
	in.Config.Env = []string{"B=config", "C=config", "GONE"}
	in.Config.Hostname = "web"
	in.Config.Tty = true
	s := build(t, in)
	want := []string{"PATH=/img/bin", "HOSTNAME=web", "TERM=xterm", "A=image", "B=config", "C=config", "HOME=/root"}
	if !slices.Equal(s.Process.Env, want) {
		t.Errorf("env = %q, want %q", s.Process.Env, want)
	}
}

func TestEnvDefaults(t *testing.T) {
	in := input(t)
	in.Image.Config.Env = nil
	s := build(t, in)
	if v, _ := envValue(s, "PATH"); v != defaultPath {
		t.Errorf("PATH = %q, want Docker's default", v)
	}
	if v, _ := envValue(s, "HOSTNAME"); v != testID[:12] {
		t.Errorf("HOSTNAME = %q, want the short id", v)
	}
	if s.Hostname != testID[:12] {
		t.Errorf("hostname = %q, want the short id", s.Hostname)
	}
}

func TestWorkingDir(t *testing.T) {
	in := input(t)
	if s := build(t, in); s.Process.Cwd != "/" {
		t.Errorf("cwd = %q, want /", s.Process.Cwd)
	}
	in.Image.Config.WorkingDir = "/app"
	if s := build(t, in); s.Process.Cwd != "/app" {
		t.Errorf("cwd = %q, want the image's /app", s.Process.Cwd)
	}
	in.Config.WorkingDir = "/srv/./x/"
	if s := build(t, in); s.Process.Cwd != "/srv/x" {
		t.Errorf("cwd = %q, want /srv/x", s.Process.Cwd)
	}
}

func TestUser(t *testing.T) {
	for _, tc := range []struct {
		user     string
		groupAdd []string
		uid, gid uint32
		extra    []uint32
		home     string
	}{
		{user: "", uid: 0, gid: 0, home: "/root"},
		{user: "www", uid: 33, gid: 33, extra: []uint32{29, 44}, home: "/var/www"},
		{user: "33", uid: 33, gid: 33, extra: []uint32{29, 44}, home: "/var/www"},
		{user: "www:staff", uid: 33, gid: 50, home: "/var/www"},
		{user: "1234", uid: 1234, gid: 0, home: "/"},
		{user: "1234:5678", uid: 1234, gid: 5678, home: "/"},
		{user: "nobody", groupAdd: []string{"audio", "99"}, uid: 65534, gid: 65534, extra: []uint32{29, 99}, home: "/nonexistent"},
	} {
		t.Run(tc.user, func(t *testing.T) {
			in := input(t)
			in.Config.User = tc.user
			in.HostConfig.GroupAdd = tc.groupAdd
			s := build(t, in)
			u := s.Process.User
			if u.UID != tc.uid || u.GID != tc.gid || !slices.Equal(u.AdditionalGids, tc.extra) {
				t.Errorf("user = %d:%d %v, want %d:%d %v", u.UID, u.GID, u.AdditionalGids, tc.uid, tc.gid, tc.extra)
			}
			if h, _ := envValue(s, "HOME"); h != tc.home {
				t.Errorf("HOME = %q, want %q", h, tc.home)
			}
		})
	}
}

func TestUserFromImage(t *testing.T) {
	in := input(t)
	in.Image.Config.User = "www"
	if u := build(t, in).Process.User; u.UID != 33 {
		t.Errorf("uid = %d, want the image's www (33)", u.UID)
	}
}

// A passwd that is a symlink out of the rootfs is refused, never read.
func TestUserPasswdSymlinkOut(t *testing.T) {
	in := input(t)
	outside := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(outside, []byte("evil:x:7:7::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pw := filepath.Join(in.Rootfs, "etc/passwd")
	if err := os.Remove(pw); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../.."+outside, pw); err != nil {
		t.Fatal(err)
	}
	in.Config.User = "evil"
	_, err := Build(in)
	if err == nil || !strings.Contains(err.Error(), "Config.User") {
		t.Fatalf("Build = %v, want an error naming Config.User", err)
	}
}

func TestNoPasswdNumericOnly(t *testing.T) {
	in := input(t)
	in.Rootfs = t.TempDir()
	in.Config.User = "1000:1000"
	if u := build(t, in).Process.User; u.UID != 1000 || u.GID != 1000 {
		t.Errorf("user = %d:%d, want 1000:1000", u.UID, u.GID)
	}
	in.Config.User = "www"
	if _, err := Build(in); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("Build with a name and no passwd = %v, want ErrInvalidArgument", err)
	}
}

func TestProcessMisc(t *testing.T) {
	in := input(t)
	in.HostConfig.OomScoreAdj = 500
	in.HostConfig.Umask = ptr(uint32(0o027))
	in.Config.Tty = true
	in.HostConfig.ConsoleSize = [2]uint{24, 80}
	in.HostConfig.Ulimits = []*units.Ulimit{{Name: "nofile", Soft: 1024, Hard: 4096}, {Name: "core", Soft: -1, Hard: -1}}
	s := build(t, in)
	p := s.Process
	if p.OOMScoreAdj == nil || *p.OOMScoreAdj != 500 {
		t.Errorf("oomScoreAdj = %v, want 500", p.OOMScoreAdj)
	}
	if p.User.Umask == nil || *p.User.Umask != 0o027 {
		t.Errorf("umask = %v, want 027", p.User.Umask)
	}
	if !p.Terminal || p.ConsoleSize == nil || p.ConsoleSize.Height != 24 || p.ConsoleSize.Width != 80 {
		t.Errorf("terminal = %v %+v, want a 24x80 tty", p.Terminal, p.ConsoleSize)
	}
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096}, {Type: "RLIMIT_CORE", Soft: ^uint64(0), Hard: ^uint64(0)}}
	if !slices.Equal(p.Rlimits, want) {
		t.Errorf("rlimits = %+v, want %+v", p.Rlimits, want)
	}
}

func TestStopSignalAndTimeout(t *testing.T) {
	in := input(t)
	out, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if out.StopSignal != "SIGTERM" || out.StopTimeout != 10*time.Second {
		t.Errorf("defaults = %s %v, want SIGTERM 10s", out.StopSignal, out.StopTimeout)
	}
	in.Image.Config.StopSignal = "SIGQUIT"
	if out, _ = Build(in); out.StopSignal != "SIGQUIT" {
		t.Errorf("stop signal = %s, want the image's SIGQUIT", out.StopSignal)
	}
	in.Config.StopSignal = "SIGUSR1"
	in.Config.StopTimeout = ptr(3)
	if out, _ = Build(in); out.StopSignal != "SIGUSR1" || out.StopTimeout != 3*time.Second {
		t.Errorf("config = %s %v, want SIGUSR1 3s", out.StopSignal, out.StopTimeout)
	}
}

func TestLabelsAnnotationsHostname(t *testing.T) {
	in := input(t)
	in.Image.Config.Labels = map[string]string{"a": "image", "b": "image"}
	in.Config.Labels = map[string]string{"b": "config"}
	in.HostConfig.Annotations = map[string]string{"c": "annotation"}
	in.Config.Hostname, in.Config.Domainname = "web", "example.org"
	s := build(t, in)
	if s.Annotations["a"] != "image" || s.Annotations["b"] != "config" || s.Annotations["c"] != "annotation" {
		t.Errorf("annotations = %v", s.Annotations)
	}
	if s.Hostname != "web" || s.Domainname != "example.org" {
		t.Errorf("hostname = %q.%q, want web.example.org", s.Hostname, s.Domainname)
	}
	if s.Linux.CgroupsPath != "/pier/"+testID {
		t.Errorf("cgroupsPath = %q, want /pier/<id>", s.Linux.CgroupsPath)
	}
	in.HostConfig.CgroupParent = "/pier/mine"
	if s := build(t, in); s.Linux.CgroupsPath != "/pier/mine/"+testID {
		t.Errorf("cgroupsPath = %q, want HostConfig.CgroupParent's", s.Linux.CgroupsPath)
	}
}
