package cri

import (
	"context"
	"os"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func (s *Server) started() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.grpc != nil
}

// The gRPC and streaming servers are made on the first connection, and
// that connection's first call is answered.
func TestServeStartsOnFirstConnection(t *testing.T) {
	s, f := newTestServer(t)
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	time.Sleep(50 * time.Millisecond)
	if s.started() {
		t.Fatal("gRPC server made before any connection")
	}
	conn, err := grpc.NewClient("unix://"+s.cfg.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
	defer ccancel()
	_, err = runtimeapi.NewRuntimeServiceClient(conn).StopPodSandbox(cctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: "p1"})
	if err != nil {
		t.Fatalf("first call: %v", err)
	}
	if !s.started() || s.stream == nil || len(f.stopped) != 1 {
		t.Fatalf("started %v, stream %v, stopped %v", s.started(), s.stream != nil, f.stopped)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve: %v", err)
	}
}

// Closed before anyone connected: Serve returns, the socket is gone.
func TestServeClosedBeforeFirstConnection(t *testing.T) {
	s, _ := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if s.started() {
		t.Fatal("gRPC server made with no connection")
	}
	if _, err := s.slis.Accept(); err == nil {
		t.Fatal("streaming listener still open")
	}
	if _, err := os.Stat(s.cfg.Socket); !os.IsNotExist(err) {
		t.Fatalf("socket left behind: %v", err)
	}
}
