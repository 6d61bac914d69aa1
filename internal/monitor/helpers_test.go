package monitor

import "regexp"

// dockerLine is one json-file entry as Docker writes it.
var dockerLine = regexp.MustCompile(`^\{"log":".*","stream":"(stdout|stderr)","time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z"\}$`)
