package daemon

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestResolveExecUserHostileFiles: a container's /etc/passwd or
// /etc/group that is a FIFO, a link to /dev/zero or a link out of the
// rootfs must neither block exec -u (nor cp with uid/gid) nor be read.
func TestResolveExecUserHostileFiles(t *testing.T) {
	host := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(host, []byte("hostuser:x:4242:4242::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]func(p string) error{
		"fifo":           func(p string) error { return syscall.Mkfifo(p, 0o644) },
		"dev zero":       func(p string) error { return os.Symlink("/dev/zero", p) },
		"host file link": func(p string) error { return os.Symlink(host, p) },
	}
	for name, mk := range cases {
		for _, file := range []string{"passwd", "group"} {
			t.Run(name+" "+file, func(t *testing.T) {
				root := t.TempDir()
				etc := filepath.Join(root, "etc")
				os.Mkdir(etc, 0o755)
				os.WriteFile(filepath.Join(etc, "passwd"), []byte("root:x:0:0::/root:/bin/sh\n"), 0o644)
				os.WriteFile(filepath.Join(etc, "group"), []byte("root:x:0:\n"), 0o644)
				p := filepath.Join(etc, file)
				os.Remove(p)
				if err := mk(p); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					u, err := resolveExecUser(root, "hostuser:hostuser")
					if err == nil && u.UID == 4242 {
						t.Errorf("read the host's passwd through the link: uid %d", u.UID)
					}
					done <- err
				}()
				select {
				case err := <-done:
					if err == nil {
						t.Error("a name resolved through a hostile file")
					}
				case <-time.After(5 * time.Second):
					t.Fatal("exec user lookup still blocked after 5 s")
				}
			})
		}
	}
}
