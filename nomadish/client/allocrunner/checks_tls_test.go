package allocrunner

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/nomadish/nomadish/nomadish/structs"
)

// TestTLSChecks runs https and TLS gRPC checks against servers with a
// self-signed certificate: they pass with tls_skip_verify and fail
// verification without it.
func TestTLSChecks(t *testing.T) {
	web := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer web.Close()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: web.TLS.Certificates})))
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go func() { _ = gs.Serve(ln) }()
	defer gs.Stop()

	https := splitTarget(t, web.Listener.Addr().String())
	grpcTLS := splitTarget(t, ln.Addr().String())
	for _, tc := range []struct {
		name   string
		check  structs.ServiceCheck
		target checkTarget
		want   string
	}{
		{"https skipping verification", structs.ServiceCheck{Type: "http", Path: "/", Protocol: "https", TLSSkipVerify: true}, https, structs.CheckPassing},
		{"https verifying a self-signed cert", structs.ServiceCheck{Type: "http", Path: "/", Protocol: "https"}, https, structs.CheckCritical},
		{"grpc over TLS skipping verification", structs.ServiceCheck{Type: "grpc", GRPCUseTLS: true, TLSSkipVerify: true}, grpcTLS, structs.CheckPassing},
		{"grpc over TLS verifying", structs.ServiceCheck{Type: "grpc", GRPCUseTLS: true}, grpcTLS, structs.CheckCritical},
		{"plain grpc to a TLS server", structs.ServiceCheck{Type: "grpc"}, grpcTLS, structs.CheckCritical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.check.Timeout = 2 * time.Second
			got, _, out := runCheck(context.Background(), &tc.check, tc.target, "task", nil)
			if got != tc.want {
				t.Errorf("runCheck() = %s (%s), want %s", got, out, tc.want)
			}
		})
	}
}
