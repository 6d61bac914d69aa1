package e2e_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	gofs "io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/moby/buildkit/session"
	"github.com/moby/buildkit/session/filesync"
	"github.com/tonistiigi/fsutil"
	fstypes "github.com/tonistiigi/fsutil/types"
)

// TestBuildKitSessionEscape: a client whose session sends the build
// context with a path outside it (../../…, /…) through BuildKit's own
// filesync protocol, for a version-2 build, is refused: the build fails
// naming the path, and no file appears outside the context.
func TestBuildKitSessionEscape(t *testing.T) {
	r := newBuildRig(t)
	nonce := fmt.Sprintf("pier-escape-%d", time.Now().UnixNano())
	for _, evil := range []string{"../../../../../../../../tmp/" + nonce, "/tmp/" + nonce + "-abs"} {
		dir := writeContext(t, map[string]string{"Dockerfile": "FROM busybox\nCOPY . /ctx/\n", "evil": "escaped\n"})
		code, body := r.sessionBuild(t, dir, evil)
		if code == http.StatusOK && !strings.Contains(body, "errorDetail") {
			t.Errorf("a context entry %q was accepted:\n%s", evil, body)
		}
		t.Logf("%s: %s", evil, lastLine(body))
	}
	for _, p := range []string{"/tmp/" + nonce, "/tmp/" + nonce + "-abs", "/" + nonce} {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("the session wrote %s, outside its context", p)
			os.Remove(p)
		}
	}
	r.nothingLeft()
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	return s[strings.LastIndex(s, "\n")+1:]
}

// sessionBuild runs POST /build?version=2 with a session of its own whose
// "context" is dir with the entry "evil" renamed to evil on the wire.
func (r *buildRig) sessionBuild(t *testing.T, dir, evil string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sess, err := session.NewSession(ctx, "pier-escape-test")
	if err != nil {
		t.Fatal(err)
	}
	inner, err := fsutil.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	sess.Allow(filesync.NewFSSyncProvider(filesync.StaticDirSource{
		"context":    renamingFS{FS: inner, from: "evil", to: evil},
		"dockerfile": inner,
	}))
	go sess.Run(ctx, func(ctx context.Context, proto string, meta map[string][]string) (net.Conn, error) {
		return hijackSession(ctx, r.d.sock, proto, meta)
	})
	defer sess.Close()
	return r.d.apiPost(t, "/build?version=2&remote=client-session&t=pierescape&session="+sess.ID(), nil, "")
}

// renamingFS is a context that names one of its files otherwise when it
// sends it, as a hostile client could.
type renamingFS struct {
	fsutil.FS
	from, to string
}

func (f renamingFS) Walk(ctx context.Context, target string, fn gofs.WalkDirFunc) error {
	return f.FS.Walk(ctx, target, func(p string, e gofs.DirEntry, err error) error {
		if err == nil && p == f.from {
			fi, ierr := e.Info()
			if ierr != nil {
				return ierr
			}
			st, ok := fi.Sys().(*fstypes.Stat)
			if !ok {
				return fmt.Errorf("%s: no fsutil stat", p)
			}
			st = st.Clone()
			st.Path = f.to
			e = renamedEntry{DirEntry: e, fi: renamedInfo{FileInfo: fi, st: st}}
		}
		return fn(p, e, err)
	})
}

type renamedEntry struct {
	gofs.DirEntry
	fi gofs.FileInfo
}

func (e renamedEntry) Info() (gofs.FileInfo, error) { return e.fi, nil }

type renamedInfo struct {
	gofs.FileInfo
	st *fstypes.Stat
}

func (i renamedInfo) Sys() any { return i.st }

func (f renamingFS) Open(p string) (io.ReadCloser, error) {
	if p == f.to {
		p = f.from
	}
	return f.FS.Open(p)
}

// hijackSession opens pierd's /session as the docker CLI does: an
// Upgrade to h2c with the session's metadata as headers.
func hijackSession(ctx context.Context, sock, proto string, meta map[string][]string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, "unix", sock)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "POST /session HTTP/1.1\r\nHost: pierd\r\nUpgrade: %s\r\nConnection: Upgrade\r\n", proto)
	for k, vs := range meta {
		for _, v := range vs {
			fmt.Fprintf(&b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(c, b.String()); err != nil {
		c.Close()
		return nil, err
	}
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("/session: %s", resp.Status)
	}
	return &bufConn{Conn: c, r: br}, nil
}

type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }
