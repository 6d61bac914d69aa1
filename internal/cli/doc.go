// Package cli is pier's command line: a cobra command per verb, one file
// each, talking to pierd through the moby client with API version
// negotiation. It prints what the API returns and turns failures into
// Docker's exit codes (125 when the daemon cannot be reached or refuses).
//
// One invocation has one API client (app.client, made on first use and
// closed by Run), and Run alone says "pierd unreachable" when it cannot
// connect. Where the daemon is comes from the docker CLI's rules
// (connect.go): --context, else -H, else PIER_HOST or DOCKER_HOST, else
// DOCKER_CONTEXT, else the current context of the docker config directory,
// else pierd's socket; TLS from --tls, --tlsverify and the --tlscacert,
// --tlscert, --tlskey files (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), or from
// the context's stored material.
package cli
