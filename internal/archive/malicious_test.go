package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pier-engine/pier/internal/testutil"
)

// sandbox is a target dir next to an "outside" dir holding a secret; a test
// passes when outside is untouched after extracting into root.
type sandbox struct {
	base, root, outside, secret string
	before                      []string
}

func newSandbox(t testing.TB) *sandbox {
	t.Helper()
	base := t.TempDir()
	s := &sandbox{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	s.secret = filepath.Join(s.outside, "secret")
	for _, d := range []string{s.root, s.outside} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.secret, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.before = testutil.Tree(t, base, testutil.TreeOptions{Skip: s.root, Meta: true})
	return s
}

func (s *sandbox) check(t testing.TB) {
	t.Helper()
	if after := testutil.Tree(t, s.base, testutil.TreeOptions{Skip: s.root, Meta: true}); !slices.Equal(after, s.before) {
		t.Fatalf("extraction changed files outside the target:\nbefore:\n%s\nafter:\n%s",
			strings.Join(s.before, "\n"), strings.Join(after, "\n"))
	}
}

func TestExtractMalicious(t *testing.T) {
	cases := map[string]func(s *sandbox) []testutil.TarEntry{
		"dotdot": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "../outside/secret", Body: "pwned"}, {Name: "../../../../outside/new", Body: "x"}}
		},
		"absolute path": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: s.secret, Body: "pwned"}}
		},
		"relative symlink then write through it": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "l", Type: tar.TypeSymlink, Link: "../outside"}, {Name: "l/secret", Body: "pwned"},
				{Name: "l/new", Body: "x"}}
		},
		"absolute symlink then file under it": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "etc", Type: tar.TypeSymlink, Link: s.outside}, {Name: "etc/secret", Body: "pwned"}}
		},
		"symlink to file then overwrite": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "f", Type: tar.TypeSymlink, Link: s.secret}, {Name: "f", Body: "pwned"}}
		},
		"symlink chain": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "a", Type: tar.TypeSymlink, Link: "b"}, {Name: "b", Type: tar.TypeSymlink, Link: "../../"},
				{Name: "a/outside/secret", Body: "pwned"}}
		},
		"directory replaced by symlink": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "d/", Type: tar.TypeDir}, {Name: "d", Type: tar.TypeSymlink, Link: s.outside},
				{Name: "d/secret", Body: "pwned"}}
		},
		"hardlink outside": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "h", Type: tar.TypeLink, Link: s.secret}, {Name: "h2", Type: tar.TypeLink, Link: "../outside/secret"}}
		},
		"hardlink to /etc/shadow": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "shadow", Type: tar.TypeLink, Link: "/etc/shadow"}, {Name: "shadow", Body: "pwned"}}
		},
		"hardlink through symlink": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "l", Type: tar.TypeSymlink, Link: s.outside}, {Name: "h", Type: tar.TypeLink, Link: "l/secret"}}
		},
		"whiteout through symlink": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "l", Type: tar.TypeSymlink, Link: s.outside}, {Name: "l/.wh.secret"}, {Name: "../outside/.wh.secret"},
				{Name: "l/.wh..wh..opq"}}
		},
		"device node": func(s *sandbox) []testutil.TarEntry {
			return []testutil.TarEntry{{Name: "../outside/sda", Type: tar.TypeBlock, Major: 8}, {Name: "l", Type: tar.TypeSymlink, Link: s.outside},
				{Name: "l/null", Type: tar.TypeChar, Major: 1, Minor: 3}}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			err := Extract(context.Background(), bytes.NewReader(testutil.Tar(t, mk(s)...)), s.root, unpriv)
			t.Logf("extract: %v", err)
			s.check(t)
		})
	}
}

// TestExtractNeutralisesInside checks that the neutralised names land in
// the target, resolved as they would be inside the container.
func TestExtractNeutralisesInside(t *testing.T) {
	s := newSandbox(t)
	err := Extract(context.Background(), bytes.NewReader(testutil.Tar(t,
		testutil.TarEntry{Name: "../../evil", Body: "1"},
		testutil.TarEntry{Name: "/abs/evil", Body: "2"},
		testutil.TarEntry{Name: "etc/", Type: tar.TypeDir},
		testutil.TarEntry{Name: "link", Type: tar.TypeSymlink, Link: "/etc"},
		testutil.TarEntry{Name: "link/passwd", Body: "3"},
	)), s.root, unpriv)
	if err != nil {
		t.Fatal(err)
	}
	for p, want := range map[string]string{"evil": "1", "abs/evil": "2", "etc/passwd": "3"} {
		if b, err := os.ReadFile(filepath.Join(s.root, p)); err != nil || string(b) != want {
			t.Errorf("%s = %q, %v; want %q", p, b, err, want)
		}
	}
	s.check(t)
}
