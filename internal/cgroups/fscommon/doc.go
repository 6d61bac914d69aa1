//go:build linux

// Package fscommon reads and writes cgroupfs files: writes that retry on
// EINTR and name the file in their errors, and parsers for the formats the
// kernel uses (a single number or "max", "key value" lines, "k=v" fields).
package fscommon
