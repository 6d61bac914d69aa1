// Package daemon is pier's engine: the objects users manage through the
// API (containers, images, and later networks and volumes) and the facts
// about the host they run on. For now it answers what the server's
// Backend asks: host information and versions.
//
// A Daemon is made once by pierd from a Config and lives until the
// process ends; its methods are safe for concurrent use.
package daemon
