package e2e_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pier-engine/pier/internal/testutil"
)

// cpRig is one pierd with a running container "cpbox" whose filesystem
// holds links that try to leave it, and a host directory with a secret
// those links name.
type cpRig struct {
	t        *testing.T
	d        *pierd
	host     string // a host directory: nothing may be written into it
	secret   string // a host file the container's links point at
	clients  map[string]string
	testsDir string
}

// cpSetup is the container's command: its files, then sleep. The host
// paths exist inside the container too, holding the container's data.
const cpSetup = `set -e
mkdir -p /d/sub "$HOSTDIR"
echo f > /d/f; echo g > /d/sub/g; ln -s f /d/flink
echo CONTAINER > "$SECRET"
ln -s "/../../..$SECRET" /etc/evil
ln -s / /up
ln -s "/../../..$HOSTDIR" /hostdir
echo ready > /ready
exec sleep 1000`

func newCpRig(t *testing.T) *cpRig {
	d := newPierd(t, "busybox", "overlay")
	dir := d.dir
	r := &cpRig{t: t, d: d, host: filepath.Join(dir, "host"), testsDir: t.TempDir()}
	r.secret = filepath.Join(r.host, "secret")
	r.clients = map[string]string{"pier": testutil.Binary(t, "pier")}
	for i, name := range []string{"docker", "docker20"} {
		if _, err := os.Stat(dockers[i]); err == nil {
			r.clients[name] = dockers[i]
		}
	}
	must(t, os.MkdirAll(r.host, 0o755))
	must(t, os.WriteFile(r.secret, []byte("HOST\n"), 0o644))
	t.Cleanup(func() { r.pier("rm", "-f", "cpbox"); r.pier("volume", "rm", "-f", "cpvol") })
	r.ok("pier", "run", "-d", "--name", "cpbox", "-v", "cpvol:/vol", "-e", "HOSTDIR="+r.host, "-e", "SECRET="+r.secret,
		"busybox", "sh", "-c", cpSetup)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, out, _ := r.pier("cp", "cpbox:/ready", "-"); code == 0 && strings.Contains(out, "ready") {
			return r
		}
		if time.Now().After(deadline) {
			_, logs, errs := r.pier("logs", "cpbox")
			t.Fatalf("cpbox not ready in 10s: %s %s", logs, errs)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (r *cpRig) pier(args ...string) (int, string, string) {
	return r.cli("pier", args...)
}

func (r *cpRig) cli(name string, args ...string) (int, string, string) {
	r.t.Helper()
	return run(r.t, r.clients[name], append([]string{"-H", r.d.host}, args...)...)
}

// ok runs a command that must succeed.
func (r *cpRig) ok(name string, args ...string) string {
	r.t.Helper()
	code, out, errs := r.cli(name, args...)
	if code != 0 {
		r.t.Fatalf("%s %v = %d, stdout %q, stderr %q", name, args, code, out, errs)
	}
	return out
}

// catIn reads a file of a container with pier cp to stdout.
func (r *cpRig) catIn(ctr, p string) (string, error) {
	code, out, errs := r.pier("cp", ctr+":"+p, "-")
	if code != 0 {
		return "", errors.New(errs)
	}
	tr := tar.NewReader(strings.NewReader(out))
	if _, err := tr.Next(); err != nil {
		return "", err
	}
	var b bytes.Buffer
	_, err := b.ReadFrom(tr)
	return b.String(), err
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Error(err)
	}
	return string(b)
}

// hostUntouched fails when anything but the secret appeared in the
// host directory, or the secret changed.
func (r *cpRig) hostUntouched(t *testing.T) {
	t.Helper()
	ents, _ := os.ReadDir(r.host)
	if len(ents) != 1 || readFile(t, r.secret) != "HOST\n" {
		t.Errorf("the host directory was written to: %v, secret %q", ents, readFile(t, r.secret))
	}
}

func TestCp(t *testing.T) {
	r := newCpRig(t)
	for name := range r.clients {
		t.Run(name, func(t *testing.T) { r.copies(t, name) })
	}
	t.Run("root", r.root)
	t.Run("malicious-tar", r.maliciousTar)
	t.Run("stopped-and-read-only", r.stopped)
}

func (r *cpRig) copies(t *testing.T, cli string) {
	out := filepath.Join(r.testsDir, cli)
	must(t, os.MkdirAll(filepath.Join(out, "contents"), 0o755))
	r.ok(cli, "cp", "cpbox:/d/f", filepath.Join(out, "f1"))
	r.ok(cli, "cp", "cpbox:/d", filepath.Join(out, "d1"))
	r.ok(cli, "cp", "cpbox:/d/.", filepath.Join(out, "contents"))
	r.ok(cli, "cp", "cpbox:/d/f", out+"/")
	if readFile(t, filepath.Join(out, "f1")) != "f\n" || readFile(t, filepath.Join(out, "d1/sub/g")) != "g\n" ||
		readFile(t, filepath.Join(out, "contents/f")) != "f\n" || readFile(t, filepath.Join(out, "f")) != "f\n" {
		t.Errorf("copies out are wrong")
	}
	if l, err := os.Readlink(filepath.Join(out, "d1/flink")); err != nil || l != "f" {
		t.Errorf("a symlink in a copied directory: %q %v, want a link to f", l, err)
	}
	// Links that point out of the container: copied as links, or with
	// -L and through /up, resolved inside the container.
	code, _, errs := r.cli(cli, "cp", "cpbox:/etc/evil", filepath.Join(out, "evil"))
	if code != 1 || !strings.Contains(errs, "invalid symlink") {
		t.Errorf("cp of the link /etc/evil out = %d %q, want the client's refusal", code, errs)
	}
	tr := tar.NewReader(strings.NewReader(r.ok(cli, "cp", "cpbox:/etc/evil", "-")))
	if hdr, err := tr.Next(); err != nil || hdr.Name != "evil" || hdr.Typeflag != tar.TypeSymlink {
		t.Errorf("the tar of /etc/evil: %+v %v, want the link itself", hdr, err)
	}
	r.ok(cli, "cp", "-L", "cpbox:/etc/evil", filepath.Join(out, "evilL"))
	r.ok(cli, "cp", "cpbox:/up"+r.secret, filepath.Join(out, "up"))
	if a, b := readFile(t, filepath.Join(out, "evilL")), readFile(t, filepath.Join(out, "up")); a != "CONTAINER\n" || b != "CONTAINER\n" {
		t.Errorf("links out of the container gave %q and %q, want the container's file", a, b)
	}
	// Copies in: a file, a directory, through a link that names a host
	// directory, and into a named volume.
	src := filepath.Join(out, "src")
	must(t, os.MkdirAll(filepath.Join(src, "sub"), 0o755))
	must(t, os.WriteFile(filepath.Join(src, "sub/x"), []byte("x-"+cli), 0o644))
	r.ok(cli, "cp", filepath.Join(src, "sub/x"), "cpbox:/tmp/x-"+cli)
	r.ok(cli, "cp", src, "cpbox:/tmp/dir-"+cli)
	r.ok(cli, "cp", filepath.Join(src, "sub/x"), "cpbox:/hostdir/")
	r.ok(cli, "cp", filepath.Join(src, "sub/x"), "cpbox:/vol/from-"+cli)
	r.ok(cli, "cp", src+"/.", "cpbox:/tmp/contents-"+cli)
	for _, p := range []string{"/tmp/x-" + cli, "/tmp/dir-" + cli + "/sub/x", r.host + "/x", "/vol/from-" + cli, "/tmp/contents-" + cli + "/sub/x"} {
		if got, err := r.catIn("cpbox", p); got != "x-"+cli && !(p == r.host+"/x" && strings.HasPrefix(got, "x-")) {
			t.Errorf("%s in the container: %q %v", p, got, err)
		}
	}
	r.hostUntouched(t)
	if got := r.ok("pier", "run", "--rm", "-v", "cpvol:/v", "busybox", "cat", "/v/from-"+cli); got != "x-"+cli {
		t.Errorf("the named volume holds %q", got)
	}
	code, _, errs = r.cli(cli, "cp", "cpbox:/dne", filepath.Join(out, "dne"))
	// docker 20.10 says a 404 in its own words.
	want := map[bool]string{true: "No such container:path: cpbox:/dne", false: "Could not find the file /dne in container cpbox"}[cli == "docker20"]
	if code != 1 || !strings.Contains(errs, want) {
		t.Errorf("cp of a missing file = %d %q", code, errs)
	}
}

// maliciousTar uploads a tar whose names and links try to leave the
// container: everything lands inside it.
func (r *cpRig) maliciousTar(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	file := func(name, body string) {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		tw.Write([]byte(body))
	}
	link := func(name, target string) {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Linkname: target, Mode: 0o777, Typeflag: tar.TypeSymlink}))
	}
	file("../../../../"+strings.TrimPrefix(r.host, "/")+"/dotdot", "bad")
	link("abs", "/")
	file("abs"+r.host+"/through-abs", "bad")
	link("tohost", r.host)
	file("tohost/through-link", "bad")
	must(t, tw.Close())
	cmd := exec.Command(r.clients["pier"], "-H", r.d.host, "cp", "-", "cpbox:/tmp")
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cp - cpbox:/tmp: %v %s", err, out)
	}
	r.hostUntouched(t)
	// ".." stops at the extraction point; symlinks resolve in the
	// container's root.
	for _, p := range []string{"/tmp" + r.host + "/dotdot", r.host + "/through-abs", r.host + "/through-link"} {
		if got, err := r.catIn("cpbox", p); got != "bad" {
			t.Errorf("%s is not inside the container: %q %v", p, got, err)
		}
	}
}

// stopped copies into a container that does not run, reads it after the
// start, and is refused by a read-only rootfs.
func (r *cpRig) stopped(t *testing.T) {
	t.Cleanup(func() { r.pier("rm", "-f", "cpstopped", "cpro") })
	r.ok("pier", "create", "--name", "cpstopped", "-v", "cpvol:/vol", "busybox", "cat", "/in", "/vol/in")
	in := filepath.Join(r.testsDir, "in")
	must(t, os.WriteFile(in, []byte("stopped\n"), 0o644))
	for cli := range r.clients {
		r.ok(cli, "cp", in, "cpstopped:/in")
		r.ok(cli, "cp", in, "cpstopped:/vol/in")
		r.ok(cli, "cp", "cpstopped:/bin/busybox", filepath.Join(r.testsDir, "busybox-"+cli))
	}
	r.ok("pier", "start", "cpstopped")
	r.ok("pier", "wait", "cpstopped")
	if got := r.ok("pier", "logs", "cpstopped"); got != "stopped\nstopped\n" {
		t.Errorf("the stopped container read %q", got)
	}
	r.ok("pier", "create", "--name", "cpro", "--read-only", "busybox", "true")
	for cli := range r.clients {
		code, _, errs := r.cli(cli, "cp", in, "cpro:/tmp/")
		if code != 1 || !strings.Contains(errs, "container rootfs is marked read-only") {
			t.Errorf("%s cp into a read-only rootfs = %d %q", cli, code, errs)
		}
	}
}

// root archives a running container's "/": its files and volumes, but
// /proc and /sys only as the empty directories they are in its image.
func (r *cpRig) root(t *testing.T) {
	tr := tar.NewReader(strings.NewReader(r.ok("pier", "cp", "cpbox:/", "-")))
	names := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names[hdr.Name] = true
		if strings.HasPrefix(hdr.Name, "/proc/") && hdr.Name != "/proc/" || strings.HasPrefix(hdr.Name, "/sys/") && hdr.Name != "/sys/" {
			t.Fatalf("the tar of / descends into %s", hdr.Name)
		}
	}
	for _, want := range []string{"/", "/d/f", "/proc/", "/bin/busybox", "/vol/from-pier"} {
		if !names[want] {
			t.Errorf("the tar of / has no %s (%d entries)", want, len(names))
		}
	}
}
