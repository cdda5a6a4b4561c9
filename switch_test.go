package toil_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/toilhq/toil"
)

// writeSwitches writes a switches file in a fresh temp dir and returns its path.
func writeSwitches(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "switches.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadSwitches(t *testing.T, content string) *toil.Switches {
	t.Helper()
	sw, err := toil.LoadSwitches(writeSwitches(t, content))
	if err != nil {
		t.Fatal(err)
	}
	return sw
}

// share returns the fraction of keys 0..n-1 for which every named switch is active.
func share(sw *toil.Switches, n int, names ...string) float64 {
	ctx := context.Background()
	hits := 0
	for i := range n {
		all := true
		for _, name := range names {
			all = all && sw.Active(ctx, name, toil.Key(i))
		}
		if all {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

func TestSwitchPercentageShare(t *testing.T) {
	t.Parallel()
	sw := loadSwitches(t, "quarter: {percent: 25}\nhalf_a: {percent: 50}\nhalf_b: {percent: 50}\ntiny: {percent: 2.5}\n")
	const n = 10_000
	for _, tc := range []struct {
		names     []string
		want, tol float64
	}{
		{[]string{"quarter"}, 0.25, 0.015},
		{[]string{"half_a"}, 0.50, 0.015},
		// Independent halves overlap on a quarter; gargoyle's id % 100 would give 50%.
		{[]string{"half_a", "half_b"}, 0.25, 0.015},
		{[]string{"tiny"}, 0.025, 0.005},
	} {
		if got := share(sw, n, tc.names...); got < tc.want-tc.tol || got > tc.want+tc.tol {
			t.Errorf("%v active for %.2f%% of %d keys, want %.1f%% ± %.1f%%", tc.names, 100*got, n, 100*tc.want, 100*tc.tol)
		}
	}
	// String keys spread the same way as integers.
	hits := 0
	for i := range n {
		if sw.Active(context.Background(), "quarter", toil.Key(fmt.Sprintf("user-%d", i))) {
			hits++
		}
	}
	if got := float64(hits) / n; got < 0.235 || got > 0.265 {
		t.Errorf("quarter active for %.2f%% of %d string keys, want 25%% ± 1.5%%", 100*got, n)
	}
}

// The bucket of a key is a contract with users: changing the hash would move people in and
// out of every running rollout on upgrade. These answers were recorded once; they must never
// change.
func TestSwitchAnswersAreStable(t *testing.T) {
	t.Parallel()
	const file = "scorer:v2: {percent: 50}\n"
	fromFile := loadSwitches(t, file)
	fresh := toil.NewSwitches()
	fresh.Set("scorer:v2", toil.Switch{Percent: 50})

	answers := func(sw *toil.Switches) string {
		var b strings.Builder
		for i := range 32 {
			if sw.Active(context.Background(), "scorer:v2", toil.Key(i)) {
				b.WriteByte('1')
			} else {
				b.WriteByte('0')
			}
		}
		return b.String()
	}
	got := answers(fromFile)
	if got != switchGolden {
		t.Errorf("answers for keys 0..31 at 50%% = %s, recorded %s: the percentage hash changed", got, switchGolden)
	}
	if again := answers(fresh); again != got {
		t.Errorf("NewSwitches+Set answers %s, LoadSwitches answers %s", again, got)
	}
	if err := fromFile.Reload(); err != nil {
		t.Fatal(err)
	}
	if again := answers(fromFile); again != got {
		t.Errorf("after Reload answers %s, before %s", again, got)
	}

	// A key is its value: the same id as an int, a named int, a string or kind-qualified
	// gets the same answer.
	type UserID int64
	ctx := context.Background()
	for i := range 200 {
		a := fromFile.Active(ctx, "scorer:v2", toil.Key(i))
		for _, k := range []toil.SwitchKey{toil.Key(UserID(i)), toil.Key(fmt.Sprint(i)), toil.KeyOf("user", uint16(i))} {
			if b := fromFile.Active(ctx, "scorer:v2", k); b != a {
				t.Fatalf("key %d: Key(%d) is %v but %v (%T form) is %v", i, i, a, k, k, b)
			}
		}
	}
}

// switchGolden is the answer of "scorer:v2" at 50% for keys 0..31 ('1' = active).
// It was checked against an independent (Python) implementation of the documented hash:
// fmix64(fnv1a64("scorer:v2:" + decimal key)) % 1e6 < 500000.
const switchGolden = "10100111011101010100101011110110"

func TestSwitchStates(t *testing.T) {
	t.Parallel()
	sw := loadSwitches(t, `
everyone: on
no_one: off
listed:
  allow: [user:42, "7", alice]
blocked:
  state: on
  deny: [user:13]
paused:
  state: off
  allow: ["7"]
  percent: 100
full: {percent: 100}
none: {percent: 0}
by_user:
  percent: 100
  by: user
denied_wins:
  percent: 100
  allow: ["7"]
  deny: ["7"]
`)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		keys []toil.SwitchKey
		want bool
	}{
		{"everyone", nil, true},
		{"everyone", []toil.SwitchKey{toil.Key(1)}, true},
		{"no_one", []toil.SwitchKey{toil.Key(1)}, false},
		{"unknown", []toil.SwitchKey{toil.Key(1)}, false},
		{"unknown", nil, false},

		{"listed", []toil.SwitchKey{toil.KeyOf("user", 42)}, true},
		{"listed", []toil.SwitchKey{toil.Key(42)}, false}, // "user:42" needs the kind
		{"listed", []toil.SwitchKey{toil.KeyOf("account", 42)}, false},
		{"listed", []toil.SwitchKey{toil.Key(7)}, true}, // "7" matches any kind
		{"listed", []toil.SwitchKey{toil.KeyOf("user", "7")}, true},
		{"listed", []toil.SwitchKey{toil.Key("alice")}, true},
		{"listed", []toil.SwitchKey{toil.Key("bob"), toil.Key("alice")}, true}, // any key
		{"listed", []toil.SwitchKey{toil.Key("bob")}, false},
		{"listed", nil, false},

		{"blocked", []toil.SwitchKey{toil.KeyOf("user", 12)}, true},
		{"blocked", []toil.SwitchKey{toil.KeyOf("user", 13)}, false},
		{"blocked", []toil.SwitchKey{toil.Key(1), toil.KeyOf("user", 13)}, false},
		{"blocked", nil, true},

		{"paused", []toil.SwitchKey{toil.Key(7)}, false},
		{"paused", nil, false},

		{"full", nil, true}, // 100% needs no key
		{"full", []toil.SwitchKey{toil.Key(3)}, true},
		{"none", []toil.SwitchKey{toil.Key(3)}, false},

		{"by_user", []toil.SwitchKey{toil.KeyOf("user", 3)}, true},
		{"by_user", []toil.SwitchKey{toil.Key(3)}, true}, // 100% is on with or without its key
		{"denied_wins", []toil.SwitchKey{toil.Key(7)}, false},
		{"denied_wins", []toil.SwitchKey{toil.Key(8)}, true},
		{"everyone", []toil.SwitchKey{{}}, true}, // the zero key is no key
	} {
		if got := sw.Active(ctx, tc.name, tc.keys...); got != tc.want {
			t.Errorf("Active(%q, %v) = %v, want %v", tc.name, tc.keys, got, tc.want)
		}
	}
}

func TestSwitchPercentageWithoutKeyIsOff(t *testing.T) {
	t.Parallel()
	sw := loadSwitches(t, "almost: {percent: 99.9999}\nby_user: {percent: 50, by: user}\n")
	ctx := context.Background()
	if sw.Active(ctx, "almost") {
		t.Error("a 99.9999% switch is active with no key; only 100% should be")
	}
	if sw.Active(ctx, "almost", toil.SwitchKey{}) {
		t.Error("a 99.9999% switch is active for the zero key; it is no key")
	}
	// With by: user, only the user key is hashed: an account key alone decides nothing.
	var userOn, accountOn int
	for i := range 1000 {
		if sw.Active(ctx, "by_user", toil.KeyOf("user", i)) {
			userOn++
		}
		if sw.Active(ctx, "by_user", toil.KeyOf("account", i)) {
			accountOn++
		}
		both := sw.Active(ctx, "by_user", toil.KeyOf("account", -1), toil.KeyOf("user", i))
		if both != sw.Active(ctx, "by_user", toil.KeyOf("user", i)) {
			t.Fatalf("user %d: the answer changed when an account key came first", i)
		}
	}
	if accountOn != 0 || userOn < 400 || userOn > 600 {
		t.Errorf("by: user at 50%%: %d of 1000 users and %d of 1000 accounts active, want ~500 and 0", userOn, accountOn)
	}
}

func TestSwitchParentChild(t *testing.T) {
	t.Parallel()
	sw := loadSwitches(t, `
off_parent: off
off_parent:child: on
on_parent: on
on_parent:child: {allow: ["1"]}
half: {percent: 50}
half:all: on
orphan:child: on
grand: {allow: ["1", "2"]}
grand:middle:child: {allow: ["2", "3"]}
`)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  int
		want bool
	}{
		{"off_parent:child", 1, false},
		{"on_parent:child", 1, true},
		{"on_parent:child", 2, false},
		{"orphan:child", 1, true},               // no parent defined: the child decides alone
		{"on_parent:unknown", 1, false},         // unknown is off, whatever the parent
		{"grand:middle:child", 2, true},         // grand defined, grand:middle not: grand decides
		{"grand:middle:child", 1, false},        // child says no
		{"grand:middle:child", 3, false},        // grand says no
		{"grand:middle", 1, false},              // not defined
		{"grand:middle:child:deeper", 2, false}, // not defined
	} {
		if got := sw.Active(ctx, tc.name, toil.Key(tc.key)); got != tc.want {
			t.Errorf("Active(%q, %d) = %v, want %v", tc.name, tc.key, got, tc.want)
		}
	}
	// A child at 100% under a 50% parent follows the parent key by key (gutter's concent).
	for i := range 1000 {
		if p, c := sw.Active(ctx, "half", toil.Key(i)), sw.Active(ctx, "half:all", toil.Key(i)); p != c {
			t.Fatalf("key %d: half is %v but half:all is %v", i, p, c)
		}
	}
}

func TestSwitchOverrides(t *testing.T) {
	t.Parallel()
	sw := loadSwitches(t, "parent: on\nparent:child: on\nsome: {percent: 0}\n")
	ctx := context.Background()

	on := toil.WithSwitch(ctx, "some", true)
	if !sw.Active(on, "some", toil.Key(1)) || !sw.Active(toil.WithSwitch(ctx, "unknown", true), "unknown") {
		t.Error("WithSwitch(true) did not force the switch on")
	}
	if sw.Active(ctx, "some", toil.Key(1)) {
		t.Error("the override leaked out of its context")
	}
	// Forcing a parent off turns its children off; the innermost override wins.
	parentOff := toil.WithSwitch(ctx, "parent", false)
	if sw.Active(parentOff, "parent:child") {
		t.Error("parent forced off, child still active")
	}
	if !sw.Active(toil.WithSwitch(parentOff, "parent:child", true), "parent:child") {
		t.Error("child forced on under a parent forced off is not active")
	}
	if sw.Active(toil.WithSwitch(on, "some", false), "some", toil.Key(1)) {
		t.Error("the inner WithSwitch(false) did not win over the outer WithSwitch(true)")
	}
	// Overrides in a context work even without switches (a nil *Switches).
	var none *toil.Switches
	if none.Active(ctx, "some") || !none.Active(on, "some") {
		t.Error("a nil *Switches must be off except for context overrides")
	}

	// Force survives reloads and restores what was there before.
	restore := sw.Force("some", true)
	if !sw.Active(ctx, "some", toil.Key(1)) {
		t.Error("Force(true) did not force the switch on")
	}
	if err := sw.Reload(); err != nil {
		t.Fatal(err)
	}
	if !sw.Active(ctx, "some", toil.Key(1)) {
		t.Error("Force did not survive a Reload")
	}
	if sw.Active(toil.WithSwitch(ctx, "some", false), "some", toil.Key(1)) {
		t.Error("WithSwitch(false) did not win over Force(true)")
	}
	inner := sw.Force("some", false)
	inner()
	if !sw.Active(ctx, "some", toil.Key(1)) {
		t.Error("restoring the inner Force did not put the outer one back")
	}
	restore()
	restore() // a second call is harmless
	if sw.Active(ctx, "some", toil.Key(1)) {
		t.Error("after restore the switch is still forced on")
	}
}

func TestSwitchSetAndSnapshot(t *testing.T) {
	t.Parallel()
	sw := toil.NewSwitches()
	ctx := context.Background()
	if sw.Active(ctx, "x") || len(sw.Names()) != 0 {
		t.Fatal("NewSwitches is not empty")
	}
	allow := []string{"1"}
	changed := sw.Changed()
	sw.Set("x", toil.Switch{Allow: allow})
	select {
	case <-changed:
	default:
		t.Error("Set did not close the Changed channel")
	}
	allow[0] = "2" // Set keeps its own copy
	if !sw.Active(ctx, "x", toil.Key(1)) || sw.Active(ctx, "x", toil.Key(2)) {
		t.Error("Set(x, allow [1]) does not answer for key 1 only")
	}
	sw.Set("a:b", toil.Switch{State: toil.SwitchOn})
	sw.Set("a", toil.Switch{State: toil.SwitchOff}) // a parent defined after its child
	if sw.Active(ctx, "a:b") {
		t.Error("a:b is active although its parent a, set later, is off")
	}
	if got, want := sw.Names(), []string{"a", "a:b", "x"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	snap := sw.Snapshot()
	snap["x"].Allow[0] = "changed"
	b, err := json.Marshal(sw.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"a":{"state":"off"},"a:b":{"state":"on"},"x":{"state":"selective","allow":["1"]}}`; string(b) != want {
		t.Errorf("Snapshot JSON = %s\nwant %s", b, want)
	}
	var back map[string]toil.Switch
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, sw.Snapshot()) {
		t.Errorf("Snapshot does not round-trip through JSON: %v, %v", back, err)
	}

	// The zero Switches is usable and empty.
	var zero toil.Switches
	ch := zero.Changed()
	zero.Set("y", toil.Switch{State: toil.SwitchOn})
	<-ch
	if !zero.Active(ctx, "y") {
		t.Error("Set on a zero Switches did not define the switch")
	}
}

func TestSwitchFile(t *testing.T) {
	t.Parallel()
	sw := loadSwitches(t, `# comments are fine
checkout: on
legacy: off
quoted: "on"
scorer: {percent: "12.5%", by: user}
scorer:v2:
  percent: 0.5
  allow: &staff [user:1, "2"]
  deny: [user:3]
  state: selective
staff_only: {allow: *staff}
`)
	want := map[string]toil.Switch{
		"checkout":   {State: toil.SwitchOn},
		"legacy":     {State: toil.SwitchOff},
		"quoted":     {State: toil.SwitchOn},
		"scorer":     {Percent: 12.5, By: "user"},
		"scorer:v2":  {Percent: 0.5, Allow: []string{"user:1", "2"}, Deny: []string{"user:3"}},
		"staff_only": {Allow: []string{"user:1", "2"}},
	}
	if got := sw.Snapshot(); !reflect.DeepEqual(got, want) {
		t.Errorf("loaded %+v\nwant   %+v", got, want)
	}

	js := filepath.Join(t.TempDir(), "switches.json")
	if err := os.WriteFile(js, []byte(`{"checkout": "on", "scorer": {"percent": 12.5, "by": "user"}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	fromJSON, err := toil.LoadSwitches(js)
	if err != nil {
		t.Fatal(err)
	}
	if got := fromJSON.Snapshot(); !reflect.DeepEqual(got, map[string]toil.Switch{"checkout": want["checkout"], "scorer": want["scorer"]}) {
		t.Errorf("JSON file loaded %+v", got)
	}

	for _, empty := range []string{"", "# nothing yet\n", "---\n"} {
		if got := loadSwitches(t, empty).Names(); len(got) != 0 {
			t.Errorf("file %q defines %v, want nothing", empty, got)
		}
	}
}

func TestSwitchFileErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		content string
		want    []string // substrings of the error, after the file name
	}{
		{"a: on\nb: {percent: 120}\n", []string{":2: ", `switch "b" has percent "120"`, "from 0 to 100"}},
		{"a: on\nb: {percent: lots}\n", []string{":2: ", `percent "lots"`}},
		{"a: on\n\nb:\n  allowed: [1]\n", []string{":4: ", `unknown field "allowed"`, "state, percent, by, allow, deny"}},
		{"a: maybe\n", []string{":1: ", `switch "a" is "maybe"`, "write on, off, or a mapping"}},
		{"a:\n", []string{":1: ", `switch "a" is ""`}},
		{"a: {state: sometimes}\n", []string{":1: ", `state "sometimes"`, "selective, on or off"}},
		{"a: {allow: user:1}\n", []string{":1: ", "allow must be a list"}},
		{"a: {deny: [[1]]}\n", []string{":1: ", "each deny entry must be a key value"}},
		{"a: {by: [x]}\n", []string{":1: ", "by must name a key kind"}},
		{"a: on\nb: off\na: off\n", []string{":3: ", `"a" is defined twice (first at line 1)`}},
		{"a: {percent: 1, percent: 2}\n", []string{":1: ", "sets percent twice"}},
		{"ok: on\n\"a::b\": on\n", []string{":2: ", `"a::b" has an empty part`}},
		{"\"my switch\": on\n", []string{":1: ", "white space"}},
		{"- a\n- b\n", []string{":1: ", "must map switch names"}},
		{"a: on\nb: on\n  c: off\n", []string{":3: ", "mapping values are not allowed", "is it YAML"}},
		{"a: on\n\tb: on\n", []string{":2: ", "tab character"}},
	} {
		path := writeSwitches(t, tc.content)
		_, err := toil.LoadSwitches(path)
		if err == nil {
			t.Errorf("file %q loaded without error", tc.content)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, path+":") {
			t.Errorf("file %q: error %q does not start with the file name", tc.content, msg)
		}
		for _, w := range tc.want {
			if !strings.Contains(strings.TrimPrefix(msg, path), w) {
				t.Errorf("file %q: error %q does not say %q", tc.content, msg, w)
			}
		}
	}

	_, err := toil.LoadSwitches(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want an error wrapping os.ErrNotExist", err)
	}
	if err := toil.NewSwitches().Reload(); err == nil || !strings.Contains(err.Error(), "LoadSwitches") {
		t.Errorf("Reload of a set not from a file: got %v, want an error pointing to LoadSwitches", err)
	}
}

func TestSwitchReloadErrorKeepsOldSet(t *testing.T) {
	t.Parallel()
	path := writeSwitches(t, "a: on\n")
	sw, err := toil.LoadSwitches(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("a: {percent: 200}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := sw.Reload(); err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Fatalf("Reload of a bad file: got %v, want an error naming %s:1", err, path)
	}
	if !sw.Active(context.Background(), "a") {
		t.Error("a bad file replaced the set")
	}
}

// waitContext is done shortly before the test binary's deadline (go test -timeout), so that
// an event that never comes fails this test with its own message rather than a panic dump.
func waitContext(t *testing.T) context.Context {
	t.Helper()
	d, ok := t.Deadline()
	if !ok {
		return t.Context()
	}
	ctx, cancel := context.WithDeadline(t.Context(), d.Add(-time.Until(d)/20))
	t.Cleanup(cancel)
	return ctx
}

// watchSwitches runs Watch until the test ends and returns once the watch is in place, with
// a channel of the errors it reports.
func watchSwitches(t *testing.T, sw *toil.Switches) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, 16)
	started := sw.Changed()
	done := make(chan error, 1)
	go func() { done <- sw.Watch(ctx, func(err error) { errs <- err }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch returned %v", err)
		}
	})
	select {
	case <-started: // Watch reloads once the watch is in place
	case err := <-done:
		t.Fatalf("Watch returned before it started: %v", err)
	case <-waitContext(t).Done():
		t.Fatal("Watch did not start")
	}
	return errs
}

// waitActive waits, reload by reload, until Active(name, key) is want.
func waitActive(t *testing.T, sw *toil.Switches, name string, key toil.SwitchKey, want bool, errs <-chan error) {
	t.Helper()
	ctx := waitContext(t)
	for {
		ch := sw.Changed()
		if sw.Active(context.Background(), name, key) == want {
			return
		}
		select {
		case <-ch:
		case err := <-errs:
			t.Fatalf("waiting for %s to be %v: Watch reported %v", name, want, err)
		case <-ctx.Done():
			t.Fatalf("%s never became %v: the change was not reloaded", name, want)
		}
	}
}

func TestSwitchWatch(t *testing.T) {
	t.Parallel()
	path := writeSwitches(t, "feature: off\n")
	sw, err := toil.LoadSwitches(path)
	if err != nil {
		t.Fatal(err)
	}
	errs := watchSwitches(t, sw)
	key := toil.Key(1)

	// In place, as most tools write.
	if err := os.WriteFile(path, []byte("feature: on\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitActive(t, sw, "feature", key, true, errs)

	// Atomically, as editors and config management write: a temp file renamed over it.
	tmp := filepath.Join(filepath.Dir(path), ".switches.yaml.tmp")
	if err := os.WriteFile(tmp, []byte("feature: {allow: [\"2\"]}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	waitActive(t, sw, "feature", key, false, errs)
	if !sw.Active(context.Background(), "feature", toil.Key(2)) {
		t.Error("after the rename, feature is not active for the allowed key 2")
	}

	// A bad file is reported with its line, and the set in force stays. It is renamed into
	// place so that no reload can read it half-written (empty is a valid set).
	if err := os.WriteFile(tmp, []byte("feature: on\nother: {percent: -1}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		if !strings.Contains(err.Error(), path+":2:") {
			t.Errorf("Watch reported %q, want it to name %s:2", err, path)
		}
	case <-waitContext(t).Done():
		t.Fatal("Watch did not report the bad file")
	}
	if sw.Active(context.Background(), "feature", key) || !sw.Active(context.Background(), "feature", toil.Key(2)) {
		t.Error("the bad file changed the set in force")
	}

	// Removed and written again (some editors' save): the new content arrives.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("feature: on\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := waitContext(t)
	for {
		ch := sw.Changed()
		if sw.Active(context.Background(), "feature", key) {
			break
		}
		select {
		case <-ch:
		case <-errs: // the file may be read while gone or empty; the next event reloads it
		case <-ctx.Done():
			t.Fatal("the rewritten file was not loaded")
		}
	}
}

func TestSwitchWatchNeedsAFile(t *testing.T) {
	t.Parallel()
	if err := toil.NewSwitches().Watch(context.Background(), nil); err == nil {
		t.Error("Watch on a set not from a file returned nil, want an error")
	}
}

// Readers never see a torn set while writers swap: run with -race.
func TestSwitchConcurrentUse(t *testing.T) {
	t.Parallel()
	path := writeSwitches(t, "a: on\na:b: {percent: 50}\n")
	sw, err := toil.LoadSwitches(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if !sw.Active(ctx, "a") {
					t.Error("a, on in every version of the set, was read as off")
					return
				}
				sw.Active(ctx, "a:b", toil.Key(i))
			}
		})
	}
	for i := range 200 {
		sw.Set(fmt.Sprintf("s%d", i), toil.Switch{Percent: float64(i % 100)})
		restore := sw.Force("x", i%2 == 0)
		if i%20 == 0 {
			if err := sw.Reload(); err != nil {
				t.Error(err)
			}
		}
		restore()
	}
	close(stop)
	wg.Wait()
}

func TestSwitchActiveDoesNotAllocate(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters change allocation counts")
	}
	sw := loadSwitches(t, "p: {percent: 50}\nl: {allow: [user:42, \"7\"]}\nparent: {percent: 50}\nparent:child: {percent: 50}\n")
	ctx := context.Background()
	type UserID int64
	id, name := 123456789, "user-123456789"
	for _, tc := range []struct {
		what string
		f    func()
	}{
		{"percent, int key", func() { sw.Active(ctx, "p", toil.Key(id)) }},
		{"percent, string key", func() { sw.Active(ctx, "p", toil.Key(name)) }},
		{"percent, named int key", func() { sw.Active(ctx, "p", toil.Key(UserID(id))) }},
		{"allow-list, kind-qualified int key", func() { sw.Active(ctx, "l", toil.KeyOf("user", id)) }},
		{"allow-list, string key", func() { sw.Active(ctx, "l", toil.Key(name)) }},
		{"parent:child", func() { sw.Active(ctx, "parent:child", toil.Key(id)) }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("Active (%s) allocates %v times per call, want 0", tc.what, n)
		}
	}
}

func TestSwitchKey(t *testing.T) {
	t.Parallel()
	type Country string
	for _, tc := range []struct {
		key               toil.SwitchKey
		kind, value, text string
	}{
		{toil.Key(42), "", "42", "42"},
		{toil.KeyOf("user", 42), "user", "42", "user:42"},
		{toil.Key(int8(-5)), "", "-5", "-5"},
		{toil.Key(uint64(18446744073709551615)), "", "18446744073709551615", "18446744073709551615"},
		{toil.Key(uint8(7)), "", "7", "7"},
		{toil.KeyOf("country", Country("NZ")), "country", "NZ", "country:NZ"},
		{toil.SwitchKey{}, "", "", ""},
	} {
		if tc.key.Kind() != tc.kind || tc.key.Value() != tc.value || tc.key.String() != tc.text {
			t.Errorf("key %#v: Kind, Value, String = %q, %q, %q; want %q, %q, %q",
				tc.key, tc.key.Kind(), tc.key.Value(), tc.key.String(), tc.kind, tc.value, tc.text)
		}
	}
	sw := toil.NewSwitches()
	sw.Set("neg", toil.Switch{Allow: []string{"-5", "country:NZ"}})
	ctx := context.Background()
	if !sw.Active(ctx, "neg", toil.Key(int16(-5))) || !sw.Active(ctx, "neg", toil.Key("-5")) {
		t.Error("allow [-5] does not match the key -5 as an int16 and as a string")
	}
	if !sw.Active(ctx, "neg", toil.KeyOf("country", Country("NZ"))) || sw.Active(ctx, "neg", toil.Key(Country("NZ"))) {
		t.Error(`allow ["country:NZ"] must match KeyOf("country", "NZ") and not Key("NZ")`)
	}
}

func TestSwitchSetClampsPercent(t *testing.T) {
	t.Parallel()
	sw := toil.NewSwitches()
	sw.Set("over", toil.Switch{Percent: 250})
	sw.Set("under", toil.Switch{Percent: -3})
	ctx := context.Background()
	for i := range 100 {
		if !sw.Active(ctx, "over", toil.Key(i)) || sw.Active(ctx, "under", toil.Key(i)) {
			t.Fatalf("key %d: Percent 250 must act as 100 and -3 as 0", i)
		}
	}
}

// Kubernetes mounts a ConfigMap as symlinks and updates it by swapping the ..data link: no
// event names the file itself.
func TestSwitchWatchConfigMapSymlinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeVersion := func(version, content string) {
		t.Helper()
		if err := os.Mkdir(filepath.Join(dir, version), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, version, "switches.yaml"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(version, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	writeVersion("..v1", "feature: off\n")
	path := filepath.Join(dir, "switches.yaml")
	if err := os.Symlink(filepath.Join("..data", "switches.yaml"), path); err != nil {
		t.Fatal(err)
	}
	sw, err := toil.LoadSwitches(path)
	if err != nil {
		t.Fatal(err)
	}
	errs := watchSwitches(t, sw)
	writeVersion("..v2", "feature: on\n")
	waitActive(t, sw, "feature", toil.Key(1), true, errs)
}

func ExampleLoadSwitches() {
	dir, err := os.MkdirTemp("", "switches")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "switches.yaml")
	// The file from LoadSwitches' documentation.
	err = os.WriteFile(path, []byte(`
checkout: on              # on for everyone
legacy_search: off        # off for everyone
scorer:                   # the parent of every scorer:* switch
  percent: 50
scorer:v2:                # active only where scorer is active, for the same keys
  percent: 12.5           # share of keys, 0–100, fractional allowed (also "12.5%")
  by: user                # hash the first key of kind "user" (default: the first key)
  allow: [user:42, "7"]   # active for these keys whatever the percentage
  deny: [user:13]         # inactive for these keys whatever else says
  state: selective        # selective (default), on (all but deny), off (none; keeps the rest)
`), 0o644)
	if err != nil {
		panic(err)
	}
	sw, err := toil.LoadSwitches(path)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	fmt.Println(sw.Names())
	fmt.Println(sw.Active(ctx, "checkout"), sw.Active(ctx, "legacy_search"), sw.Active(ctx, "unknown"))
	// User 42 is on scorer:v2's allow-list, but a child is active only where its parent is,
	// and scorer's 50% leaves user 42 out. User 58 is in both percentages.
	for _, id := range []int{42, 43, 58} {
		fmt.Printf("user %d: scorer %v, scorer:v2 %v\n", id,
			sw.Active(ctx, "scorer", toil.KeyOf("user", id)), sw.Active(ctx, "scorer:v2", toil.KeyOf("user", id)))
	}
	// Output:
	// [checkout legacy_search scorer scorer:v2]
	// true false false
	// user 42: scorer false, scorer:v2 false
	// user 43: scorer true, scorer:v2 false
	// user 58: scorer true, scorer:v2 true
}
