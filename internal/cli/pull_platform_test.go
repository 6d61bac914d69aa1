package cli

import (
	"context"
	"strings"
	"testing"

	imagestore "github.com/pier-engine/pier/internal/image"
	"github.com/pier-engine/pier/internal/server"
)

// platformImages is the image fake recording the platform a pull asked for.
type platformImages struct {
	*fakeImages
	platform chan string
}

func (f platformImages) ImagePull(ctx context.Context, ref string, progress imagestore.ProgressFunc) error {
	f.platform <- imagestore.PlatformOf(ctx)
	return f.fakeImages.ImagePull(ctx, ref, progress)
}

// TestPullPlatform: pier pull --platform reaches the store through the
// real server's platform query.
func TestPullPlatform(t *testing.T) {
	f := platformImages{fakeImages: newFakeImages(), platform: make(chan string, 2)}
	host := serveAPI(t, server.New(server.Config{Backend: fakeBackend{}, Images: f, Version: "7.7.7"}))
	for _, tc := range []struct{ flag, want string }{{"linux/arm64/v8", "linux/arm64/v8"}, {"", ""}} {
		args := []string{"-H", host, "pull", "-q", "busybox"}
		if tc.flag != "" {
			args = append(args, "--platform", tc.flag)
		}
		if code, _, errs := run(t, args...); code != 0 {
			t.Fatalf("pull %v = %d: %s", args, code, errs)
		}
		if got := <-f.platform; got != tc.want {
			t.Errorf("--platform %q: store asked for %q", tc.flag, got)
		}
	}
	if code, _, errs := run(t, "-H", host, "pull", "--platform", "arm64", "busybox"); code == 0 || !strings.Contains(errs, "os/arch") {
		t.Errorf("bad platform = %d %q", code, errs)
	}
}
