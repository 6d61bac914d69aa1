package logfile

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

// Golden lines as Docker's json-file driver writes them.
func TestRecordGolden(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	for _, tc := range []struct {
		stream string
		line   string
		t      time.Time
		want   string
	}{
		{"stdout", "hello\n", t0, `{"log":"hello\n","stream":"stdout","time":"2026-01-02T03:04:05.123456789Z"}`},
		{"stderr", "partial", t0, `{"log":"partial","stream":"stderr","time":"2026-01-02T03:04:05.123456789Z"}`},
		// Local times are stored in UTC, trailing zeros of the fraction trimmed.
		{"stdout", "x\n", time.Date(2026, 1, 2, 4, 4, 5, 500000000, paris), `{"log":"x\n","stream":"stdout","time":"2026-01-02T03:04:05.5Z"}`},
		{"stdout", "x\n", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `{"log":"x\n","stream":"stdout","time":"2026-01-02T03:04:05Z"}`},
	} {
		got := string(appendRecord(nil, tc.stream, []byte(tc.line), tc.t))
		if got != tc.want+"\n" {
			t.Errorf("record(%q)\n got %s want %s", tc.line, got, tc.want)
		}
	}
}

func TestEscaping(t *testing.T) {
	for in, want := range map[string]string{
		`say "hi" \o/`:          `"say \"hi\" \\o/"`,
		"<a href=x>&amp;</a>":   `"\u003ca href=x\u003e\u0026amp;\u003c/a\u003e"`,
		"tab\there\r\n":         `"tab\u0009here\r\n"`,
		"nul\x00bel\x07esc\x1b": `"nul\u0000bel\u0007esc\u001b"`,
		"utf8 ψ ω β 🚀":          `"utf8 ψ ω β 🚀"`,
		"bad \xff\xfe utf8":     `"bad \ufffd\ufffd utf8"`,
		"js \u2028\u2029":       `"js \u2028\u2029"`,
		"del \x7f":              "\"del \x7f\"",
	} {
		if got := string(appendString(nil, []byte(in))); got != want {
			t.Errorf("appendString(%q) = %s, want %s", in, got, want)
		}
	}
}

// Whatever the bytes, a JSON decoder (docker logs) reads back what
// encoding/json would have encoded.
func TestEscapingDecodesLikeEncodingJSON(t *testing.T) {
	var all []byte
	for b := range 256 {
		all = append(all, byte(b))
	}
	inputs := [][]byte{all, []byte("\xe2\x80"), []byte("ok\xc3"), []byte("é\u2028<>&")}
	for _, in := range inputs {
		var got, want string
		if err := json.Unmarshal(appendString(nil, in), &got); err != nil {
			t.Fatalf("decode %q: %v", in, err)
		}
		std, _ := json.Marshal(string(in))
		if err := json.Unmarshal(std, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%q decodes to %q, encoding/json gives %q", in, got, want)
		}
	}
}

func TestNextChunk(t *testing.T) {
	long := strings.Repeat("x", 2*MaxLine+10) + "\n"
	var pieces []int
	for p := []byte("a\n\nbc" + long + "tail"); len(p) > 0; {
		n := nextChunk(p)
		pieces = append(pieces, n)
		p = p[n:]
	}
	want := []int{2, 1, MaxLine, MaxLine, 13, 4}
	if !slices.Equal(pieces, want) {
		t.Errorf("pieces %v, want %v", pieces, want)
	}
}
