package main

import (
	"go/build"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/faultline/faultline/"

// TestArchitectureImports keeps docs/architecture.md's package table true:
// every faultline package a listed package imports (its non-test files) is
// named in the row's "may import" column. depguard (make lint) refuses
// the forbidden imports; this catches the table falling behind the code.
func TestArchitectureImports(t *testing.T) {
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	pkgRE := regexp.MustCompile("`([a-z/]+)`")
	rows := 0
	for _, line := range strings.Split(string(doc), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		cols := strings.Split(line, " | ")
		if len(cols) < 4 {
			t.Fatalf("architecture.md: a package row without its columns: %s", line)
		}
		may := cols[2]
		if may == "everything" || strings.HasPrefix(may, "anything") {
			continue
		}
		allowed := strings.FieldsFunc(may, func(r rune) bool { return r == ',' || r == ' ' || r == '(' || r == ')' })
		for _, m := range pkgRE.FindAllStringSubmatch(cols[0], -1) {
			pkg := m[1]
			rows++
			bp, err := build.Default.ImportDir(filepath.Join("../..", pkg), 0)
			if err != nil {
				t.Errorf("architecture.md names package %s: %v", pkg, err)
				continue
			}
			for _, imp := range bp.Imports {
				dep, ok := strings.CutPrefix(imp, module)
				if ok && !slices.Contains(allowed, dep) {
					t.Errorf("%s imports %s, but docs/architecture.md says it may import only: %s", pkg, dep, may)
				}
			}
		}
	}
	if rows < 15 {
		t.Fatalf("found %d package rows in docs/architecture.md, want the whole table", rows)
	}
}
