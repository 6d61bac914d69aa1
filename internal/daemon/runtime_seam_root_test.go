package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/pier-engine/pier/internal/monitor"
	"github.com/pier-engine/pier/internal/ociruntime"
	"github.com/pier-engine/pier/internal/testutil"
)

func TestCLIRuntimeConforms(t *testing.T) {
	testutil.RequiresRoot(t)
	bundle := testutil.Bundle(t, []string{"sleep", "1000"}, nil)
	cli := ociruntime.CLI{Name: RuntimeName, Path: testutil.Binary(t, "pier-runtime"), Root: t.TempDir()}
	dir := t.TempDir()
	id, pid := startSeamContainer(t, cli, "seam", bundle, dir)
	if st, err := cli.State(context.Background(), id); err != nil || st.Status != "running" || st.Pid != pid {
		t.Fatalf("state = %+v, %v", st, err)
	}
	testRuntimeSeam(t, seamCase{rt: cli, id: id, pid: pid, proc: bundleProcess(t, bundle), dir: dir})
}

// startSeamContainer creates and starts bundle's container through cli,
// its pid file in dir, deletes it when the test ends, and returns its id
// (prefix and this process's pid) and its init's pid.
func startSeamContainer(t *testing.T, cli ociruntime.CLI, prefix, bundle, dir string) (string, int) {
	t.Helper()
	id := fmt.Sprintf("%s%d", prefix, os.Getpid())
	ctx := context.Background()
	pidFile := filepath.Join(dir, "init.pid")
	if err := cli.Create(ctx, id, ociruntime.CreateOpts{Bundle: bundle, PidFile: pidFile}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cli.Delete(context.Background(), id, true); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
	if err := cli.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	pid, err := monitor.ReadPid(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	return id, pid
}
