package cli

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/docker/go-units"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/pier-engine/pier/internal/archive"
)

// cpCommands are `pier cp`; `pier container cp` is cpCommand in the
// container group.
func (a *app) cpCommands() []*cobra.Command { return []*cobra.Command{a.cpCommand()} }

// cpOptions are docker cp's flags.
type cpOptions struct {
	followLink, copyUIDGID, quiet bool
}

func (a *app) cpCommand() *cobra.Command {
	var o cpOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n  pier cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem\n\n" +
			"Use '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\n" +
			"Use '-' as the destination to stream a tar archive of a\ncontainer source to stdout.",
		Args:                  cobra.ExactArgs(2),
		DisableFlagsInUseLine: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return errors.New("source can not be empty")
			}
			if args[1] == "" {
				return errors.New("destination can not be empty")
			}
			if !cmd.Flag("quiet").Changed {
				o.quiet = !isTerminal(a.stderr)
			}
			srcCtr, src := splitCpArg(args[0])
			dstCtr, dst := splitCpArg(args[1])
			return a.withClient(func(c *client.Client) error {
				switch {
				case srcCtr != "" && dstCtr != "":
					return errors.New("copying between containers is not supported")
				case srcCtr != "":
					return a.copyFrom(cmd.Context(), c, o, srcCtr, src, dst)
				case dstCtr != "":
					return a.copyTo(cmd.Context(), c, o, cmd.InOrStdin(), src, dstCtr, dst)
				}
				return errors.New("must specify at least one container source")
			})
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&o.followLink, "follow-link", "L", false, "Always follow symlinks in SRC_PATH")
	f.BoolVarP(&o.copyUIDGID, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")
	return cmd
}

// splitCpArg splits CONTAINER:PATH as docker does: a path that is
// absolute or starts with "." is local even with a colon in it.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, p
}

// keepTrailing gives clean the trailing "/" or "/." of orig back: they
// say "the directory's contents" and "follow the final symlink".
func keepTrailing(clean, orig string) string {
	if !strings.HasSuffix(clean, "/") && filepath.Base(orig) == "." {
		clean += "/."
	}
	if !strings.HasSuffix(clean, "/") && strings.HasSuffix(orig, "/") {
		clean += "/"
	}
	return clean
}

// contentsOf says p names a directory's contents ("dir/.").
func contentsOf(p string) bool { return filepath.Base(p) == "." }

// archiveBase is the name the daemon gives p's entries in its tar:
// the base name, "." for "dir/.", nothing for "/".
func archiveBase(p string) string {
	b := path.Base(keepTrailing(path.Clean(p), p))
	if b == "/" {
		return ""
	}
	return b
}

// placement is where a copy goes: the directory to unpack into and the
// name the source takes there ("" for a directory's contents).
type placement struct {
	dir, name string
}

// place is docker cp's rule for a source (a directory or not, its name)
// going to dst, which exists (a directory or not) or does not.
func place(srcIsDir, contents bool, srcName, dst string, exists, dstIsDir bool) (placement, error) {
	switch {
	case exists && dstIsDir:
		if srcIsDir && contents {
			return placement{dst, ""}, nil
		}
		return placement{dst, srcName}, nil
	case exists && srcIsDir:
		return placement{}, errors.New("cannot copy directory")
	case !exists && !srcIsDir && strings.HasSuffix(dst, "/"):
		return placement{}, errors.New("no such directory")
	}
	d, b := path.Split(strings.TrimSuffix(dst, "/"))
	return placement{path.Clean("/" + d), b}, nil
}

// copyFrom copies CONTAINER:src to the local dst ("-": a tar to stdout).
func (a *app) copyFrom(ctx context.Context, c *client.Client, o cpOptions, ctr, src, dst string) error {
	srcName := archiveBase(src)
	if o.followLink {
		res, err := c.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: src})
		if err == nil && res.Stat.Mode&os.ModeSymlink != 0 {
			target := res.Stat.LinkTarget
			if !path.IsAbs(target) {
				target = path.Join(path.Dir(path.Clean(src)), target)
			}
			src = keepTrailing(target, src)
		}
	}
	res, err := c.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: src})
	if err != nil {
		return err
	}
	defer res.Content.Close()
	if dst == "-" {
		_, err = io.Copy(a.stdout, res.Content)
		return err
	}
	abs, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	dst = keepTrailing(abs, dst)
	fi, err := os.Stat(dst)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	isDir := res.Stat.Mode.IsDir()
	pl, err := place(isDir, contentsOf(src), srcName, dst, err == nil, err == nil && fi.IsDir())
	if err != nil {
		return err
	}
	if _, err := os.Stat(pl.dir); err != nil {
		return err
	}
	counted := &countReader{r: res.Content}
	r := rebase(counted, archiveBase(src), pl.name, func(hdr *tar.Header) error {
		return linkInside(pl.dir, hdr)
	})
	defer r.Close()
	// Like docker, the copy belongs to whoever runs pier cp: no chown.
	if err := archive.Extract(ctx, r, pl.dir, archive.Options{Whiteouts: archive.WhiteoutApply, Unprivileged: true}); err != nil {
		return err
	}
	n := counted.n
	if !isDir {
		n = res.Stat.Size
	}
	a.copied(o, n, dst)
	return nil
}

// copyTo copies the local src ("-": a tar from stdin) to CONTAINER:dst.
func (a *app) copyTo(ctx context.Context, c *client.Client, o cpOptions, stdin io.Reader, src, ctr, dst string) error {
	st, exists, resolved, err := statDst(ctx, c, ctr, dst)
	if err != nil {
		return err
	}
	if exists && !st.Mode.IsDir() && !st.Mode.IsRegular() {
		return fmt.Errorf(`destination "%s:%s" must be a directory or a regular file`, ctr, dst)
	}
	opts := client.CopyToContainerOptions{DestinationPath: dst, CopyUIDGID: o.copyUIDGID}
	if src == "-" {
		if !exists || !st.Mode.IsDir() {
			return fmt.Errorf(`destination "%s:%s" must be a directory`, ctr, dst)
		}
		opts.Content = stdin
		_, err := c.CopyToContainer(ctx, ctr, opts)
		return err
	}
	local, name, err := localSource(src, o.followLink)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(local)
	if err != nil {
		return err
	}
	pl, err := place(fi.IsDir(), contentsOf(local), name, resolved, exists, exists && st.Mode.IsDir())
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	var n int64
	go func() { pw.CloseWithError(writeLocalTar(pw, strings.TrimSuffix(local, "/."), pl.name, &n)) }()
	defer pr.Close()
	opts.DestinationPath, opts.Content = pl.dir, pr
	if _, err := c.CopyToContainer(ctx, ctr, opts); err != nil {
		return err
	}
	a.copied(o, n, ctr+":"+dst)
	return nil
}

// statDst stats the destination in the container and says where it
// is: a symlink is followed, as docker cp does.
func statDst(ctx context.Context, c *client.Client, ctr, dst string) (container.PathStat, bool, string, error) {
	res, err := c.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: dst})
	if err != nil {
		if client.IsErrConnectionFailed(err) {
			return container.PathStat{}, false, dst, err
		}
		// Missing (or unreadable): the extraction tells what is wrong.
		return container.PathStat{}, false, dst, nil
	}
	if res.Stat.Mode&os.ModeSymlink == 0 {
		return res.Stat, true, dst, nil
	}
	target := res.Stat.LinkTarget
	if !path.IsAbs(target) {
		target = path.Join(path.Dir(path.Clean(dst)), target)
	}
	res, err = c.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: target})
	return res.Stat, err == nil, target, nil
}

// localSource is the absolute local source and the name it is copied
// under; with followLink, or a trailing "/" or "/.", a symlink is copied
// as what it points to, under the symlink's name.
func localSource(src string, followLink bool) (string, string, error) {
	abs, err := filepath.Abs(src)
	if err != nil {
		return "", "", err
	}
	abs = keepTrailing(abs, src)
	name := archiveBase(abs)
	if followLink || strings.HasSuffix(abs, "/") || contentsOf(abs) {
		resolved, err := filepath.EvalSymlinks(abs)
		if err != nil {
			return "", "", err
		}
		abs = keepTrailing(resolved, abs)
	}
	return abs, name, nil
}

// writeLocalTar writes the tree at p to w with names under name ("" for
// its contents), symlinks as links; n counts the bytes of files.
func writeLocalTar(w io.Writer, p, name string, n *int64) error {
	tw := tar.NewWriter(w)
	err := filepath.WalkDir(p, func(file string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(p, file)
		if err != nil {
			return err
		}
		entry := path.Join(name, filepath.ToSlash(rel))
		if rel == "." {
			entry = name
		}
		if entry == "" || entry == "." {
			return nil
		}
		return addLocal(tw, file, entry, n)
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

func addLocal(tw *tar.Writer, file, name string, n *int64) error {
	fi, err := os.Lstat(file)
	if err != nil || fi.Mode()&fs.ModeSocket != 0 {
		return err
	}
	hdr, err := archive.FileHeader(file, fi, name)
	if err != nil {
		return err
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := io.Copy(tw, f)
	*n += c
	return err
}

// linkInside refuses, as docker's client does, a symlink that would
// point out of the directory it is copied into: the host must not get a
// link into its own files from a container. Like docker, an absolute
// target counts from the link's directory.
func linkInside(dir string, hdr *tar.Header) error {
	if hdr.Typeflag != tar.TypeSymlink {
		return nil
	}
	p := path.Join(dir, hdr.Name)
	target := path.Join(path.Dir(p), hdr.Linkname)
	if target != dir && !strings.HasPrefix(target, strings.TrimSuffix(dir, "/")+"/") {
		return fmt.Errorf("invalid symlink %q -> %q", p, hdr.Linkname)
	}
	return nil
}

// rebase renames the tar's entries from under oldBase to under newBase
// ("" puts them at the top), hardlinks with them; check may refuse an
// entry, after its renaming.
func rebase(r io.Reader, oldBase, newBase string, check func(*tar.Header) error) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		tr, tw := tar.NewReader(r), tar.NewWriter(pw)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				pw.CloseWithError(tw.Close())
				return
			}
			if err == nil {
				hdr.Name = rebaseName(hdr.Name, oldBase, newBase)
				if hdr.Typeflag == tar.TypeLink {
					hdr.Linkname = rebaseName(hdr.Linkname, oldBase, newBase)
				}
				hdr.Format = tar.FormatUnknown
				if err = check(hdr); err == nil {
					err = tw.WriteHeader(hdr)
				}
			}
			if err == nil {
				_, err = io.Copy(tw, tr)
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}

func rebaseName(name, oldBase, newBase string) string {
	rest, ok := strings.CutPrefix(name, oldBase)
	if !ok || (rest != "" && !strings.HasPrefix(rest, "/")) {
		return name
	}
	if newBase == "" {
		return strings.TrimPrefix(rest, "/")
	}
	return newBase + rest
}

type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// copied prints docker's summary, when there is a terminal to see it.
func (a *app) copied(o cpOptions, n int64, dst string) {
	if !o.quiet {
		fmt.Fprintf(a.stderr, "Successfully copied %s to %s\n", units.HumanSizeWithPrecision(float64(n), 3), dst)
	}
}
