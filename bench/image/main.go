// Command imagebench is the image benchmark (issue 4, "Performance"): it
// pushes a ~200 MB, 5-layer image to a local registry, then times, in one
// interleaved run, pier's pull + unpack + rootfs mount against skopeo copy
// + umoci unpack and containerd's ctr image pull, each into an empty store;
// and the cost of a container rootfs (Prepare+Mount+Unmount+Remove) for a
// small and a large image. bench/image/run.sh starts the registry and
// runs it inside a private mount namespace.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/pier-engine/pier/internal/image"
	"golang.org/x/sys/unix"
)

func main() {
	var (
		registry = flag.String("registry", "", "host:port of the registry to push to and pull from")
		n        = flag.Int("n", 5, "pulls per contender")
		rootfsN  = flag.Int("rootfs-n", 50, "rootfs create/remove cycles per image")
		work     = flag.String("work", "", "scratch directory (emptied runs go under it)")
		jsonOut  = flag.String("json", "", "write results as JSON to this file")
		pidFile  = flag.String("containerd-pidfile", "", "where the private containerd's pid is kept while it runs")
		noCtrd   = flag.Bool("no-containerd", false, "skip containerd")
		pullRef  = flag.String("pier-pull", "", "child mode: pull this ref into -dir and mount its rootfs")
		dir      = flag.String("dir", "", "child mode: the empty directory to pull into")
		freePort = flag.Bool("free-port", false, "print a free TCP port on 127.0.0.1 and exit")
	)
	flag.Parse()
	if *freePort {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, "imagebench:", err)
			os.Exit(1)
		}
		fmt.Println(l.Addr().(*net.TCPAddr).Port)
		l.Close()
		return
	}
	if *pullRef != "" {
		if err := pierPull(*pullRef, *dir); err != nil {
			fmt.Fprintln(os.Stderr, "pier pull:", err)
			os.Exit(1)
		}
		return
	}
	if *registry == "" || *work == "" {
		fmt.Fprintln(os.Stderr, "imagebench: -registry and -work are required")
		os.Exit(2)
	}
	res, err := bench(*registry, *work, *n, *rootfsN, *pidFile, *noCtrd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebench:", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
	if *jsonOut != "" {
		if err := res.writeJSON(*jsonOut); err != nil {
			fmt.Fprintln(os.Stderr, "imagebench:", err)
			os.Exit(1)
		}
	}
}

func bench(registry, work string, n, rootfsN int, pidFile string, noCtrd bool) (*results, error) {
	ref := registry + "/bench/large:v1"
	res := &results{Image: ref, Runs: n}
	fix := filepath.Join(work, "fixture")
	if err := os.MkdirAll(fix, 0o755); err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "imagebench: building and pushing %s\n", ref)
	digest, size, err := pushFixture(ref, fix, largeSpec)
	if err != nil {
		return nil, err
	}
	os.RemoveAll(fix)
	res.Digest, res.CompressedBytes = digest.String(), size
	res.Layers = largeSpec.Layers
	res.UncompressedBytes = int64(largeSpec.Layers) * (int64(largeSpec.BigFiles)<<20 + int64(largeSpec.SmallFiles)<<12)

	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	contenders := []contender{pierContender(self), skopeoContender()}
	if noCtrd {
		res.Notes = append(res.Notes, "containerd skipped (-no-containerd)")
	} else if note := probeContainerd(work, pidFile); note != "" {
		res.Notes = append(res.Notes, note)
	} else {
		contenders = append(contenders, containerdContender(pidFile))
	}
	samples, err := interleave(contenders, ref, work, n)
	if err != nil {
		return nil, err
	}
	for _, c := range contenders {
		res.Pulls = append(res.Pulls, summarisePull(c, samples[c.name]))
	}
	if res.Rootfs, err = measureRootfs(ref, work, rootfsN); err != nil {
		return nil, err
	}
	return res, nil
}

// interleave runs the contenders round-robin, n rounds, the order rotating
// each round; every pull goes into a fresh directory that is removed after.
// Dirty pages are flushed (untimed) before each pull so that one
// contender's writeback is not billed to the next.
func interleave(cs []contender, ref, work string, n int) (map[string][][]time.Duration, error) {
	out := map[string][][]time.Duration{}
	for round := range n {
		for i := range cs {
			c := cs[(i+round)%len(cs)]
			dir := filepath.Join(work, fmt.Sprintf("run-%d-%s", round, c.name))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			unix.Sync()
			d, err := c.run(ref, dir)
			if err != nil {
				return nil, fmt.Errorf("%s, round %d: %w", c.name, round, err)
			}
			if err := os.RemoveAll(dir); err != nil {
				return nil, err
			}
			out[c.name] = append(out[c.name], d)
			fmt.Fprintf(os.Stderr, "imagebench: round %d %-14s %v\n", round+1, c.name, d)
		}
	}
	return out, nil
}

// probeContainerd starts and stops a private containerd once; it returns
// why containerd is skipped, or "".
func probeContainerd(work, pidFile string) string {
	for _, b := range []string{"containerd", "ctr"} {
		if _, err := exec.LookPath(b); err != nil {
			return "containerd skipped: " + b + " not installed"
		}
	}
	dir := filepath.Join(work, "containerd-probe")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "containerd skipped: " + err.Error()
	}
	defer os.RemoveAll(dir)
	_, stop, err := startContainerd(dir, pidFile)
	if err != nil {
		return "containerd skipped: " + err.Error()
	}
	stop()
	return ""
}

// measureRootfs pulls the large image and builds busybox into one store,
// then times their rootfs cycles.
func measureRootfs(ref, work string, n int) ([]rootfsResult, error) {
	root := filepath.Join(work, "rootfs-store")
	defer os.RemoveAll(root)
	s, err := image.New(image.Config{Root: root})
	if err != nil {
		return nil, err
	}
	large, err := s.Pull(context.Background(), ref, nil)
	if err != nil {
		return nil, err
	}
	small, err := s.BuildBusybox(context.Background(), image.BusyboxPath, "busybox:latest")
	if err != nil {
		return nil, err
	}
	refs := []string{"busybox:latest", ref}
	times, err := rootfsCost(s, root, refs, n)
	if err != nil {
		return nil, err
	}
	return []rootfsResult{
		{Image: "busybox (1 layer)", Bytes: small.Size, stats: summarise(times[refs[0]])},
		{Image: fmt.Sprintf("large (%d layers)", len(large.Layers)), Bytes: large.Size, stats: summarise(times[refs[1]])},
	}, nil
}
