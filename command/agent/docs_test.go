package agent

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

var docHeading = regexp.MustCompile("^### `(GET|PUT|POST|DELETE) (/v1/[^`]*)`$")

// TestDocsAPIEndpointsExist checks that every endpoint docs/api.md lists
// is routed by the agent: neither "Invalid URL path" nor 405.
func TestDocsAPIEndpointsExist(t *testing.T) {
	f, err := os.Open(filepath.Join("..", "..", "docs", "api.md"))
	if err != nil {
		t.Fatalf("open docs/api.md: %v", err)
	}
	defer f.Close()
	a := testServerAgent(t)
	params := regexp.MustCompile(`:[a-z_]+`)
	client := &http.Client{Timeout: 3 * time.Second}
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := docHeading.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		n++
		method, path := m[1], params.ReplaceAllString(m[2], "doc-test-id")
		t.Run(method+" "+m[2], func(t *testing.T) {
			req, err := http.NewRequest(method, "http://"+a.HTTPAddr()+path, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
			if resp.StatusCode == http.StatusMethodNotAllowed || (resp.StatusCode == 404 && strings.Contains(string(body), "Invalid URL path")) || (resp.StatusCode == 404 && strings.Contains(string(body), "404 page not found")) {
				t.Errorf("%s %s is documented but not routed: %d %s", method, path, resp.StatusCode, body)
			}
		})
	}
	if n < 40 {
		t.Errorf("docs/api.md lists %d endpoints; expected the full API", n)
	}
}
