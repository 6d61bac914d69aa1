// Package cli is pier's command line: a cobra command per verb, one file
// each, talking to pierd through the moby client with API version
// negotiation. It prints what the API returns and turns failures into
// Docker's exit codes (125 when the daemon cannot be reached or refuses).
package cli
