//go:build linux

// Package signame names Linux signals both ways, so that the edges (the
// CLIs, above L2) never import syscall: Parse reads what a user typed, Of
// gives the signals to hand to os/signal.Notify, Name is what the API's
// kill takes.
//
// It is a leaf: it imports nothing of pier's.
package signame
