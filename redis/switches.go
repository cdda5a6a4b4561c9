package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/toilhq/toil"
)

// SwitchStore keeps feature switches in a Redis hash and feeds them to a
// toil.Switches, live. The Redis mixin uses one when its config says
// switches: {enabled: true}; tools and tests can use one directly.
//
// The hash (default key toil:switches) maps each switch name to its
// definition, written as in a switches file (see toil.LoadSwitches and
// toil.ParseSwitch): on, off, or a mapping of state, percent, by, allow
// and deny, in YAML or JSON:
//
//	HSET toil:switches checkout on
//	HSET toil:switches scorer:v2 '{"percent": 12.5, "by": "user", "allow": ["user:42"]}'
//	PUBLISH toil:switches scorer:v2
//
// After changing the hash a writer publishes on the channel named like the
// hash (the message is not read: any message makes the services re-read
// the whole hash). [SwitchStore.Set] and [SwitchStore.Delete] do both in
// one MULTI/EXEC transaction. A server with keyspace notifications for
// hashes (notify-keyspace-events Kh, or KEA) announces a bare HSET or HDEL
// itself, so redis-cli users may skip the PUBLISH there.
//
// The hash is the whole set: a switch that is not in it is off, so HDEL
// turns a switch off. A value that cannot be read is reported and its
// switch keeps its last good definition (off if it never had one). Watch
// re-reads the hash whenever its subscription is (re)established and every
// resync interval, so a message lost in an outage delays a change and
// never loses it. A Redis without persistence comes back empty after a
// restart, and so do the switches it holds. Every service reading the same
// hash sees the same switches; the hash must be a set's only source, since
// a switches file's reload would replace it in turn.
type SwitchStore struct {
	rdb    *goredis.Client
	key    string
	resync time.Duration

	mu  sync.Mutex
	bad map[string]string // field → the unreadable value already reported
}

// NewSwitchStore returns a store for the switches in the hash key of rdb's
// database.
func NewSwitchStore(rdb *goredis.Client, key string) *SwitchStore {
	return &SwitchStore{rdb: rdb, key: key, resync: 30 * time.Second, bad: map[string]string{}}
}

// Key returns the hash's key, which is also the change channel.
func (s *SwitchStore) Key() string { return s.key }

// Load reads every switch in the hash. A value that cannot be read is left
// out and named in the error, which joins one error per such value; the
// others are returned all the same.
func (s *SwitchStore) Load(ctx context.Context) (map[string]toil.Switch, error) {
	raw, err := s.rdb.HGetAll(ctx, s.key).Result()
	if err != nil {
		return nil, fmt.Errorf("read switches hash %s: %w", s.key, err)
	}
	defs := make(map[string]toil.Switch, len(raw))
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		sw, err := toil.ParseSwitch(name, []byte(raw[name]))
		if err != nil {
			errs = append(errs, s.valueError(name, err))
			continue
		}
		defs[name] = sw
	}
	return defs, errors.Join(errs...)
}

func (s *SwitchStore) valueError(name string, err error) error {
	return fmt.Errorf("switches hash %s, field %q: %w; fix it with HSET %s %s 'on|off|{\"percent\": 10}' and PUBLISH %s %s",
		s.key, name, err, s.key, name, s.key, name)
}

// Set writes the switch name and tells the services, in one transaction.
func (s *SwitchStore) Set(ctx context.Context, name string, sw toil.Switch) error {
	b, err := json.Marshal(sw)
	if err != nil {
		return fmt.Errorf("set switch %q: %w", name, err)
	}
	// Write only what the services will read back.
	if _, err := toil.ParseSwitch(name, b); err != nil {
		return fmt.Errorf("set switch: %w", err)
	}
	_, err = s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, s.key, name, b)
		p.Publish(ctx, s.key, name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("set switch %q in hash %s: %w", name, s.key, err)
	}
	return nil
}

// Delete removes the switch name, which turns it off, and tells the
// services, in one transaction.
func (s *SwitchStore) Delete(ctx context.Context, name string) error {
	_, err := s.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HDel(ctx, s.key, name)
		p.Publish(ctx, s.key, name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete switch %q from hash %s: %w", name, s.key, err)
	}
	return nil
}

// Sync reads the hash once into into, replacing its switches if they
// differ (so Changed fires only on a change). Unreadable values are
// reported to onErr (which may be nil) once per value.
func (s *SwitchStore) Sync(ctx context.Context, into *toil.Switches, onErr func(error)) error {
	return s.sync(ctx, into, onErr)
}

func (s *SwitchStore) sync(ctx context.Context, into *toil.Switches, onErr func(error)) error {
	raw, err := s.rdb.HGetAll(ctx, s.key).Result()
	if err != nil {
		return fmt.Errorf("read switches hash %s: %w", s.key, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	current := into.Snapshot()
	defs := make(map[string]toil.Switch, len(raw))
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		v := raw[name]
		sw, err := toil.ParseSwitch(name, []byte(v))
		if err == nil {
			delete(s.bad, name)
			defs[name] = sw
			continue
		}
		if prev, seen := s.bad[name]; (!seen || prev != v) && onErr != nil {
			onErr(s.valueError(name, err))
		}
		s.bad[name] = v
		if old, ok := current[name]; ok {
			defs[name] = old
		}
	}
	for name := range s.bad {
		if _, ok := raw[name]; !ok {
			delete(s.bad, name)
		}
	}
	if !sameSwitches(current, defs) {
		into.Replace(defs)
	}
	return nil
}

// sameSwitches compares two sets of definitions, an empty list and no list
// being the same.
func sameSwitches(a, b map[string]toil.Switch) bool {
	if len(a) != len(b) {
		return false
	}
	for name, x := range a {
		y, ok := b[name]
		if !ok || x.State != y.State || x.Percent != y.Percent || x.By != y.By ||
			!slices.Equal(x.Allow, y.Allow) || !slices.Equal(x.Deny, y.Deny) {
			return false
		}
	}
	return true
}

// Watch feeds into from the hash until ctx is done, then returns nil. It
// subscribes to the hash's channel (and its keyspace channel), re-reads the
// hash on every message, on every (re)subscription and every resync
// interval; go-redis reconnects after an outage, and Watch retries with
// backoff meanwhile. Errors (an unreadable value, a lost connection) go to
// onErr, which may be nil; an outage is reported once, not on every retry.
// Run one Watch per store at a time.
func (s *SwitchStore) Watch(ctx context.Context, into *toil.Switches, onErr func(error)) error {
	report := func(err error) {
		if err != nil && onErr != nil {
			onErr(err)
		}
	}
	ps := s.rdb.Subscribe(ctx, s.key, fmt.Sprintf("__keyspace@%d__:%s", s.rdb.Options().DB, s.key))
	defer ps.Close()
	// Receive blocks in a read that ctx cannot interrupt; closing the
	// subscription does.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()

	wait := 100 * time.Millisecond
	down := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, s.resync)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Quiet for a resync interval: re-read in case a message was
				// lost, and ping so that a dead connection is noticed.
				report(s.sync(ctx, into, onErr))
				_ = ps.Ping(ctx)
				continue
			}
			if !down {
				report(fmt.Errorf("follow switches hash %s: %w; retrying until the server is back", s.key, err))
				down = true
			}
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
			wait = min(wait*2, 5*time.Second)
			continue
		}
		wait = 100 * time.Millisecond
		switch m := msg.(type) {
		case *goredis.Subscription:
			if m.Kind != "subscribe" {
				continue
			}
			// (Re)subscribed: whatever changed while no one listened is in
			// the hash.
			down = false
			report(s.sync(ctx, into, onErr))
		case *goredis.Message:
			report(s.sync(ctx, into, onErr))
		}
	}
}
