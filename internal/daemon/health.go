package daemon

import "github.com/moby/moby/api/types/container"

// healthStart starts container r's healthcheck, if it has one.
func (d *Daemon) healthStart(r containerRecord) {}

// healthStop stops container id's healthcheck.
func (d *Daemon) healthStop(id string) {}

// healthOf is container r's health for inspect, nil without a check.
func (d *Daemon) healthOf(r containerRecord) *container.Health { return nil }

// healthStatus is the "(healthy)" suffix of `ps`'s STATUS, "" without a
// check.
func (d *Daemon) healthStatus(r containerRecord) string { return "" }
