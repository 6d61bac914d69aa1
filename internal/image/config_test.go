package image

import (
	"bytes"
	"context"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

func TestConfigOfABuiltImage(t *testing.T) {
	s := newStore(t)
	img, err := s.Import(context.Background(), bytes.NewReader(testutil.Tar(t, testutil.TarEntry{Name: "file", Body: "x"})), "imported:1", []string{"CMD [\"sh\", \"-c\", \"true\"]", "ENV A=b", "WORKDIR /w"})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := s.Config(img)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Config.Cmd; len(got) != 3 || got[0] != "sh" || cfg.Config.WorkingDir != "/w" || !contains(cfg.Config.Env, "A=b") {
		t.Errorf("config: cmd %v, workdir %q, env %v", got, cfg.Config.WorkingDir, cfg.Config.Env)
	}
	if _, err := s.Config(&Image{ID: "sha256:" + zeros64}); err == nil {
		t.Error("the config of an unknown image was found")
	}
}

const zeros64 = "0000000000000000000000000000000000000000000000000000000000000000"

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
