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
	var missing []string // what MkdirAll makes, top first
	for d := rel; d != "."; d = path.Dir(d) {
		if _, err := root.Lstat(d); err == nil {
			break
		}
		missing = append([]string{d}, missing...)
	}
	if err := root.MkdirAll(rel, 0o755); err != nil {
		return fmt.Errorf("working dir /%s: %w", rel, err)
	}
	return ownWorkdir(root, p, missing)
}

// ownWorkdir gives the directories makeWorkdir made to the root of a CRI
// pod's user namespace, when the container is in one: made by pierd they
// would be host root's, which that namespace does not map.
func ownWorkdir(root *os.Root, p ctrPaths, made []string) error {
	if len(made) == 0 {
		return nil
	}
	ref, err := readUsernsRef(p.dir)
	if err != nil || ref == nil {
		return err
	}
	for _, d := range made {
		if err := root.Lchown(d, int(ref.UID), int(ref.GID)); err != nil {
			return fmt.Errorf("working dir /%s: %w", d, err)
		}
	}
	return nil
}
