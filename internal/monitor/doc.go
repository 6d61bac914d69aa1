//go:build linux

// Package monitor is pier-monitor, the small process that watches one
// container from outside it, like Podman's conmon. (Design and measured
// costs: filled in below.)
package monitor
