package cli

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/moby/moby/client"

	"github.com/pier-engine/pier/internal/sys"
)

// A synced context (pierd's POST /build/context): pier build lists the
// context directory with stat data, pierd answers which files differ
// from its copy, and the build's body is a tar of those alone. A daemon
// without the route (dockerd, an older pierd) gets the whole tar.

// syncFile and syncReply are the wire form of internal/builder's
// SyncFile and SyncReply.
type syncFile struct {
	Path  string `json:"path"`
	Mode  uint32 `json:"mode"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime"`
	UID   int    `json:"uid"`
	GID   int    `json:"gid"`
	Link  string `json:"link,omitempty"`
}

type syncReply struct {
	Session string   `json:"session"`
	Need    []string `json:"need"`
}

// syncEnv set to 0 turns synced contexts off (the whole tar is sent).
const syncEnv = "PIER_BUILD_SYNC"

// syncedContext syncs directory dir with pierd. It returns the body for
// POST /build (the needed files as a tar), the Dockerfile's name in the
// context and the session for the X-Pier-Context header; a nil body
// means the daemon keeps no synced contexts.
func syncedContext(ctx context.Context, c *client.Client, dir, file string) (io.Reader, string, string, error) {
	if os.Getenv(syncEnv) == "0" {
		return nil, "", "", nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, "", "", err
	}
	name, err := dockerfileIn(abs, file)
	if err != nil {
		return nil, "", "", err
	}
	extra := map[string][]byte{}
	files := []syncFile{}
	if name == "" {
		// A Dockerfile from elsewhere: named by its content, so that an
		// unchanged one is not sent again.
		df, err := os.ReadFile(file)
		if err != nil {
			return nil, "", "", fmt.Errorf("unable to read Dockerfile: %w", err)
		}
		sum := sha256.Sum256(df)
		name = ".dockerfile." + hex.EncodeToString(sum[:8])
		extra[name] = df
		files = append(files, syncFile{Path: name, Mode: 0o100644, Size: int64(len(df))})
	}
	err = walkContext(abs, name, func(p, rel string) error {
		f, ok, err := statEntry(p, rel)
		if ok {
			files = append(files, f)
		}
		return err
	})
	if err != nil {
		return nil, "", "", err
	}
	host, _ := os.Hostname()
	key := sha256.Sum256([]byte(host + "\x00" + abs))
	req, _ := json.Marshal(struct {
		Key   string     `json:"key"`
		Files []syncFile `json:"files"`
	}{hex.EncodeToString(key[:]), files})
	reply, ok, err := postSync(ctx, c, req)
	if err != nil || !ok {
		return nil, "", "", err
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(tarNeeded(pw, abs, reply.Need, extra)) }()
	return pr, name, reply.Session, nil
}

// statEntry is the listing entry of p; ok is false for what a context
// does not carry (sockets, fifos, devices).
func statEntry(p, rel string) (syncFile, bool, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return syncFile{}, false, err
	}
	f := syncFile{Path: rel, Size: fi.Size(), Mtime: fi.ModTime().UnixNano(), Mode: uint32(fi.Mode().Perm())}
	m := fi.Mode()
	if m&fs.ModeSetuid != 0 {
		f.Mode |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		f.Mode |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		f.Mode |= 0o1000
	}
	if uid, gid, ok := sys.Owner(fi); ok {
		f.UID, f.GID = int(uid), int(gid)
	}
	switch {
	case m.IsDir():
		f.Mode |= 0o040000
		f.Size = 0
	case m.IsRegular():
		f.Mode |= 0o100000
	case m&fs.ModeSymlink != 0:
		f.Mode |= 0o120000
		if f.Link, err = os.Readlink(p); err != nil {
			return f, false, err
		}
		f.Size = 0
	default:
		return f, false, nil
	}
	return f, true, nil
}

// postSync sends the listing; ok is false when the daemon has no such
// route (or cannot be reached this way), and the caller sends the tar.
func postSync(ctx context.Context, c *client.Client, body []byte) (syncReply, bool, error) {
	hc := &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext:       func(ctx context.Context, _, _ string) (net.Conn, error) { return c.Dialer()(ctx) },
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://pierd/build/context", bytes.NewReader(body))
	if err != nil {
		return syncReply{}, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return syncReply{}, false, nil // the classic upload says what is wrong, if anything
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return syncReply{}, false, fmt.Errorf("build context: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotFound, resp.StatusCode == http.StatusMethodNotAllowed,
		resp.StatusCode == http.StatusRequestEntityTooLarge: // a listing past the daemon's JSON limit
		return syncReply{}, false, nil
	case resp.StatusCode != http.StatusOK:
		var e struct{ Message string }
		if json.Unmarshal(b, &e) == nil && e.Message != "" {
			return syncReply{}, false, fmt.Errorf("Error response from daemon: %s", e.Message)
		}
		return syncReply{}, false, fmt.Errorf("build context: %s", resp.Status)
	}
	var r syncReply
	if err := json.Unmarshal(b, &r); err != nil || r.Session == "" {
		return syncReply{}, false, errors.New("build context: the daemon's answer has no session")
	}
	return r, true, nil
}

// tarNeeded writes the files named in need, from dir or extra.
func tarNeeded(w io.Writer, dir string, need []string, extra map[string][]byte) error {
	tw := tar.NewWriter(w)
	for _, rel := range need {
		if b, ok := extra[rel]; ok {
			hdr := &tar.Header{Name: rel, Mode: 0o644, Size: int64(len(b)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(b); err != nil {
				return err
			}
			continue
		}
		if err := tarFile(tw, filepath.Join(dir, filepath.FromSlash(rel)), rel); err != nil {
			return fmt.Errorf("build context: %w", err)
		}
	}
	return tw.Close()
}

func tarFile(tw *tar.Writer, p, rel string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: no longer a regular file", rel)
	}
	hdr := &tar.Header{Name: rel, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), ModTime: fi.ModTime(), Typeflag: tar.TypeReg, Format: tar.FormatPAX}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.CopyN(tw, f, fi.Size())
	return err
}
