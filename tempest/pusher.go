package tempest

import (
	"context"
	"encoding/json"
	"fmt"

	goredis "github.com/redis/go-redis/v9"
	"github.com/toilhq/toil"
	"github.com/toilhq/toil/queue"
	"github.com/toilhq/toil/redis"
)

// PusherConfig is the pusher's config, under tempest.pusher. The pusher has
// no settings of its own; its queue field is under in:, Redis under redis:.
type PusherConfig struct{}

// Pusher is the tempest.pusher service (procs 2): it writes each cycle's
// Slates to Redis, KeySlate per placement, then KeyPlacements and
// KeyPushed, in one Lua script, so that
//
//   - it is atomic: a reader sees the whole cycle or the one before, never
//     slates of two cycles;
//   - it is idempotent: a replayed Slates changes no key;
//   - the newer cycle wins: a slate is written only over an older cycle's,
//     so a late or replayed older cycle never overwrites a newer one.
type Pusher struct {
	toil.Base[PusherConfig]

	In    queue.Consumer[Slates] // config under in:
	Redis redis.Client           // config under redis:
}

// pushScript writes one cycle's slates.
//
//	KEYS: KeyPushed, KeyPlacements, KeySlate(p) for each slate
//	ARGV: cycle, placements JSON, slate JSON for each slate
//
// A stored slate's cycle is read from its JSON; one that cannot be read is
// overwritten, as the older. It returns how many slates it wrote. A script
// runs atomically in Redis, which is what makes the push atomic.
// go-redis's Script sends EVALSHA and falls back to EVAL, so a restarted
// Redis that forgot the script is no error.
var pushScript = goredis.NewScript(`
local cycle = tonumber(ARGV[1])
local written = 0
for i = 3, #KEYS do
  local stored = -1
  local old = redis.call('GET', KEYS[i])
  if old then
    local ok, slate = pcall(cjson.decode, old)
    if ok and type(slate) == 'table' and tonumber(slate.cycle) then
      stored = tonumber(slate.cycle)
    end
  end
  if stored < cycle then
    redis.call('SET', KEYS[i], ARGV[i])
    written = written + 1
  end
end
local pushed = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if pushed < cycle then
  redis.call('SET', KEYS[2], ARGV[2])
  redis.call('SET', KEYS[1], ARGV[1])
end
return written
`)

// OnMessage pushes one cycle's slates. An error (Redis down, a cycle that
// is not a cycle number) is returned, so the queue retries the message.
func (p *Pusher) OnMessage(ctx context.Context, s Slates) error {
	keys, args, err := pushArgs(s)
	if err != nil {
		return err
	}
	written, err := pushScript.Run(ctx, p.Redis.Client, keys, args...).Int()
	if err != nil {
		return fmt.Errorf("push cycle %d: %w", s.Cycle, err)
	}
	p.Stats.Counter("tempest_pusher_slates_written_total",
		"Slates written to Redis.").Add(float64(written))
	p.Stats.Counter("tempest_pusher_slates_skipped_total",
		"Slates not written because Redis holds the same or a newer cycle's (replays, late cycles).").Add(float64(len(s.Slates) - written))
	return nil
}

// pushArgs is pushScript's keys and arguments for s. Every slate gets the
// cycle of s, which is what the script compares.
func pushArgs(s Slates) (keys []string, args []any, err error) {
	if s.Cycle < 1 {
		return nil, nil, fmt.Errorf("slates of cycle %d: cycles start at 1; the message is malformed", s.Cycle)
	}
	placements, err := json.Marshal(s.Placements)
	if err != nil {
		return nil, nil, fmt.Errorf("encode cycle %d placements: %w", s.Cycle, err)
	}
	keys = make([]string, 0, 2+len(s.Slates))
	args = make([]any, 0, 2+len(s.Slates))
	keys = append(keys, KeyPushed, KeyPlacements)
	args = append(args, s.Cycle, placements)
	for _, slate := range s.Slates {
		slate.Cycle = s.Cycle
		data, err := json.Marshal(slate)
		if err != nil {
			return nil, nil, fmt.Errorf("encode cycle %d slate %s: %w", s.Cycle, slate.Placement, err)
		}
		keys = append(keys, KeySlate(slate.Placement))
		args = append(args, data)
	}
	return keys, args, nil
}
