package pier_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRootTestFileNames keeps one naming pattern for root tests: a test
// file under internal/ that gates on root (testutil.RequiresRoot) is named
// <topic>_root_test.go, so `ls *_root_test.go` finds what needs root, and a
// package's TestMain lives in main_test.go, not beside other tests.
func TestRootTestFileNames(t *testing.T) {
	err := filepath.WalkDir("internal", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		src := string(b)
		name := filepath.Base(p)
		if strings.Contains(src, "testutil.RequiresRoot(") && !strings.HasSuffix(name, "_root_test.go") {
			t.Errorf("%s gates on root: name it <topic>_root_test.go", p)
		}
		if strings.Contains(src, "\nfunc TestMain(") && name != "main_test.go" {
			t.Errorf("%s holds TestMain: put it in main_test.go", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
