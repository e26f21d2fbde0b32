package main

// The documentation is kept true by running it: every faultline command in
// a ```sh block of README.md and docs/*.md must appear in a script under
// testdata/docs/ (testscript, github.com/rogpeppe/go-internal), which runs
// it against a fixture database and checks its output. A doc example
// without a script fails TestDocExamplesHaveScripts with the doc's file and
// line; a script whose command or output drifted from the program fails
// TestDocScripts. docs/testing.md explains how to add one.

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pqfile "github.com/apache/arrow-go/v18/parquet/file"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
	"github.com/faultline/faultline/transform/simulate"
)

// docFiles are the documents whose examples must run.
func docFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{"../../README.md"}, files...)
}

// placeholders: docs show the default addresses; scripts get free ports in
// these variables, and a doc value matches the variable.
var placeholders = []struct{ doc, script string }{
	{"127.0.0.1:8080", "$ADDR"}, {"0.0.0.0:8080", "$ADDR"}, {"faultline.internal:8080", "$ADDR"},
	{"127.0.0.1:9092", "$BROKER"}, {"localhost:9092", "$BROKER"},
	{":9464", "$METRICS"},
}

// docExample is one faultline (or curl) command of a doc.
type docExample struct {
	file string
	line int
	text string   // as written (continuations joined)
	env  []string // leading NAME=value assignments
	prog string   // faultline or curl
	args []string // after the program, placeholders substituted, redirections dropped
}

func (e docExample) key() string { return e.prog + "\x00" + strings.Join(e.args, "\x00") }

// scriptLine is how a script runs the example.
func (e docExample) scriptLine() string {
	line := strings.Join(quoteScript(e.args), " ")
	if e.prog == "curl" {
		return "curl " + line
	}
	return "exec faultline " + line
}

// docExamples extracts the faultline commands of ```sh blocks.
func docExamples(t *testing.T, path string) []docExample {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docExample
	inSh, inBlock := false, false
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			if !inBlock {
				inBlock, inSh = true, strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), "```")) == "sh"
			} else {
				inBlock, inSh = false, false
			}
			continue
		}
		if !inSh {
			continue
		}
		start := i + 1
		text := strings.TrimSpace(l)
		for strings.HasSuffix(text, "\\") && i+1 < len(lines) {
			i++
			text = strings.TrimSuffix(text, "\\") + " " + strings.TrimSpace(lines[i])
		}
		words, err := shellWords(strings.TrimPrefix(text, "$ "))
		for err != nil && strings.Contains(err.Error(), "unclosed") && i+1 < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i+1]), "```") {
			i++ // a quoted string that goes on on the next line
			text += " " + strings.TrimSpace(lines[i])
			words, err = shellWords(strings.TrimPrefix(text, "$ "))
		}
		if err != nil {
			t.Errorf("%s:%d: %v", rel(path), start, err)
			continue
		}
		var env []string
		for len(words) > 0 && regexp.MustCompile(`^[A-Z_][A-Z0-9_]*=`).MatchString(words[0]) {
			env, words = append(env, words[0]), words[1:]
		}
		prog := ""
		switch {
		case len(words) == 0:
		case words[0] == "faultline" || words[0] == "bin/faultline":
			prog = "faultline"
		case words[0] == "curl":
			prog = "curl"
		}
		if prog == "" {
			continue
		}
		var args []string
		for j := 1; j < len(words); j++ {
			w := words[j]
			if w == ">" || w == "2>" || w == ">>" {
				j++ // and its file
				continue
			}
			if strings.HasPrefix(w, ">") {
				continue
			}
			args = append(args, substitute(w))
		}
		out = append(out, docExample{file: rel(path), line: start, text: text, env: env, prog: prog, args: args})
	}
	return out
}

func substitute(w string) string {
	for _, p := range placeholders {
		w = strings.ReplaceAll(w, p.doc, p.script)
	}
	return w
}

func rel(path string) string { return strings.TrimPrefix(path, "../../") }

// shellWords splits a shell command line: whitespace separates words;
// '...' and "..." quote; a backslash escapes the next character; an
// unquoted # starting a word begins a comment.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case c == '#' && !inWord:
			return words, nil
		case c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inWord = true
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unclosed ' in %q", s)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`, s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unclosed \" in %q", s)
			}
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// scriptWords splits a testscript line: whitespace separates words; '...'
// quotes, with ” a literal quote inside; # starts a comment.
func scriptWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			cur.WriteByte('\'')
			i++
		case c == '\'':
			quoted, inWord = !quoted, true
		case !quoted && (c == ' ' || c == '\t'):
			if inWord {
				words, inWord = append(words, cur.String()), false
				cur.Reset()
			}
		case !quoted && c == '#' && !inWord:
			return words
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// scriptRun is one `exec faultline ...` or `curl ...` line of a script,
// with the env lines before it.
type scriptRun struct {
	file string
	line int
	env  map[string]bool
	prog string
	args []string
}

func (r scriptRun) key() string { return r.prog + "\x00" + strings.Join(r.args, "\x00") }

func scriptRuns(t *testing.T) []scriptRun {
	t.Helper()
	files, err := filepath.Glob("testdata/docs/*.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var out []scriptRun
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		env := map[string]bool{}
		for i, l := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(l, "-- ") {
				break // the archive's files
			}
			w := scriptWords(l)
			for len(w) > 0 && (w[0] == "!" || w[0] == "?") {
				w = w[1:]
			}
			if len(w) > 1 && w[0] == "env" {
				for _, kv := range w[1:] {
					env[kv] = true
				}
				continue
			}
			var prog string
			var args []string
			switch {
			case len(w) >= 2 && w[0] == "exec" && w[1] == "faultline":
				prog, args = "faultline", w[2:]
			case len(w) >= 1 && w[0] == "curl":
				prog, args = "curl", w[1:]
			default:
				continue
			}
			if n := len(args); n > 0 && strings.HasPrefix(args[n-1], "&") && strings.HasSuffix(args[n-1], "&") {
				args = args[:n-1]
			}
			snap := map[string]bool{}
			for k := range env {
				snap[k] = true
			}
			out = append(out, scriptRun{file: f, line: i + 1, env: snap, prog: prog, args: args})
		}
	}
	return out
}

// TestDocExamplesHaveScripts fails for every faultline command of a doc
// that no script runs exactly (same arguments, same environment).
func TestDocExamplesHaveScripts(t *testing.T) {
	runs := map[string][]scriptRun{}
	for _, r := range scriptRuns(t) {
		runs[r.key()] = append(runs[r.key()], r)
	}
	n := 0
	for _, doc := range docFiles(t) {
		for _, ex := range docExamples(t, doc) {
			n++
			ok := false
			for _, r := range runs[ex.key()] {
				all := true
				for _, kv := range ex.env {
					all = all && r.env[substitute(kv)]
				}
				ok = ok || all
			}
			if !ok {
				want := ex.scriptLine()
				if len(ex.env) > 0 {
					want = "env " + strings.Join(ex.env, " ") + "\n      " + want
				}
				t.Errorf("%s:%d: the doc example %q is run by no script: add to cmd/faultline/testdata/docs/%s.txtar\n      %s\n    with checks of its output (docs/testing.md, Documentation examples)",
					ex.file, ex.line, ex.text, strings.TrimSuffix(filepath.Base(ex.file), ".md"), want)
			}
		}
	}
	if n < 40 {
		t.Errorf("found only %d doc examples: is the extraction broken?", n)
	}
}

func quoteScript(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t'#\"") {
			a = "'" + strings.ReplaceAll(a, "'", "''") + "'"
		}
		out[i] = a
	}
	return out
}

func TestShellWords(t *testing.T) {
	for in, want := range map[string][]string{
		`faultline query "SELECT 1" # note`:                {"faultline", "query", "SELECT 1"},
		`curl -d '{"sql": "x'\''y"}' u`:                    {"curl", "-d", `{"sql": "x'y"}`, "u"},
		`FAULTLINE_X=a\ b faultline --token "$T" config`:   {"FAULTLINE_X=a b", "faultline", "--token", "$T", "config"},
		`faultline query --format csv > cfr.csv  # to csv`: {"faultline", "query", "--format", "csv", ">", "cfr.csv"},
	} {
		got, err := shellWords(in)
		if err != nil || strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("shellWords(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if got := scriptWords(`! exec faultline query 'it''s' --x &bg&`); strings.Join(got, "|") != "!|exec|faultline|query|it's|--x|&bg&" {
		t.Errorf("scriptWords = %q", got)
	}
}

var (
	fixtureOnce sync.Once
	fixtureDB   string
	fixtureErr  error
)

// docFixture is the database the scripts start with (faultline.duckdb in
// their work directory): the simulated lb-change outage, seed 1, loaded
// from its files, as docs/simulate.md's quick start makes it.
func docFixture(t *testing.T) string {
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "faultline-docs-fixture")
		if err != nil {
			fixtureErr = err
			return
		}
		sc, err := simulate.Generate("lb-change", 1, simulate.Options{})
		if err != nil {
			fixtureErr = err
			return
		}
		if _, err := sc.WriteDir(filepath.Join(dir, "outage")); err != nil {
			fixtureErr = err
			return
		}
		fixtureDB = filepath.Join(dir, "fixture.duckdb")
		db, err := store.Open(context.Background(), fixtureDB)
		if err != nil {
			fixtureErr = err
			return
		}
		defer db.Close()
		_, fixtureErr = ingest.LoadPaths(context.Background(), db, []string{filepath.Join(dir, "outage", "data")},
			ingest.LoadOptions{Format: transform.FormatAuto, Config: ingest.DefaultConfig(), Transform: transform.DefaultConfig()})
	})
	if fixtureErr != nil {
		t.Fatalf("docs fixture: %v", fixtureErr)
	}
	return fixtureDB
}

// TestDocScripts runs testdata/docs/*.txtar. Each script starts in an empty
// directory with faultline.duckdb (the fixture), free addresses in $ADDR
// (serve.listen, for 127.0.0.1:8080 in the docs), $BROKER (for
// 127.0.0.1:9092) and $METRICS (for :9464), and these commands besides
// testscript's own:
//
//	waitfor URL [REGEXP]    wait up to 60s until it answers (with a body matching)
//	waitfor HOST:PORT       wait up to 60s until it accepts connections
//	httpget URL             GET it; the body is stdout, "status NNN" stderr
//	parquetrows FILE N      the Parquet file has N rows
//	gzip FILE               write FILE.gz
func TestDocScripts(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every documented command; skipped with -short")
	}
	fixture := docFixture(t)
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/docs",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			data, err := os.ReadFile(fixture)
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(e.WorkDir, "faultline.duckdb"), data, 0o644); err != nil {
				return err
			}
			addr := freeAddr(t)
			e.Setenv("ADDR", addr)
			e.Setenv("FAULTLINE_SERVE_LISTEN", addr)
			e.Setenv("BROKER", freeAddr(t))
			e.Setenv("METRICS", freeAddr(t))
			e.Setenv("FAULTLINE_LOG_FORMAT", "text")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"waitfor": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 1 || len(args) > 2 {
					ts.Fatalf("usage: waitfor URL [REGEXP] | HOST:PORT")
				}
				var re *regexp.Regexp
				if len(args) == 2 {
					re = regexp.MustCompile(args[1])
				}
				deadline := time.Now().Add(60 * time.Second)
				for {
					var err error
					if strings.HasPrefix(args[0], "http") {
						var resp *http.Response
						if resp, err = scriptGet(args[0]); err == nil {
							body := readAllString(resp)
							resp.Body.Close()
							if re != nil && !re.MatchString(body) {
								err = fmt.Errorf("no match for %s in:\n%s", args[1], body)
							}
						}
					} else {
						var c net.Conn
						d := net.Dialer{Timeout: time.Second}
						if c, err = d.DialContext(context.Background(), "tcp", args[0]); err == nil {
							c.Close()
						}
					}
					if err == nil {
						return
					}
					if time.Now().After(deadline) {
						ts.Fatalf("%s: not ready within 60s: %v", args[0], err)
					}
					time.Sleep(100 * time.Millisecond)
				}
			},
			"parquetrows": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: parquetrows FILE N")
				}
				r, err := pqfile.OpenParquetFile(ts.MkAbs(args[0]), false)
				ts.Check(err)
				defer r.Close()
				if got := fmt.Sprint(r.NumRows()); (got == args[1]) == neg {
					ts.Fatalf("%s has %s rows, want %s%s", args[0], got, map[bool]string{true: "not ", false: ""}[neg], args[1])
				}
			},
			"gzip": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: gzip FILE (writes FILE.gz)")
				}
				data, err := os.ReadFile(ts.MkAbs(args[0]))
				ts.Check(err)
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				_, err = zw.Write(data)
				ts.Check(err)
				ts.Check(zw.Close())
				ts.Check(os.WriteFile(ts.MkAbs(args[0]+".gz"), b.Bytes(), 0o644))
			},
			"curl": curlCmd,
			"httpget": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 1 {
					ts.Fatalf("usage: httpget URL")
				}
				resp, err := scriptGet(args[0])
				ts.Check(err)
				defer resp.Body.Close()
				_, err = fmt.Fprint(ts.Stdout(), readAllString(resp))
				ts.Check(err)
				fmt.Fprintf(ts.Stderr(), "status %d\n", resp.StatusCode)
				if (resp.StatusCode >= 400) != neg {
					ts.Fatalf("GET %s: status %d", args[0], resp.StatusCode)
				}
			},
		},
	})
}

// curlCmd is the part of curl the docs use: -s, -X METHOD, -H 'K: V',
// -d BODY, -u USER:PASS and one URL. $VAR in an argument is expanded (the
// docs write them in double quotes). The body goes to stdout; a status of
// 400 or more fails unless the command is negated.
func curlCmd(ts *testscript.TestScript, neg bool, args []string) {
	method, body, url, out := "", "", "", ""
	var headers [][2]string
	var user, pass string
	for i := 0; i < len(args); i++ {
		a := os.Expand(args[i], ts.Getenv)
		next := func() string {
			if i+1 >= len(args) {
				ts.Fatalf("curl: %s needs a value", a)
			}
			i++
			return os.Expand(args[i], ts.Getenv)
		}
		switch a {
		case "-s":
		case "-X":
			method = next()
		case "-H":
			k, v, _ := strings.Cut(next(), ":")
			headers = append(headers, [2]string{strings.TrimSpace(k), strings.TrimSpace(v)})
		case "-d":
			body = next()
		case "-u":
			user, pass, _ = strings.Cut(next(), ":")
		case "-o":
			out = ts.MkAbs(next())
		default:
			if strings.HasPrefix(a, "-") || url != "" {
				ts.Fatalf("curl: %q is not supported here (docs/testing.md)", a)
			}
			url = a
		}
	}
	if method == "" {
		method = http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, strings.NewReader(body))
	ts.Check(err)
	for _, h := range headers {
		req.Header.Set(h[0], h[1])
	}
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	ts.Check(err)
	defer resp.Body.Close()
	if out != "" {
		ts.Check(os.WriteFile(out, []byte(readAllString(resp)), 0o644))
	} else {
		fmt.Fprint(ts.Stdout(), readAllString(resp))
	}
	fmt.Fprintf(ts.Stderr(), "status %d\n", resp.StatusCode)
	if (resp.StatusCode >= 400) != neg {
		ts.Fatalf("%s %s: status %d", method, url, resp.StatusCode)
	}
}

func readAllString(resp *http.Response) string {
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			return sb.String()
		}
	}
}

// TestDocScriptsAreUsed: every script runs at least one doc example (a
// script nobody documents belongs with the ordinary tests).
func TestDocScriptsAreUsed(t *testing.T) {
	docs := map[string]bool{}
	for _, doc := range docFiles(t) {
		for _, ex := range docExamples(t, doc) {
			docs[ex.key()] = true
		}
	}
	used := map[string]bool{}
	var files []string
	for _, r := range scriptRuns(t) {
		if !used[r.file] {
			files = append(files, r.file)
		}
		used[r.file] = used[r.file] || docs[r.key()]
	}
	sort.Strings(files)
	for _, f := range files {
		if !used[f] {
			t.Errorf("%s runs no documented example", f)
		}
	}
}

// scriptGet is http.Get for the scripts' commands (which have no test
// context of their own).
func scriptGet(url string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	return http.DefaultClient.Do(req)
}

// TestReadmeMakeTargets: the README's Make targets section names every
// target `make help` lists (the Makefile's "## " comments).
func TestReadmeMakeTargets(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "## Make targets")
	section, _, _ = strings.Cut(section, "\n## ")
	targets := regexp.MustCompile(`(?m)^([a-z][a-z-]*):[^\n]*## `).FindAllStringSubmatch(string(mk), -1)
	if len(targets) < 10 {
		t.Fatalf("found %d documented targets in the Makefile", len(targets))
	}
	for _, m := range targets {
		if m[1] != "help" && !strings.Contains(section, "`"+m[1]+"`") {
			t.Errorf("README.md's Make targets section does not name `%s` (make help lists it)", m[1])
		}
	}
}
