package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// BusyboxPath is where Debian's busybox-static installs the binary.
const BusyboxPath = "/bin/busybox"

const (
	busyboxPasswd = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	busyboxGroup  = "root:x:0:\ndaemon:x:1:\ntty:x:5:\nnogroup:x:65534:\n"
)

// BuildBusybox makes the image ref (e.g. "busybox:latest") offline from a
// static busybox binary: /bin/busybox, a symlink per applet, /etc/passwd
// and /etc/group, and CMD ["sh"]. Every timestamp is the binary's mtime, so
// the same binary always gives the same image id.
func (s *Store) BuildBusybox(ctx context.Context, binary, ref string) (*Image, error) {
	layer, mtime, err := busyboxLayer(binary)
	if err != nil {
		return nil, fmt.Errorf("build busybox: %w", err)
	}
	cfg := &v1.ConfigFile{
		Architecture: runtime.GOARCH, OS: "linux", Created: v1.Time{Time: mtime},
		Config: v1.Config{
			Cmd: []string{"sh"},
			Env: []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		},
	}
	img, err := s.build(ctx, []io.Reader{bytes.NewReader(layer)}, cfg, "pier: busybox from "+binary, ref)
	if err != nil {
		return nil, fmt.Errorf("build busybox: %w", err)
	}
	return img, nil
}

func busyboxLayer(binary string) ([]byte, time.Time, error) {
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, time.Time{}, err
	}
	fi, err := os.Stat(binary)
	if err != nil {
		return nil, time.Time{}, err
	}
	mtime := fi.ModTime().UTC().Truncate(time.Second)
	out, err := exec.Command(binary, "--list").Output()
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s --list: %w", binary, err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h *tar.Header, body []byte) {
		h.ModTime, h.Format = mtime, tar.FormatPAX
		if err == nil {
			err = tw.WriteHeader(h)
		}
		if err == nil && len(body) > 0 {
			_, err = tw.Write(body)
		}
	}
	dirs := map[string]int64{"bin/": 0o755, "dev/": 0o755, "etc/": 0o755, "home/": 0o755, "proc/": 0o555,
		"root/": 0o700, "sys/": 0o555, "tmp/": 0o1777, "usr/": 0o755, "usr/sbin/": 0o755, "var/": 0o755}
	for _, d := range sortedKeys(dirs) {
		add(&tar.Header{Name: d, Typeflag: tar.TypeDir, Mode: dirs[d]}, nil)
	}
	add(&tar.Header{Name: "bin/busybox", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))}, bin)
	for _, applet := range strings.Fields(string(out)) {
		if applet != "busybox" && !strings.Contains(applet, "/") {
			add(&tar.Header{Name: "bin/" + applet, Typeflag: tar.TypeSymlink, Linkname: "busybox", Mode: 0o777}, nil)
		}
	}
	add(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(busyboxPasswd))}, []byte(busyboxPasswd))
	add(&tar.Header{Name: "etc/group", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(busyboxGroup))}, []byte(busyboxGroup))
	if err == nil {
		err = tw.Close()
	}
	return buf.Bytes(), mtime, err
}

func sortedKeys(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
