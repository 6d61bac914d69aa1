package main

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/daemon"
	"github.com/pier-engine/pier/internal/errdefs"
)

func TestConfigure(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(file, []byte(`{"root": "/srv/pier", "socket": "/srv/pier.sock", "group": "wheel"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"--config", file, "--host", "unix:///tmp/x.sock", "--group", ""}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configure(o)
	if err != nil {
		t.Fatal(err)
	}
	// The file sets root; flags win over it for the socket and the group.
	want := daemon.Config{Root: "/srv/pier", Socket: "/tmp/x.sock", Group: "", Hosts: []string{"unix:///tmp/x.sock"},
		TLSCACert: daemon.DefaultTLSCACert, TLSCert: daemon.DefaultTLSCert, TLSKey: daemon.DefaultTLSKey}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("config = %+v, want %+v", cfg, want)
	}
}

// TestConfigureHosts: -H and --host add up; the file's hosts and TLS
// settings are taken, flags win; docker-socket adds Docker's socket.
func TestConfigureHosts(t *testing.T) {
	file := filepath.Join(t.TempDir(), "daemon.json")
	if err := os.WriteFile(file, []byte(`{"hosts": ["unix:///srv/a.sock", "tcp://127.0.0.1:2376"], "tlsverify": true,
		"tlscacert": "/c/ca.pem", "docker-socket": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags([]string{"--config", file, "--tlscert", "/c/cert.pem"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := configure(o)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := cfg.Listeners()
	if err != nil {
		t.Fatal(err)
	}
	want := []daemon.Listener{{Proto: "unix", Addr: "/srv/a.sock"}, {Proto: "tcp", Addr: "127.0.0.1:2376"},
		{Proto: "unix", Addr: daemon.DefaultDockerSocket, Docker: true}}
	if !reflect.DeepEqual(ls, want) || !cfg.TLSVerify || cfg.TLSCACert != "/c/ca.pem" || cfg.TLSCert != "/c/cert.pem" || cfg.TLSKey != daemon.DefaultTLSKey {
		t.Errorf("listeners %+v, config %+v", ls, cfg)
	}
	o, err = parseFlags([]string{"-H", "unix:///tmp/a.sock", "--host", "tcp://:2375", "-H", "tcp://[::1]:2377"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err = configure(o); err != nil {
		t.Fatal(err)
	}
	ls, _ = cfg.Listeners()
	want = []daemon.Listener{{Proto: "unix", Addr: "/tmp/a.sock"}, {Proto: "tcp", Addr: ":2375"}, {Proto: "tcp", Addr: "[::1]:2377"}}
	if !reflect.DeepEqual(ls, want) || cfg.Socket != "/tmp/a.sock" {
		t.Errorf("listeners %+v, socket %s", ls, cfg.Socket)
	}
}

// TestListenTCPRule: plain TCP off loopback is refused before anything
// is bound; on loopback it is served.
func TestListenTCPRule(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg0 := daemon.Config{Root: "/r", Socket: "/s", Hosts: []string{"fd://"}}
	if _, err := listen(cfg0, log); err == nil || !strings.Contains(err.Error(), "socket activation") {
		t.Errorf("fd:// without activation: %v", err)
	}
	for _, h := range []string{"tcp://0.0.0.0:0", "tcp://:0", "tcp://10.1.2.3:0"} {
		cfg := daemon.Config{Root: "/r", Socket: "/s", Hosts: []string{h}}
		if _, err := listen(cfg, log); err == nil || !strings.Contains(err.Error(), "--tlsverify") {
			t.Errorf("%s without --tlsverify: %v", h, err)
		}
	}
	cfg := daemon.Config{Root: "/r", Socket: "/s", Hosts: []string{"unix://" + filepath.Join(t.TempDir(), "a.sock"), "tcp://127.0.0.1:0"}}
	ls, err := listen(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ls {
		l.Close()
	}
	if len(ls) != 2 || ls[1].Addr().Network() != "tcp" {
		t.Errorf("listeners %v", ls)
	}
	// A failure half-way closes what was opened: the socket can be made again.
	sock := filepath.Join(t.TempDir(), "b.sock")
	cfg.Hosts = []string{"unix://" + sock, "tcp://127.0.0.1:0"}
	cfg.TLS, cfg.TLSCert, cfg.TLSKey = true, "/nonexistent/cert.pem", "/nonexistent/key.pem"
	if _, err := listen(cfg, log); err == nil {
		t.Fatal("TLS without its certificate accepted")
	}
	if c, err := net.Dial("unix", sock); err == nil {
		c.Close()
		t.Error("the Unix socket stayed open after the failure")
	}
}

func TestConfigureRefuses(t *testing.T) {
	for _, args := range [][]string{
		{"--host", "ssh://me@host"},
		{"--host", "tcp://127.0.0.1"},
		{"-H", "unix://relative.sock"},
		{"-H", "unix:///a.sock", "-H", "unix:///a.sock"},
		{"--root", "relative"},
		{"--config", filepath.Join(t.TempDir(), "missing.json")},
	} {
		o, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := configure(o); err == nil {
			t.Errorf("configure %v: no error", args)
		}
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Error("a stray argument was accepted")
	}
	o, _ := parseFlags([]string{"--root", "rel"}, io.Discard)
	if _, err := configure(o); !errors.Is(err, errdefs.ErrInvalidArgument) {
		t.Errorf("relative root: %v, want ErrInvalidArgument", err)
	}
}

func TestSocketGID(t *testing.T) {
	if gid, err := socketGID("", nil); err != nil || gid != -1 {
		t.Errorf("no group = %d, %v", gid, err)
	}
	if _, err := socketGID("no-such-group-pier-test", nil); err == nil {
		t.Error("an absent named group was accepted")
	}
	if gid, err := socketGID("root", nil); err != nil || gid != 0 {
		t.Errorf("root group = %d, %v", gid, err)
	}
}

// Without activation meant for pierd, listen creates the configured socket
// and clears variables that a parent left for someone else.
func TestListenWithoutActivation(t *testing.T) {
	t.Setenv("LISTEN_PID", "1")
	t.Setenv("LISTEN_FDS", "1")
	cfg := daemon.Config{Socket: filepath.Join(t.TempDir(), "pier.sock")}
	ls, err := listen(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	l := ls[0]
	defer l.Close()
	if got := l.Addr().String(); got != cfg.Socket {
		t.Errorf("listening on %q, want %q", got, cfg.Socket)
	}
	if v, ok := os.LookupEnv("LISTEN_FDS"); ok {
		t.Errorf("LISTEN_FDS=%q left for pierd's children", v)
	}
}
