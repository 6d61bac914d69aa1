package seccomp

import "testing"

// BenchmarkCompile compiles Docker's default profile as the runtime does
// for every container, as the search tree and as the linear list.
func BenchmarkCompile(b *testing.B) {
	s := dockerProfile(b, dockerCaps)
	b.Run("tree", func(b *testing.B) {
		for range b.N {
			if _, err := Compile(s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("linear", func(b *testing.B) {
		for range b.N {
			if _, err := linearFilter(s, thisHost()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
