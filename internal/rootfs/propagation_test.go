package rootfs

import "testing"

func TestMountPointOf(t *testing.T) {
	mounts := parseMountinfo(`27 1 254:0 / / rw - ext4 /dev/vda rw
40 27 0:50 / /var/lib/pier rw shared:5 - xfs /dev/vdb rw
41 40 0:51 / /var/lib/pier/overlay/abc/merged rw - overlay overlay rw
42 27 0:52 / /var/lib/pier2 rw - tmpfs tmpfs rw
43 27 0:53 / /with\040space rw - tmpfs tmpfs rw
`)
	for p, want := range map[string]string{
		"/var/lib/pier/overlay/abc/merged":     "/var/lib/pier/overlay/abc/merged", // a mount point is its own holder
		"/var/lib/pier/overlay/abc/merged/etc": "/var/lib/pier/overlay/abc/merged",
		"/var/lib/pier/containers/x/rootfs":    "/var/lib/pier",
		"/var/lib/pier2x/rootfs":               "/", // a prefix of the name is not a parent
		"/var/lib/pier2/rootfs":                "/var/lib/pier2",
		"/with space/rootfs":                   "/with space",
		"/tmp/rootfs":                          "/",
	} {
		if got := mountPointOf(mounts, p); got != want {
			t.Errorf("mountPointOf(%q) = %q, want %q", p, got, want)
		}
	}
	if got := mountPointOf(nil, "/x"); got != "" {
		t.Errorf("no mounts: %q", got)
	}
}
