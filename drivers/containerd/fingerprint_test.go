package containerd_test

import (
	"context"
	"testing"
	"time"

	"github.com/nomadish/nomadish/drivers"
)

// TestFingerprintWithoutDaemon checks that a missing socket makes the
// driver unhealthy promptly instead of hanging.
func TestFingerprintWithoutDaemon(t *testing.T) {
	d, client := launchNoImage(t)
	defer client.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := d.SetConfig(ctx, []byte(`{"address": "/nonexistent/containerd.sock"}`)); err != nil {
		t.Fatalf("SetConfig() = %v", err)
	}
	start := time.Now()
	ch, err := d.Fingerprint(ctx)
	if err != nil {
		t.Fatalf("Fingerprint() = %v", err)
	}
	fp := <-ch
	if fp == nil || fp.Health == drivers.HealthStateHealthy {
		t.Fatalf("Fingerprint() = %+v, want not healthy", fp)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Fatalf("Fingerprint() took %v", el)
	}
	t.Logf("fingerprint after %v: %s: %s", time.Since(start), fp.Health, fp.HealthDescription)
}
