package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"
)

// BuildError is a build that failed; Output is what the compiler said.
type BuildError struct{ Output string }

func (e *BuildError) Error() string {
	return "build failed:\n" + strings.TrimRight(e.Output, "\n")
}

// Builder turns a Spec into a runnable binary, from its cache when it can
// prove the inputs unchanged.
type Builder struct {
	CacheDir string   // toil's cache root (os.UserCacheDir()/toil); binaries live under CacheDir/run
	Dir      string   // the working directory toil was started in
	Env      []string // the environment of the go command, and what the cache key reads from
	// Logf, when set, hears what the builder does: "cached binary ..." or
	// "building ...", for `toil run -v`.
	Logf func(format string, args ...any)
	Keep int // binaries kept per service; 3 when zero
}

// Binary is a service's built main.
type Binary struct {
	Path    string
	Service Service
	Cached  bool // true when no go command ran
}

// cacheVersion changes when what a cache entry means changes, so an old
// toil's entries are never trusted by a new one.
const cacheVersion = "toil-run-1"

// manifest is what a build leaves behind for the next run to check.
type manifest struct {
	Version string  `json:"version"`
	Service Service `json:"service"`
	MainSum string  `json:"main"` // hash of the generated main, so a new toil template forces a rebuild
	Binary  string  `json:"binary"`
	Stamps  []stamp `json:"stamps"`
}

func (b *Builder) logf(format string, args ...any) {
	if b.Logf != nil {
		b.Logf(format, args...)
	}
}

// Binary returns the binary that runs spec, building it when needed.
func (b *Builder) Binary(ctx context.Context, spec Spec) (*Binary, error) {
	mod, err := FindModule(b.Dir)
	if err != nil {
		return nil, err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("toil run builds with the go command, and it is not on PATH: %w", err)
	}
	slot := filepath.Join(b.CacheDir, "run", b.slotKey(mod, spec, goBin))
	if bin := b.cached(slot); bin != nil {
		b.logf("cached binary %s", bin.Path)
		return bin, nil
	}
	return b.build(ctx, mod, spec, goBin, slot)
}

// buildEnvVars are the variables that can change what `go build` makes, or
// which go.mod, go.work and toolchain it uses. Runtime-only variables
// (GOMAXPROCS, GOGC, GODEBUG) are left out on purpose: setting them for a run
// must not cost a rebuild.
var buildEnvVars = map[string]bool{
	"GOOS": true, "GOARCH": true, "GOFLAGS": true, "CGO_ENABLED": true, "GOEXPERIMENT": true,
	"GOAMD64": true, "GOARM": true, "GOARM64": true, "GO386": true, "GOMIPS": true, "GOMIPS64": true,
	"GOPPC64": true, "GORISCV64": true, "GOWASM": true, "GOFIPS140": true, "GOTOOLCHAIN": true,
	"GOWORK": true, "GO111MODULE": true, "GOENV": true, "GOROOT": true, "GOPATH": true, "GOMODCACHE": true,
	"CC": true, "CXX": true, "FC": true, "AR": true, "PKG_CONFIG": true, "GCCGO": true,
	"CGO_CFLAGS": true, "CGO_CPPFLAGS": true, "CGO_CXXFLAGS": true, "CGO_FFLAGS": true, "CGO_LDFLAGS": true,
	"HOME": true, "XDG_CONFIG_HOME": true, // where the go env file is
}

// slotKey names the cache slot of one service in one module under one build
// environment. It is computed without running anything.
func (b *Builder) slotKey(mod *Module, spec Spec, goBin string) string {
	var env []string
	for _, kv := range b.Env {
		k, _, _ := strings.Cut(kv, "=")
		if buildEnvVars[k] {
			env = append(env, kv)
		}
	}
	sort.Strings(env)
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", cacheVersion, mod.Root, spec, goBin, strings.Join(env, "\x00"))
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// cached returns the slot's binary when every input recorded in its manifest
// is unchanged: stats only, and content hashes for what a stat cannot decide.
func (b *Builder) cached(slot string) *Binary {
	data, err := os.ReadFile(filepath.Join(slot, "manifest.json"))
	if err != nil {
		return nil
	}
	var m manifest
	if json.Unmarshal(data, &m) != nil || m.Version != cacheVersion {
		return nil
	}
	if _, sum := mainSource(m.Service); sum != m.MainSum {
		return nil
	}
	if fi, err := os.Stat(m.Binary); err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	dirty := false
	for i, s := range m.Stamps {
		ok, fresh := s.check()
		if !ok {
			return nil
		}
		if fresh != s {
			m.Stamps[i], dirty = fresh, true
		}
	}
	if dirty {
		// Only metadata moved: record it, so the next run is stats only again.
		_ = writeManifest(slot, &m)
	}
	now := time.Now()
	_ = os.Chtimes(filepath.Dir(m.Binary), now, now) // last use, for pruning
	return &Binary{Path: m.Binary, Service: m.Service, Cached: true}
}

// goEnvVars are read from `go env` for the binary's key: together with the
// sources they decide what the build makes.
var goEnvVars = []string{
	"GOVERSION", "GOOS", "GOARCH", "GOFLAGS", "CGO_ENABLED", "GOEXPERIMENT", "GOAMD64", "GOARM",
	"GOARM64", "GO386", "GOMIPS", "GOMIPS64", "GOPPC64", "GORISCV64", "GOWASM", "GOFIPS140",
	"CC", "CXX", "CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_FFLAGS", "CGO_LDFLAGS",
	"GOMOD", "GOWORK", "GOENV", "GOMODCACHE", "GOROOT",
}

func (b *Builder) goEnv(ctx context.Context) (map[string]string, error) {
	cmd := exec.CommandContext(ctx, "go", append([]string{"env", "-json"}, goEnvVars...)...)
	cmd.Dir, cmd.Env = b.Dir, b.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go env: %v\n%s", err, stderr.String())
	}
	env := map[string]string{}
	if err := json.Unmarshal(out, &env); err != nil {
		return nil, fmt.Errorf("go env: %w", err)
	}
	return env, nil
}

func (b *Builder) build(ctx context.Context, mod *Module, spec Spec, goBin, slot string) (*Binary, error) {
	started := time.Now()
	goenv, err := b.goEnv(ctx)
	if err != nil {
		return nil, err
	}
	switch gomod := goenv["GOMOD"]; {
	case gomod == os.DevNull:
		return nil, errNoModule(b.Dir)
	case gomod == "":
		return nil, inputErrorf("the go command is not in module mode here (GOMOD=%q; GO111MODULE=off?); toil run needs a module: unset GO111MODULE, or go mod init example.com/app", gomod)
	case filepath.Dir(gomod) != mod.Root:
		mod.Root = filepath.Dir(gomod)
	}
	t, err := Locate(mod, b.Dir, spec)
	if err != nil {
		return nil, err
	}

	// Discovery and the dependency listing are two go list runs that do not
	// depend on each other: run them side by side.
	var (
		svc  *Service
		deps []listedPackage
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		svc, err = Discover(gctx, mod, t, spec, b.Env)
		return err
	})
	var depsErr error
	g.Go(func() error {
		// Its failure is reported only once discovery has succeeded:
		// "no such service" beats "toil is not a dependency".
		deps, depsErr = b.listDeps(gctx, mod, t.Pattern)
		return nil
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if depsErr != nil {
		return nil, depsErr
	}
	src, mainSum := mainSource(*svc)
	stamps, err := b.stamps(mod, goenv, goBin, deps)
	if err != nil {
		return nil, err
	}
	key := contentKey(goenv, src, deps, stamps)
	binDir := filepath.Join(slot, key[:16])
	m := &manifest{Version: cacheVersion, Service: *svc, MainSum: mainSum, Binary: filepath.Join(binDir, svc.Name), Stamps: stamps}
	if fi, err := os.Stat(m.Binary); err == nil && fi.Mode().IsRegular() {
		b.logf("reusing %s: built from these very inputs before (checked with go list, not by stat)", m.Binary)
		now := time.Now()
		_ = os.Chtimes(binDir, now, now)
		if err := writeManifest(slot, m); err != nil {
			return nil, err
		}
		return &Binary{Path: m.Binary, Service: *svc}, nil
	}

	b.logf("building %s (%s.%s) into %s", svc.Name, svc.ImportPath, svc.Ident, m.Binary)
	if err := b.goBuild(ctx, mod, slot, *svc, src, mainSum, binDir); err != nil {
		return nil, err
	}
	if err := writeManifest(slot, m); err != nil {
		return nil, err
	}
	b.logf("built %s in %s", svc.Name, time.Since(started).Round(time.Millisecond))
	b.prune(slot, binDir)
	return &Binary{Path: m.Binary, Service: *svc}, nil
}

// mainSource is the generated main for svc and its hash.
func mainSource(svc Service) ([]byte, string) {
	arg := "service." + svc.Ident
	if svc.Kind == KindStruct {
		arg = "&service." + svc.Ident + "{}"
	}
	src := fmt.Sprintf(`// Code generated by toil run for %s. DO NOT EDIT.

package main

import (
	toil %q
	service %q
)

func main() {
	toil.Main(%q, %s)
}
`, svc.Name, ToilPath, svc.ImportPath, svc.Name, arg)
	sum := sha256.Sum256([]byte(src))
	return []byte(src), hex.EncodeToString(sum[:])
}

// goBuild builds the generated main. The main is a virtual file inside the
// module (so it may import the module's internal packages) mapped by
// -overlay to a file in the cache: nothing is written into the user's tree.
func (b *Builder) goBuild(ctx context.Context, mod *Module, slot string, svc Service, src []byte, mainSum, binDir string) error {
	srcDir := filepath.Join(slot, "src")
	if err := os.MkdirAll(srcDir, 0o755); err != nil {
		return fmt.Errorf("make cache dir: %w", err)
	}
	mainFile := filepath.Join(srcDir, mainSum[:16]+".go")
	if err := writeAtomic(mainFile, src); err != nil {
		return err
	}
	id := sha256.Sum256([]byte(svc.ImportPath + "." + svc.Ident))
	virtDir := filepath.Join(mod.Root, ".toil", "run", hex.EncodeToString(id[:6]))
	overlay, _ := json.Marshal(map[string]map[string]string{"Replace": {filepath.Join(virtDir, "main.go"): mainFile}})
	overlayFile := filepath.Join(srcDir, mainSum[:16]+".json")
	if err := writeAtomic(overlayFile, overlay); err != nil {
		return err
	}

	// Build into a fresh directory and rename it into place, so a
	// concurrent toil run never sees half a binary.
	tmp, err := os.MkdirTemp(slot, "build-")
	if err != nil {
		return fmt.Errorf("make build dir: %w", err)
	}
	defer os.RemoveAll(tmp)
	// -buildvcs=false: a dev run needs no VCS stamp, and stamping runs git
	// (slow, and an error on a repository owned by another user).
	cmd := exec.CommandContext(ctx, "go", "build", "-buildvcs=false", "-overlay", overlayFile, "-o", filepath.Join(tmp, svc.Name), virtDir)
	cmd.Dir, cmd.Env = b.Dir, b.Env
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if len(out) == 0 {
			return fmt.Errorf("go build: %w", err)
		}
		return &BuildError{Output: string(out)}
	}
	if err := os.Rename(tmp, binDir); err != nil {
		if _, statErr := os.Stat(filepath.Join(binDir, svc.Name)); statErr == nil {
			return nil // another toil run built the same inputs first
		}
		return fmt.Errorf("store binary: %w", err)
	}
	return nil
}

// prune keeps the Keep most recently used binaries of a slot, and drops
// slots nobody used for a month (modules deleted, services renamed).
func (b *Builder) prune(slot, keep string) {
	n := b.Keep
	if n <= 0 {
		n = 3
	}
	type entry struct {
		path string
		used time.Time
	}
	var bins []entry
	ents, _ := os.ReadDir(slot)
	for _, e := range ents {
		if !e.IsDir() || e.Name() == "src" || strings.HasPrefix(e.Name(), "build-") {
			continue
		}
		if fi, err := e.Info(); err == nil {
			bins = append(bins, entry{filepath.Join(slot, e.Name()), fi.ModTime()})
		}
	}
	sort.Slice(bins, func(i, j int) bool { return bins[i].used.After(bins[j].used) })
	for i, e := range bins {
		if i >= n && e.path != keep {
			_ = os.RemoveAll(e.path)
		}
	}
	// Generated mains of pruned builds are small; drop those older than the
	// oldest binary kept.
	if len(bins) > n {
		srcs, _ := os.ReadDir(filepath.Join(slot, "src"))
		for _, e := range srcs {
			if fi, err := e.Info(); err == nil && fi.ModTime().Before(bins[n-1].used) {
				_ = os.Remove(filepath.Join(slot, "src", e.Name()))
			}
		}
	}

	runDir := filepath.Dir(slot)
	slots, _ := os.ReadDir(runDir)
	monthAgo := time.Now().Add(-30 * 24 * time.Hour)
	for _, s := range slots {
		p := filepath.Join(runDir, s.Name())
		if p == slot || !s.IsDir() {
			continue
		}
		if lastUse(p).Before(monthAgo) {
			_ = os.RemoveAll(p)
		}
	}
}

// lastUse is the newest modification time in a slot: binaries are touched
// on every cached run.
func lastUse(slot string) time.Time {
	var t time.Time
	ents, _ := os.ReadDir(slot)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && fi.ModTime().After(t) {
			t = fi.ModTime()
		}
	}
	return t
}

func writeManifest(slot string, m *manifest) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(slot, "manifest.json"), data)
}

// writeAtomic writes through a temporary file and a rename, so a reader
// sees the old content or the new, never a mix.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("make cache dir: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
