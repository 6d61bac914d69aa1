package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// Registry says how StartRegistry configures the registry.
type Registry struct {
	Delete   bool   // manifests and blobs can be deleted
	HTPasswd string // an htpasswd file: basic auth in the realm "pier-test"
}

// StartRegistry runs Debian's docker-registry on a free 127.0.0.1 port
// with temp storage and returns its host:port. Cleanup kills it by pid and
// logs its output when the test failed.
func StartRegistry(t *testing.T, opt Registry) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := t.TempDir()
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n", filepath.Join(dir, "data"))
	if opt.Delete {
		yml += "  delete:\n    enabled: true\n"
	}
	yml += fmt.Sprintf("http:\n  addr: %s\n", addr)
	if opt.HTPasswd != "" {
		yml += fmt.Sprintf("auth:\n  htpasswd:\n    realm: pier-test\n    path: %s\n", opt.HTPasswd)
	}
	conf := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(conf, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("docker-registry", "serve", conf)
	// Its access log only matters when something failed.
	log := &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("docker-registry's log:\n%s", log)
		}
	})
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr
		}
	}
	t.Fatalf("docker-registry did not listen on %s", addr)
	return ""
}
