package pool

import (
	"context"
	"fmt"

	"github.com/toilhq/toil"
)

// Config is a Pool's config as a mixin field, under the field's key.
type Config struct {
	Limit int `default:"16" help:"how many tasks run at once"`
}

// Validate checks the config; toil calls it on every load.
func (c *Config) Validate() error {
	if c.Limit < 1 {
		return fmt.Errorf("limit is %d: want 1 or more", c.Limit)
	}
	return nil
}

var (
	_ toil.MixinConfig        = (*Pool)(nil)
	_ toil.MixinPreSetup      = (*Pool)(nil)
	_ toil.MixinConfigChanged = (*Pool)(nil)
)

// ToilConfig implements toil.MixinConfig.
func (p *Pool) ToilConfig() any { return &Config{} }

// ToilPreSetup sets the configured limit and exports the metrics, labelled
// with the field's config key, before the service's Setup can use the pool.
func (p *Pool) ToilPreSetup(ctx context.Context, env *toil.MixinEnv) error {
	cfg, ok := env.Config.(*Config)
	if !ok {
		return fmt.Errorf("pool: config is %T, want *pool.Config", env.Config)
	}
	p.setLimit(cfg.Limit)
	p.useStats(env.Stats, env.Section)
	return nil
}

// ToilConfigChanged applies a new limit to the tasks started from now on.
func (p *Pool) ToilConfigChanged(ctx context.Context, old, new any) error {
	if n := new.(*Config).Limit; n != p.Limit() {
		p.setLimit(n)
	}
	return nil
}
