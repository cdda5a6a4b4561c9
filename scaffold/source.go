package scaffold

import (
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/modfile"
)

// Source returns the root of the toil checkout this binary was built from,
// or "" when it was built from a released module (in the module cache), with
// -trimpath, or the checkout has gone. A generated module replaces toil
// with it, since toil is not published yet.
func Source() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "" // -trimpath
	}
	root := filepath.Dir(filepath.Dir(file))
	if strings.Contains(root, "@") {
		return "" // the module cache: a released version
	}
	if !IsSource(root) {
		return ""
	}
	return root
}

// IsSource reports whether dir is the root of a toil checkout.
func IsSource(dir string) bool {
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	return err == nil && modfile.ModulePath(data) == ToilModule
}

// Version returns the version of toil this binary was built as, as the go
// command recorded it, or "" for a development build.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	v := ""
	if bi.Main.Path == ToilModule {
		v = bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == ToilModule {
			v = d.Version
		}
	}
	if v == "(devel)" || strings.Contains(v, "+dirty") {
		return ""
	}
	return v
}
