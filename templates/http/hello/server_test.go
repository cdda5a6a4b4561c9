package hello

import (
	"io"
	"net/http"
	"testing"

	"github.com/toilhq/toil/toiltest"
)

// testConfig is the config the server needs to run in a test: its
// defaults do, so only its fields'.
func testConfig(t testing.TB) string { return fieldsConfig(t) }

// fieldsConfig is the config of the fields toil new --with adds, each on
// a real server of the test's own; every test that runs the service adds
// it. It has none yet.
func fieldsConfig(t testing.TB) string { return "" }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

func TestServerGreets(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, &Server{}, toiltest.Config(testConfig(t)+"greeting: hi"))
	svc.WaitReady()
	code, body := get(t, svc.URL("/greet/ann"))
	if code != http.StatusOK || body != "hi, ann\n" {
		t.Errorf("GET /greet/ann = %d %q, want 200 %q", code, body, "hi, ann\n")
	}
	if code, _ := get(t, svc.URL("/nope")); code != http.StatusNotFound {
		t.Errorf("GET /nope = %d, want 404", code)
	}
}
