package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
)

var errNoDeps = errors.New("go list printed no packages")

// listedPackage is what go list -deps says about one package the binary is
// built from.
type listedPackage struct {
	ImportPath string
	Dir        string
	Standard   bool
	Module     *struct {
		Path    string
		Version string
		Dir     string
		GoMod   string
		Main    bool
	}
	GoFiles, CgoFiles, CFiles, CXXFiles, MFiles, HFiles, FFiles, SFiles []string
	SwigFiles, SwigCXXFiles, SysoFiles, EmbedFiles                      []string
	IgnoredGoFiles, IgnoredOtherFiles                                   []string
}

func (p *listedPackage) files() []string {
	var all []string
	for _, l := range [][]string{p.GoFiles, p.CgoFiles, p.CFiles, p.CXXFiles, p.MFiles, p.HFiles, p.FFiles,
		p.SFiles, p.SwigFiles, p.SwigCXXFiles, p.SysoFiles, p.EmbedFiles, p.IgnoredGoFiles, p.IgnoredOtherFiles} {
		all = append(all, l...)
	}
	return all
}

// listDeps lists every package the generated main is built from: the
// service's package, toil, and all they import.
func (b *Builder) listDeps(ctx context.Context, mod *Module, pattern string) ([]listedPackage, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-e", "-deps",
		"-json=ImportPath,Dir,Standard,Module,GoFiles,CgoFiles,CFiles,CXXFiles,MFiles,HFiles,FFiles,SFiles,"+
			"SwigFiles,SwigCXXFiles,SysoFiles,EmbedFiles,IgnoredGoFiles,IgnoredOtherFiles",
		"--", pattern, ToilPath)
	cmd.Dir, cmd.Env = mod.Root, b.Env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, &BuildError{Output: stderr.String()}
	}
	var pkgs []listedPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var p listedPackage
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("read go list output: %w", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		return nil, errNoDeps
	}
	return pkgs, nil
}

// stamps records every input a stat can prove unchanged: the sources of all
// packages outside GOROOT and the module cache (those are immutable for a
// given go version and go.sum), module files, workspace files and the go
// binary itself.
func (b *Builder) stamps(mod *Module, goenv map[string]string, goBin string, deps []listedPackage) ([]stamp, error) {
	var out []stamp
	seen := map[string]bool{}
	add := func(path string, kind stampKind, embed bool) error {
		if path == "" || seen[path] {
			return nil
		}
		seen[path] = true
		s, err := takeStamp(path, kind, embed)
		if err != nil {
			return fmt.Errorf("stat build input: %w", err)
		}
		out = append(out, s)
		return nil
	}
	modcache := goenv["GOMODCACHE"] + string(filepath.Separator)
	for _, p := range [...]struct {
		path string
		kind stampKind
	}{
		{goBin, stampStat},
		{filepath.Join(mod.Root, "go.mod"), stampFile},
		{filepath.Join(mod.Root, "go.sum"), stampFile},
		{filepath.Join(mod.Root, "vendor", "modules.txt"), stampFile},
		{goenv["GOENV"], stampFile},
	} {
		if err := add(p.path, p.kind, false); err != nil {
			return nil, err
		}
	}
	if w := goenv["GOWORK"]; w != "" && w != "off" {
		if err := add(w, stampFile, false); err != nil {
			return nil, err
		}
		if err := add(w+".sum", stampFile, false); err != nil {
			return nil, err
		}
	} else if w == "" {
		// A go.work created later above the module would change the build.
		for d := mod.Root; ; d = filepath.Dir(d) {
			if err := add(filepath.Join(d, "go.work"), stampAbsent, false); err != nil {
				return nil, err
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, p := range deps {
		if p.Standard || p.Dir == "" || strings.HasPrefix(p.Dir, modcache) {
			continue
		}
		if p.Module != nil && p.Module.GoMod != "" && !strings.HasPrefix(p.Module.GoMod, modcache) {
			if err := add(p.Module.GoMod, stampFile, false); err != nil {
				return nil, err
			}
		}
		if err := add(p.Dir, stampDir, false); err != nil {
			return nil, err
		}
		for _, f := range p.files() {
			path := filepath.Join(p.Dir, f)
			if err := add(path, stampFile, false); err != nil {
				return nil, err
			}
		}
		for _, f := range p.EmbedFiles {
			// A new file matching an embed pattern changes the binary.
			d := filepath.Dir(filepath.Join(p.Dir, f))
			if d != p.Dir {
				if err := add(d, stampDir, true); err != nil {
					return nil, err
				}
			}
		}
	}
	return out, nil
}

// contentKey names a binary by everything it is built from.
func contentKey(goenv map[string]string, mainSrc []byte, deps []listedPackage, stamps []stamp) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00", cacheVersion)
	for _, k := range goEnvVars {
		fmt.Fprintf(h, "%s=%s\x00", k, goenv[k])
	}
	h.Write(mainSrc)
	for _, p := range deps {
		fmt.Fprintf(h, "pkg %s", p.ImportPath)
		if p.Module != nil {
			fmt.Fprintf(h, " %s@%s", p.Module.Path, p.Module.Version)
		}
		h.Write([]byte{0})
	}
	for _, s := range stamps {
		if s.Kind == stampStat {
			continue // the go binary: GOVERSION above says what matters
		}
		fmt.Fprintf(h, "%s %s %s\x00", s.Kind, s.Path, s.Sum)
	}
	return hex.EncodeToString(h.Sum(nil))
}
