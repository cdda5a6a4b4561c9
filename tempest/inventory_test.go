package tempest

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/toilhq/toil/toiltest"
)

// invConfig is an inventory's config for tests: no latency, so no test
// waits on it, and the seed's epoch fixed, so the test can seed the same.
func invConfig(campaigns, pageSize int, failureRate string) string {
	return "campaigns: " + strconv.Itoa(campaigns) + "\nplacements: 6\nseed: 11\nepoch: \"" +
		seedEpoch.Format("2006-01-02T15:04:05Z07:00") + "\"\npage_size: " + strconv.Itoa(pageSize) +
		"\nlatency: 0s\nfailure_rate: " + failureRate
}

// invGet GETs url and decodes the JSON answer into v.
func invGet(t *testing.T, url string, v any) int {
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
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("GET %s: Content-Type %q, want application/json", url, ct)
	}
	if err := json.Unmarshal(body, v); err != nil {
		t.Fatalf("GET %s: %d %s: not JSON: %v", url, resp.StatusCode, body, err)
	}
	return resp.StatusCode
}

func TestInventoryPaginatesSeededData(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, &Inventory{}, toiltest.Config(invConfig(120, 50, "0")))
	svc.WaitReady()
	d := Seed(SeedConfig{Campaigns: 120, Placements: 6, Seed: 11, Epoch: seedEpoch})

	var pl struct {
		Placements []Placement `json:"placements"`
	}
	if code := invGet(t, svc.URL("/placements"), &pl); code != http.StatusOK || !reflect.DeepEqual(pl.Placements, d.Placements) {
		t.Errorf("GET /placements = %d %+v, want 200 and the seeded placements", code, pl.Placements)
	}

	var records []json.RawMessage
	for page := 1; page <= 3; page++ {
		var p invPage
		code := invGet(t, svc.URL("/campaigns?page="+strconv.Itoa(page)), &p)
		if code != http.StatusOK || p.Page != page || p.Pages != 3 {
			t.Fatalf("GET /campaigns?page=%d = %d, page %d of %d; want 200, page %d of 3", page, code, p.Page, p.Pages, page)
		}
		if want := []int{50, 50, 20}[page-1]; len(p.Records) != want {
			t.Errorf("page %d has %d records, want %d", page, len(p.Records), want)
		}
		records = append(records, p.Records...)
	}
	if !reflect.DeepEqual(records, d.Records()) {
		t.Error("the pages' records are not the seeded records, byte for byte, in order")
	}

	var first invPage
	if invGet(t, svc.URL("/campaigns"), &first); first.Page != 1 || !reflect.DeepEqual(first.Records, records[:50]) {
		t.Errorf("GET /campaigns without a page answered page %d, want page 1", first.Page)
	}
}

func TestInventoryRejectsBadPage(t *testing.T) {
	t.Parallel()
	svc := toiltest.Run(t, &Inventory{}, toiltest.Config(invConfig(120, 50, "0")))
	svc.WaitReady()
	for _, page := range []string{"0", "-1", "4", "abc", "1.5", "%20"} {
		var e struct {
			Error string `json:"error"`
		}
		code := invGet(t, svc.URL("/campaigns?page="+page), &e)
		if code != http.StatusBadRequest || !strings.Contains(e.Error, "from 1 to 3") {
			t.Errorf("GET /campaigns?page=%s = %d %q, want 400 with an error naming the pages 1 to 3", page, code, e.Error)
		}
	}
}

func TestInventoryFailsAtItsRate(t *testing.T) {
	t.Parallel()
	always := toiltest.Run(t, &Inventory{}, toiltest.Name("tempest.inventory.always"), toiltest.Config(invConfig(10, 5, "1")))
	never := toiltest.Run(t, &Inventory{}, toiltest.Name("tempest.inventory.never"), toiltest.Config(invConfig(10, 5, "0")))
	always.WaitReady()
	never.WaitReady()
	for range 20 {
		for _, path := range []string{"/placements", "/campaigns?page=2"} {
			var e struct {
				Error string `json:"error"`
			}
			if code := invGet(t, always.URL(path), &e); code != http.StatusServiceUnavailable || !strings.Contains(e.Error, "retry") {
				t.Fatalf("failure_rate 1: GET %s = %d %q, want 503 with a JSON error", path, code, e.Error)
			}
			var ok map[string]any
			if code := invGet(t, never.URL(path), &ok); code != http.StatusOK {
				t.Fatalf("failure_rate 0: GET %s = %d %v, want 200", path, code, ok)
			}
		}
	}
}

func TestInventoryConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		cfg  InventoryConfig
		want string
	}{
		{InventoryConfig{Placements: 1, PageSize: 1, FailureRate: 1.5}, "failure_rate"},
		{InventoryConfig{Placements: 1, PageSize: 0}, "page_size"},
		{InventoryConfig{Placements: 0, PageSize: 1}, "placements"},
		{InventoryConfig{Campaigns: -1, Placements: 1, PageSize: 1}, "campaigns"},
	} {
		if err := tt.cfg.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want an error naming %s", tt.cfg, err, tt.want)
		}
	}
	ok := InventoryConfig{Campaigns: 0, Placements: 1, PageSize: 1}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(%+v) = %v, want nil", ok, err)
	}
}
