package image

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/pier-engine/pier/internal/decompress"
	"github.com/pier-engine/pier/internal/errdefs"
)

// Import makes a one-layer image of a rootfs tarball (plain, gzip or
// zstd), like docker import; changes are Dockerfile instructions (CMD,
// ENTRYPOINT, ENV, WORKDIR, USER, LABEL, EXPOSE) applied to its config.
// ref may be "" for an untagged image.
func (s *Store) Import(ctx context.Context, r io.Reader, ref string, changes []string) (*Image, error) {
	cfg := &v1.ConfigFile{
		Architecture: runtime.GOARCH, OS: "linux",
		Created: v1.Time{Time: time.Now().UTC()},
	}
	for _, c := range changes {
		if err := applyChange(&cfg.Config, c); err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
	}
	tr, err := decompress.Open(r)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	defer tr.Close()
	var refs []string
	if ref != "" {
		refs = append(refs, ref)
	}
	img, err := s.build(ctx, []io.Reader{tr}, cfg, "Imported from -", refs...)
	if err != nil {
		return nil, fmt.Errorf("import: %w", err)
	}
	return img, nil
}

// applyChange applies one Dockerfile instruction to c.
func applyChange(c *v1.Config, change string) error {
	verb, arg, _ := strings.Cut(strings.TrimSpace(change), " ")
	arg = strings.TrimSpace(arg)
	switch strings.ToUpper(verb) {
	case "CMD":
		c.Cmd = command(arg)
	case "ENTRYPOINT":
		c.Entrypoint = command(arg)
	case "WORKDIR":
		c.WorkingDir = arg
	case "USER":
		c.User = arg
	case "ENV":
		for _, kv := range keyValues(arg) {
			c.Env = setEnv(c.Env, kv)
		}
	case "LABEL":
		if c.Labels == nil {
			c.Labels = map[string]string{}
		}
		for _, kv := range keyValues(arg) {
			k, v, _ := strings.Cut(kv, "=")
			c.Labels[k] = v
		}
	case "EXPOSE":
		if c.ExposedPorts == nil {
			c.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range strings.Fields(arg) {
			if !strings.Contains(p, "/") {
				p += "/tcp"
			}
			c.ExposedPorts[p] = struct{}{}
		}
	default:
		return fmt.Errorf("change %q: unsupported instruction: %w", change, errdefs.ErrInvalidArgument)
	}
	return nil
}

// command parses exec form (a JSON array) or shell form, which runs
// through /bin/sh -c as in a Dockerfile.
func command(arg string) []string {
	var exec []string
	if strings.HasPrefix(arg, "[") && json.Unmarshal([]byte(arg), &exec) == nil {
		return exec
	}
	return []string{"/bin/sh", "-c", arg}
}

// keyValues splits "A=1 B=2" (or the legacy "A 1") into "K=V" pairs;
// double quotes group, as in a Dockerfile.
func keyValues(arg string) []string {
	if !strings.Contains(arg, "=") {
		k, v, _ := strings.Cut(arg, " ")
		return []string{k + "=" + strings.TrimSpace(v)}
	}
	var out []string
	var cur strings.Builder
	quoted := false
	for _, r := range arg {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ' ' && !quoted:
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteRune(r)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

func setEnv(env []string, kv string) []string {
	k, _, _ := strings.Cut(kv, "=")
	for i, e := range env {
		if strings.HasPrefix(e, k+"=") {
			env[i] = kv
			return env
		}
	}
	return append(env, kv)
}
