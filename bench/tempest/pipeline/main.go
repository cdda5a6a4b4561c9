// Command pipeline measures tempest's pipeline throughput on a running
// layout: for each of the next N cycles, the time from the warmer
// planning it (tempest:cycle incremented) to the pusher having written
// all its slates (tempest:pushed reaching it), and the inventory's ads
// divided by that time: ads per second from inventory to slates in Redis.
//
//	pipeline -redis redis://127.0.0.1:PORT/0 -inventory http://127.0.0.1:8090 -cycles 3
//
// It only reads: GET of the two keys every 5ms, and the inventory's pages
// once to count the ads it serves.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil/tempest"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	redisURL := fs.String("redis", "redis://127.0.0.1:6379/0", "the layout's Redis")
	inventory := fs.String("inventory", "http://127.0.0.1:8090", "the inventory's base URL")
	cycles := fs.Int("cycles", 3, "cycles to time, 1 to 20")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *cycles < 1 || *cycles > 20 {
		return fmt.Errorf("-cycles %d: want 1 to 20", *cycles)
	}
	opt, err := goredis.ParseURL(*redisURL)
	if err != nil {
		return fmt.Errorf("-redis %s: %w", *redisURL, err)
	}
	rdb := goredis.NewClient(opt)
	defer rdb.Close()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	campaigns, ads, pages, err := countAds(ctx, *inventory)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "inventory: %d pages, %d well-formed campaigns, %d ads\n", pages, campaigns, ads)

	// Start with the next cycle planned from now, so each is timed from
	// its planning.
	planned := map[int64]time.Time{}
	last, err := getInt(ctx, rdb, tempest.KeyCycle)
	if err != nil {
		return err
	}
	var total time.Duration
	timed := 0
	for timed < *cycles {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("timed %d of %d cycles before giving up: %w", timed, *cycles, err)
		}
		now := time.Now()
		cycle, err := getInt(ctx, rdb, tempest.KeyCycle)
		if err != nil {
			return err
		}
		for c := last + 1; c <= cycle; c++ {
			planned[c] = now
		}
		last = max(last, cycle)
		pushed, err := getInt(ctx, rdb, tempest.KeyPushed)
		if err != nil {
			return err
		}
		if at, ok := planned[pushed]; ok {
			took := now.Sub(at)
			total += took
			timed++
			fmt.Fprintf(stdout, "cycle %d: planned to pushed in %s: %.0f ads/s\n", pushed, took.Round(time.Millisecond), float64(ads)/took.Seconds())
			for c := range planned {
				if c <= pushed {
					delete(planned, c)
				}
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	mean := total / time.Duration(timed)
	fmt.Fprintf(stdout, "mean over %d cycles: %s per cycle, %.0f ads/s (%.0f campaigns/s)\n",
		timed, mean.Round(time.Millisecond), float64(ads)/mean.Seconds(), float64(campaigns)/mean.Seconds())
	return nil
}

func getInt(ctx context.Context, rdb *goredis.Client, key string) (int64, error) {
	n, err := rdb.Get(ctx, key).Int64()
	if errors.Is(err, goredis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("GET %s: %w", key, err)
	}
	return n, nil
}

// countAds reads every page of the inventory (retrying its deliberate
// 503s) and counts the well-formed campaigns and their ads.
func countAds(ctx context.Context, base string) (campaigns, ads, pages int, err error) {
	pages = 1
	for page := 1; page <= pages; page++ {
		var body struct {
			Pages   int               `json:"pages"`
			Records []json.RawMessage `json:"records"`
		}
		if err := getJSON(ctx, fmt.Sprintf("%s/campaigns?page=%d", base, page), &body); err != nil {
			return 0, 0, 0, err
		}
		pages = body.Pages
		for _, raw := range body.Records {
			var c tempest.Campaign
			if json.Unmarshal(raw, &c) != nil || c.ID == "" {
				continue // malformed on purpose
			}
			campaigns++
			ads += len(c.Ads)
		}
	}
	return campaigns, ads, pages, nil
}

func getJSON(ctx context.Context, url string, v any) error {
	var last error
	for range 20 {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		data, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		if res.StatusCode == http.StatusServiceUnavailable {
			last = fmt.Errorf("GET %s: %s", url, res.Status)
			continue // the inventory fails a share of requests on purpose
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("GET %s: %s: %s", url, res.Status, data)
		}
		return json.Unmarshal(data, v)
	}
	return last
}
