package logfile

import (
	"bytes"
	"time"
	"unicode/utf8"
)

// MaxLine is the longest "log" value of one entry; longer lines are split
// into partial entries of this size, as Docker's log copier does.
const MaxLine = 16 << 10

// Entry is one decoded log record.
type Entry struct {
	Stream string // "stdout" or "stderr"
	// Line is what the container wrote, with its trailing "\n"; a partial
	// entry (see the package doc) has none.
	Line []byte
	Time time.Time
}

// appendRecord appends the JSON line Docker's json-file driver writes for
// one entry: fields in the order log, stream, time, and a final "\n".
func appendRecord(buf []byte, stream string, line []byte, t time.Time) []byte {
	buf = append(buf, `{"log":`...)
	buf = appendString(buf, line)
	buf = append(buf, `,"stream":"`...)
	buf = append(buf, stream...)
	buf = append(buf, `","time":"`...)
	buf = t.UTC().AppendFormat(buf, time.RFC3339Nano)
	return append(buf, "\"}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendString quotes s the way Docker does (its jsonlog package): like
// encoding/json with HTML escaping, except that control characters other
// than \n and \r become \u00XX (encoding/json writes \t, \b, \f). Both
// decode to the same bytes. Invalid UTF-8 becomes U+FFFD, as in both.
func appendString(buf, s []byte) []byte {
	buf = append(buf, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			buf = append(buf, s[start:i]...)
			switch b {
			case '"', '\\':
				buf = append(buf, '\\', b)
			case '\n':
				buf = append(buf, '\\', 'n')
			case '\r':
				buf = append(buf, '\\', 'r')
			default:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, s[start:i]...)
			buf = append(buf, `\ufffd`...)
			i += size
			start = i
			continue
		}
		// U+2028 and U+2029 break JavaScript string literals.
		if r == '\u2028' || r == '\u2029' {
			buf = append(buf, s[start:i]...)
			buf = append(buf, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	buf = append(buf, s[start:]...)
	return append(buf, '"')
}

// nextChunk returns the length of the first entry in p: up to and including
// the first "\n", or at most MaxLine bytes.
func nextChunk(p []byte) int {
	n := min(len(p), MaxLine)
	if i := bytes.IndexByte(p[:n], '\n'); i >= 0 {
		return i + 1
	}
	return n
}
