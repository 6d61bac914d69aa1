package specgen

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/pier-engine/pier/internal/sys"
)

type user struct {
	spec specs.User
	home string
}

// entry is one line of /etc/passwd or /etc/group: name, id, then either the
// primary gid and home (passwd) or the member list (group).
type entry struct {
	name   string
	id     uint32
	gid    uint32
	home   string
	member []string
}

// resolveUser follows Docker (moby/sys/user): "user[:group]", each a name
// or a number; a number need not exist in /etc/passwd (its gid is then 0);
// without a group, the user's supplementary groups come from /etc/group;
// HostConfig.GroupAdd adds more.
func resolveUser(in Input) (user, error) {
	spec := in.Config.User
	if spec == "" {
		spec = imageConfig(in).User
	}
	name, group, hasGroup := strings.Cut(spec, ":")
	u := user{home: "/"}
	passwd, err := readDB(in, "/etc/passwd", parsePasswd)
	if err != nil {
		return u, fmt.Errorf("Config.User: %w", err)
	}
	if name == "" {
		name = "0"
	}
	if e, ok := lookup(passwd, name); ok {
		u.spec.UID, u.spec.GID, u.home = e.id, e.gid, e.home
		name = e.name
	} else if id, ok := parseID(name); ok {
		u.spec.UID = id
	} else {
		return u, invalid("Config.User", fmt.Errorf("unable to find user %s: no matching entries in passwd file", name))
	}
	groups, err := readDB(in, "/etc/group", parseGroup)
	if err != nil {
		return u, fmt.Errorf("Config.User: %w", err)
	}
	if hasGroup {
		gid, err := groupID(groups, group)
		if err != nil {
			return u, invalid("Config.User", err)
		}
		u.spec.GID = gid
	} else {
		for _, g := range groups {
			if slices.Contains(g.member, name) {
				u.spec.AdditionalGids = append(u.spec.AdditionalGids, g.id)
			}
		}
	}
	for _, g := range in.HostConfig.GroupAdd {
		gid, err := groupID(groups, g)
		if err != nil {
			return u, invalid("HostConfig.GroupAdd", err)
		}
		u.spec.AdditionalGids = append(u.spec.AdditionalGids, gid)
	}
	return u, nil
}

func groupID(groups []entry, g string) (uint32, error) {
	if e, ok := lookup(groups, g); ok {
		return e.id, nil
	}
	if id, ok := parseID(g); ok {
		return id, nil
	}
	return 0, fmt.Errorf("unable to find group %s: no matching entries in group file", g)
}

// lookup finds an entry by name, or by number for a numeric key.
func lookup(db []entry, key string) (entry, bool) {
	id, numeric := parseID(key)
	for _, e := range db {
		if e.name == key || (numeric && e.id == id) {
			return e, true
		}
	}
	return entry{}, false
}

func parseID(s string) (uint32, bool) {
	n, err := strconv.ParseUint(s, 10, 32)
	return uint32(n), err == nil
}

// readDB reads a file of the container's rootfs inside it (sys.OpenRegularInRoot,
// which resolves no path out of it); a missing file is an empty
// database, as it is for Docker. With in.Layers, the file is read from the
// layers, as the rootfs is not mounted at create.
func readDB(in Input, name string, parse func([]string) (entry, bool)) ([]entry, error) {
	// The rootfs is the container's, which may have made the file a
	// FIFO or a link to /dev/zero: only a regular file is read.
	f, err := openInLayers(in.Rootfs, in.Layers, name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var db []entry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if e, ok := parse(strings.Split(line, ":")); ok {
			db = append(db, e)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s in %s: %w", name, f.Name(), err)
	}
	return db, nil
}

// parsePasswd reads name:password:uid:gid:gecos:home:shell.
func parsePasswd(f []string) (entry, bool) {
	if len(f) < 4 {
		return entry{}, false
	}
	uid, ok1 := parseID(f[2])
	gid, ok2 := parseID(f[3])
	e := entry{name: f[0], id: uid, gid: gid, home: "/"}
	if len(f) > 5 && f[5] != "" {
		e.home = f[5]
	}
	return e, ok1 && ok2
}

// parseGroup reads name:password:gid:member,member.
func parseGroup(f []string) (entry, bool) {
	if len(f) < 3 {
		return entry{}, false
	}
	gid, ok := parseID(f[2])
	e := entry{name: f[0], id: gid}
	if len(f) > 3 && f[3] != "" {
		e.member = strings.Split(f[3], ",")
	}
	return e, ok
}

// openInLayers opens name in rootfs, or, when layers are given, in the
// topmost layer that has it, as overlayfs would show it: a whiteout (a 0:0
// character device) or an opaque parent directory hides the layers below.
func openInLayers(rootfs string, layers []string, name string) (*os.File, error) {
	if len(layers) == 0 {
		layers = []string{rootfs}
	}
	for _, l := range layers {
		f, err := sys.OpenRegularInRoot(l, name)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			if isWhiteout(filepath.Join(l, name)) {
				return nil, fs.ErrNotExist
			}
			return nil, fmt.Errorf("open %s in %s: %w", name, l, err)
		}
		if isOpaque(filepath.Join(l, filepath.Dir(name))) {
			return nil, fs.ErrNotExist
		}
	}
	return nil, fs.ErrNotExist
}

func isWhiteout(p string) bool {
	var st unix.Stat_t
	return unix.Lstat(p, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

func isOpaque(dir string) bool {
	buf := make([]byte, 4)
	for _, attr := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		if n, err := unix.Lgetxattr(dir, attr, buf); err == nil && string(buf[:n]) == "y" {
			return true
		}
	}
	return false
}
