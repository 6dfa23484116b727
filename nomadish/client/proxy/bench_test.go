package proxy

import (
	"encoding/binary"
	"io"
	"net"
	"testing"
)

// The benchmarks compare a direct loopback TCP connection with the same
// traffic through a Proxy (round robin over one instance):
//
//	Echo:       request/response latency of 64-byte messages on one
//	            connection (ns/op is one round trip)
//	Connect:    a new connection, one 64-byte round trip, close
//	Throughput: bulk copy one way in 1 MiB writes (MB/s)

// benchServer runs a loopback server; handle serves each connection.
func benchServer(b *testing.B, handle func(net.Conn)) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	b.Cleanup(func() {
		ln.Close()
		<-done
	})
	return ln.Addr().String()
}

func echo(c net.Conn) { _, _ = io.Copy(c, c) }

// sink reads to EOF and answers with the byte count.
func sink(c net.Conn) {
	n, _ := io.Copy(io.Discard, c)
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], uint64(n))
	_, _ = c.Write(buf[:])
}

// targets returns the address to dial for the direct and the proxied
// case.
func targets(b *testing.B, server string) map[string]string {
	p := startProxy(b, Config{})
	p.Update([]Backend{{ID: "x", Addr: server}})
	return map[string]string{"direct": server, "proxy": p.Addr().String()}
}

func BenchmarkProxyEcho(b *testing.B) {
	addrs := targets(b, benchServer(b, echo))
	for _, name := range []string{"direct", "proxy"} {
		b.Run(name, func(b *testing.B) {
			c, err := net.Dial("tcp", addrs[name])
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			msg := make([]byte, 64)
			buf := make([]byte, 64)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkProxyConnect(b *testing.B) {
	addrs := targets(b, benchServer(b, echo))
	for _, name := range []string{"direct", "proxy"} {
		b.Run(name, func(b *testing.B) {
			msg := make([]byte, 64)
			buf := make([]byte, 64)
			for i := 0; i < b.N; i++ {
				c, err := net.Dial("tcp", addrs[name])
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Write(msg); err != nil {
					b.Fatal(err)
				}
				if _, err := io.ReadFull(c, buf); err != nil {
					b.Fatal(err)
				}
				c.Close()
			}
		})
	}
}

func BenchmarkProxyThroughput(b *testing.B) {
	const chunk = 1 << 20
	addrs := targets(b, benchServer(b, sink))
	for _, name := range []string{"direct", "proxy"} {
		b.Run(name, func(b *testing.B) {
			c, err := net.Dial("tcp", addrs[name])
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			data := make([]byte, chunk)
			b.SetBytes(chunk)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := c.Write(data); err != nil {
					b.Fatal(err)
				}
			}
			// Count only what arrived: wait for the server's total.
			_ = c.(*net.TCPConn).CloseWrite()
			var buf [8]byte
			if _, err := io.ReadFull(c, buf[:]); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			if got := binary.BigEndian.Uint64(buf[:]); got != uint64(b.N)*chunk {
				b.Fatalf("server received %d bytes, want %d", got, uint64(b.N)*chunk)
			}
		})
	}
}
