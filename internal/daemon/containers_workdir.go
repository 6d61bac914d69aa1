package daemon

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"strings"
)

// makeWorkdir creates the container's working directory in its mounted
// rootfs, as dockerd does at start (`docker run -w /new/dir`). It is made
// through an os.Root, so a symlink in the image cannot lead it outside.
func makeWorkdir(p ctrPaths) error {
	b, err := os.ReadFile(p.config)
	if err != nil {
		return fmt.Errorf("working dir: %w", err)
	}
	var spec struct {
		Process *struct {
			Cwd string `json:"cwd"`
		} `json:"process"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		return fmt.Errorf("working dir: %s: %w", p.config, err)
	}
	if spec.Process == nil {
		return nil
	}
	rel := strings.TrimPrefix(path.Clean("/"+spec.Process.Cwd), "/")
	if rel == "" {
		return nil
	}
	root, err := os.OpenRoot(p.rootfs)
	if err != nil {
		return fmt.Errorf("working dir: %w", err)
	}
	defer root.Close()
	if err := root.MkdirAll(rel, 0o755); err != nil {
		return fmt.Errorf("working dir /%s: %w", rel, err)
	}
	return nil
}
