// Command pinger is the workload of the service proxy e2e test: an HTTP
// server that answers with its name, either itself (-upstream unset) or
// after asking its upstream over a new connection per request.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

func main() {
	addr := flag.String("addr", "", "listen address")
	name := flag.String("name", "", "name in answers")
	upstream := flag.String("upstream", "", "host:port to forward each request to")
	pidDir := flag.String("piddir", "", "directory to write the pid file in")
	flag.Parse()
	if *pidDir != "" {
		if err := os.WriteFile(filepath.Join(*pidDir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if *upstream == "" {
			fmt.Fprintf(w, "%s\n", *name)
			return
		}
		resp, err := client.Get("http://" + *upstream + "/")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			http.Error(w, fmt.Sprintf("upstream: %d %v", resp.StatusCode, err), http.StatusBadGateway)
			return
		}
		fmt.Fprintf(w, "%s via %s: %s", *name, *upstream, body)
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
