package userns

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/testutil"
)

// nsInfo reads, from a namespace file, its inode and its owning user
// namespace's inode (NS_GET_USERNS).
func nsInfo(t *testing.T, path string) (ino, owner uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	const nsGetUserns = 0xb701 // _IO(0xb7, 0x1)
	fd, err := unix.IoctlRetInt(int(f.Fd()), nsGetUserns)
	if err != nil {
		t.Fatalf("NS_GET_USERNS %s: %v", path, err)
	}
	defer unix.Close(fd)
	var ost unix.Stat_t
	if err := unix.Fstat(fd, &ost); err != nil {
		t.Fatal(err)
	}
	return st.Ino, ost.Ino
}

func TestNewPodOwnsItsNamespaces(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "userns")
	dir := t.TempDir()
	p := Paths{User: filepath.Join(dir, "user"), Net: filepath.Join(dir, "net"), IPC: filepath.Join(dir, "ipc"), UTS: filepath.Join(dir, "uts")}
	m := Mapping{HostID: 200000, Size: 65536}
	if err := NewPod(p, m, Mapping{HostID: 300000, Size: 1000}, "userns-pod"); err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, f := range []string{p.User, p.Net, p.IPC, p.UTS} {
			if err := Delete(f); err != nil {
				t.Error(err)
			}
		}
	}()
	user, _ := nsInfo(t, p.User)
	for _, f := range []string{p.Net, p.IPC, p.UTS} {
		if _, owner := nsInfo(t, f); owner != user {
			t.Errorf("%s is owned by user namespace %d, want the pod's %d", f, owner, user)
		}
	}
	// The maps, as a process that joins the namespace sees them: read
	// through a holder-like child is heavy; a thread cannot join a user
	// namespace, so ask the kernel with a process started in it.
	out := runIn(t, p.User, p.UTS, "cat /proc/self/uid_map /proc/self/gid_map; hostname; cat /proc/self/setgroups")
	want := []string{"0 200000 65536", "0 300000 1000", "userns-pod", "allow"}
	got := strings.Split(strings.TrimSpace(out), "\n")
	for i := range got {
		got[i] = strings.Join(strings.Fields(got[i]), " ")
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("inside: %q, want %q", got, want)
	}
}

func TestNewPodFailureLeavesNothing(t *testing.T) {
	testutil.RequiresRoot(t)
	testutil.Requires(t, "userns")
	dir := t.TempDir()
	p := Paths{User: filepath.Join(dir, "user"), UTS: filepath.Join(dir, "uts")}
	// a hostname longer than the kernel's 64 bytes: the holder fails
	err := NewPod(p, Mapping{HostID: 200000, Size: 65536}, Mapping{HostID: 200000, Size: 65536}, strings.Repeat("h", 65))
	if err == nil || !strings.Contains(err.Error(), "sethostname") {
		t.Fatalf("NewPod with a 65-byte hostname: %v, want the holder's sethostname error", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}
	if err := NewPod(Paths{User: filepath.Join(dir, "user")}, Mapping{HostID: 1, Size: 1}, Mapping{HostID: 1, Size: 1}, "x"); err == nil {
		t.Error("a hostname without a UTS namespace: no error")
	}
	if err := NewPod(Paths{User: filepath.Join(dir, "missing", "user")}, Mapping{HostID: 1, Size: 1}, Mapping{HostID: 1, Size: 1}, ""); err == nil {
		t.Error("a user namespace file in a missing directory: no error")
	}
}

func TestGrantSearchLetsOnlyThatUidPass(t *testing.T) {
	testutil.RequiresRoot(t)
	dir := t.TempDir()
	locked := filepath.Join(dir, "locked")
	if err := os.Mkdir(locked, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(locked, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, filepath.Dir(dir)} { // t.TempDir's are 0700
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	canRead := func(uid int) bool {
		return asUID(t, uid, "cat "+filepath.Join(locked, "f")) == "x"
	}
	if canRead(200000) {
		t.Fatal("uid 200000 reads through a 0700 directory before any grant")
	}
	if err := GrantSearch(locked, 200000); err != nil {
		t.Fatal(err)
	}
	if !canRead(200000) {
		t.Error("uid 200000 cannot read after GrantSearch")
	}
	if canRead(200001) {
		t.Error("uid 200001 reads too: the grant is not for one uid")
	}
	if asUID(t, 200000, "ls "+locked) != "" {
		t.Error("uid 200000 can list the directory: search only was granted")
	}
	if err := RevokeSearch(locked, 200000); err != nil {
		t.Fatal(err)
	}
	if canRead(200000) {
		t.Error("uid 200000 still reads after RevokeSearch")
	}
	st, err := os.Stat(locked)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 {
		t.Errorf("mode after revoke %#o, want 0700 again", st.Mode().Perm())
	}
	if _, err := unix.Getxattr(locked, aclXattr, make([]byte, 64)); err != unix.ENODATA {
		t.Errorf("an ACL is left after revoke: %v", err)
	}
	if err := RevokeSearch(filepath.Join(dir, "gone"), 200000); err != nil {
		t.Errorf("revoke on a missing directory: %v", err)
	}
}
