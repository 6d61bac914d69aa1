//go:build linux

// Package builder runs Dockerfiles the way dockerd's classic builder
// (POST /build, version 1) does: one image per instruction, a RUN in a
// real container, a COPY or ADD into a writable layer, metadata-only
// instructions as empty layers, and a cache keyed by the parent image and
// the step's normalised config.
//
// Dockerfiles are parsed with BuildKit's frontend packages (parser,
// instructions, shell) so that syntax, variable expansion and error
// messages are Docker's. The builder reaches images and containers through
// the Engine it is given (pierd's daemon implements it), and never mounts
// or runs anything itself.
//
// A build's lifecycle: the context tar is extracted (with the safe archive
// code) into a private directory, .dockerignore is applied, the stages run
// up to the target, the result is tagged, and everything temporary (the
// context, containers, writable layers) is removed, also when the build
// fails or its client goes away.
package builder
