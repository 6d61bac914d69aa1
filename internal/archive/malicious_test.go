package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// sandbox is a target dir next to an "outside" dir holding a secret; a test
// passes when outside is untouched after extracting into root.
type sandbox struct {
	base, root, outside, secret string
	before                      string
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
	s.before = tree(t, base, s.root)
	return s
}

func (s *sandbox) check(t testing.TB) {
	t.Helper()
	if after := tree(t, s.base, s.root); after != s.before {
		t.Fatalf("extraction changed files outside the target:\nbefore:\n%s\nafter:\n%s", s.before, after)
	}
}

func TestExtractMalicious(t *testing.T) {
	cases := map[string]func(s *sandbox) []ent{
		"dotdot": func(s *sandbox) []ent {
			return []ent{{name: "../outside/secret", body: "pwned"}, {name: "../../../../outside/new", body: "x"}}
		},
		"absolute path": func(s *sandbox) []ent {
			return []ent{{name: s.secret, body: "pwned"}}
		},
		"relative symlink then write through it": func(s *sandbox) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: "../outside"}, {name: "l/secret", body: "pwned"}, {name: "l/new", body: "x"}}
		},
		"absolute symlink then file under it": func(s *sandbox) []ent {
			return []ent{{name: "etc", typ: tar.TypeSymlink, link: s.outside}, {name: "etc/secret", body: "pwned"}}
		},
		"symlink to file then overwrite": func(s *sandbox) []ent {
			return []ent{{name: "f", typ: tar.TypeSymlink, link: s.secret}, {name: "f", body: "pwned"}}
		},
		"symlink chain": func(s *sandbox) []ent {
			return []ent{{name: "a", typ: tar.TypeSymlink, link: "b"}, {name: "b", typ: tar.TypeSymlink, link: "../../"},
				{name: "a/outside/secret", body: "pwned"}}
		},
		"directory replaced by symlink": func(s *sandbox) []ent {
			return []ent{{name: "d/", typ: tar.TypeDir}, {name: "d", typ: tar.TypeSymlink, link: s.outside}, {name: "d/secret", body: "pwned"}}
		},
		"hardlink outside": func(s *sandbox) []ent {
			return []ent{{name: "h", typ: tar.TypeLink, link: s.secret}, {name: "h2", typ: tar.TypeLink, link: "../outside/secret"}}
		},
		"hardlink to /etc/shadow": func(s *sandbox) []ent {
			return []ent{{name: "shadow", typ: tar.TypeLink, link: "/etc/shadow"}, {name: "shadow", body: "pwned"}}
		},
		"hardlink through symlink": func(s *sandbox) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: s.outside}, {name: "h", typ: tar.TypeLink, link: "l/secret"}}
		},
		"whiteout through symlink": func(s *sandbox) []ent {
			return []ent{{name: "l", typ: tar.TypeSymlink, link: s.outside}, {name: "l/.wh.secret"}, {name: "../outside/.wh.secret"},
				{name: "l/.wh..wh..opq"}}
		},
		"device node": func(s *sandbox) []ent {
			return []ent{{name: "../outside/sda", typ: tar.TypeBlock, major: 8}, {name: "l", typ: tar.TypeSymlink, link: s.outside},
				{name: "l/null", typ: tar.TypeChar, major: 1, minor: 3}}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			s := newSandbox(t)
			err := Extract(context.Background(), bytes.NewReader(mkTar(t, mk(s)...)), s.root, unpriv)
			t.Logf("extract: %v", err)
			s.check(t)
		})
	}
}

// TestExtractNeutralisesInside checks that the neutralised names land in
// the target, resolved as they would be inside the container.
func TestExtractNeutralisesInside(t *testing.T) {
	s := newSandbox(t)
	err := Extract(context.Background(), bytes.NewReader(mkTar(t,
		ent{name: "../../evil", body: "1"},
		ent{name: "/abs/evil", body: "2"},
		ent{name: "etc/", typ: tar.TypeDir},
		ent{name: "link", typ: tar.TypeSymlink, link: "/etc"},
		ent{name: "link/passwd", body: "3"},
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
