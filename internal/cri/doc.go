// Package cri is pier's Kubernetes Container Runtime Interface front end
// (k8s.io/cri-api runtime.v1): gRPC handlers that check each request, name
// the bad field, and hand it to a Backend, the engine's pod and container
// code. Errors reach the client through one mapping (status.go) to gRPC
// codes. Exec, attach and port-forward go through the CRI streaming server
// (k8s.io/cri-streaming), which calls the Backend's stream methods.
package cri
