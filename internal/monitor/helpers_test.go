package monitor

import (
	"bytes"
	"errors"
	"io"
	"regexp"
)

// dockerLine is one json-file entry as Docker writes it.
var dockerLine = regexp.MustCompile(`^\{"log":".*","stream":"(stdout|stderr)","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"\}$`)

func errorsIs(err, target error) bool { return errors.Is(err, target) }

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
