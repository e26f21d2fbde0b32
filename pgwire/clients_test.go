package pgwire

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Real PostgreSQL clients against a real Server: psql (Debian's
// postgresql-client), psycopg 3 and the PostgreSQL JDBC driver, installed
// by scripts/pgclients.sh into .cache/pgclients. Outside CI a missing
// client skips its test; with CI=true it fails, saying how to install it.

func need(t *testing.T, what, install string) {
	t.Helper()
	msg := what + " not found: " + install
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

func runClient(t *testing.T, name string, args []string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// checks asserts that a client script printed "ok NAME" for every name
// and no FAIL line.
func checks(t *testing.T, out string, names ...string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "FAIL") {
			t.Errorf("%s", line)
		}
	}
	for _, n := range names {
		if !strings.Contains(out, "ok "+n) {
			t.Errorf("no \"ok %s\" in the output:\n%s", n, out)
		}
	}
}

func TestPsql(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		need(t, "psql", "apt-get install postgresql-client")
	}
	f := start(t, DefaultConfig(), defaultQueryConfig())
	run := func(cmds ...string) string {
		args := []string{"-X", "-h", f.host, "-p", f.port, "-U", "faultline", "-d", "faultline", "-v", "VERBOSITY=verbose"}
		for _, c := range cmds {
			args = append(args, "-c", c)
		}
		out, _ := runClient(t, psql, args, "PGCONNECT_TIMEOUT=10")
		return out
	}
	out := run(`\dt`, `\d`, `\d events`, `\l`, `\dn`)
	for _, want := range []string{"events", "dead_letters", "changes", "view", "Table \"main.events\"", "time", "timestamptz", "not null", "attributes", "List of schemas"} {
		if !strings.Contains(out, want) {
			t.Errorf("psql's \\dt, \\d, \\d events, \\l, \\dn: %q missing from:\n%s", want, out)
		}
	}
	if strings.Contains(out, "ERROR") {
		t.Errorf("psql's catalog commands failed:\n%s", out)
	}
	out = run("SELECT count(*) AS n FROM events WHERE kind = 'error'", "DROP TABLE events",
		"SELECT * FROM read_blob('"+f.path+"')", "COPY events TO '/tmp/pgwire-psql.csv'", "SELECT 'still usable' AS s")
	for _, want := range []string{" 334\n", "ERROR:  25006: refused by the analyst SQL sandbox: DROP", "ERROR:  42501:", "still usable"} {
		if !strings.Contains(out, want) {
			t.Errorf("psql: %q missing from:\n%s", want, out)
		}
	}
	// psql's \copy reads the result through COPY TO STDOUT, which the endpoint refuses cleanly.
	out = run(`\copy (SELECT 1) TO STDOUT`, "SELECT 2 AS after")
	if !strings.Contains(out, "ERROR") || !strings.Contains(out, "after") {
		t.Errorf("psql \\copy:\n%s", out)
	}
}

func TestPsycopg(t *testing.T) {
	py := filepath.Join("..", ".cache", "pgclients", "venv", "bin", "python")
	if _, err := os.Stat(py); err != nil {
		need(t, "psycopg 3 ("+py+")", "run bash scripts/pgclients.sh")
	}
	f := start(t, DefaultConfig(), defaultQueryConfig())
	var want int64
	if err := f.db.QueryRowContext(context.Background(), "SELECT count(*) FROM events WHERE kind = 'error' AND time >= TIMESTAMPTZ '2025-10-20 10:00:00+00'").Scan(&want); err != nil {
		t.Fatal(err)
	}
	out, err := runClient(t, py, []string{filepath.Join("testdata", "psycopg_check.py"), "host=" + f.host + " port=" + f.port + " user=faultline dbname=faultline", fmt.Sprint(want)})
	if err != nil {
		t.Errorf("psycopg: %v", err)
	}
	checks(t, out, "params", "types", "injection", "server_cursor", "refused DROP", "usable after DROP", "autocommit")
}

func TestJDBC(t *testing.T) {
	jars, _ := filepath.Glob(filepath.Join("..", ".cache", "pgclients", "jdbc", "postgresql-*.jar"))
	java, err := exec.LookPath("java")
	if len(jars) == 0 || err != nil {
		need(t, "the PostgreSQL JDBC driver (.cache/pgclients/jdbc) or java", "run bash scripts/pgclients.sh (needs Java 17+ and Maven)")
	}
	f := start(t, DefaultConfig(), defaultQueryConfig())
	url := "jdbc:postgresql://" + f.addr + "/faultline?user=faultline&sslmode=disable"
	out, err := runClient(t, java, []string{"-cp", jars[0], filepath.Join("testdata", "JdbcCheck.java"), url})
	if err != nil {
		t.Errorf("JDBC: %v", err)
	}
	checks(t, out, "metadata", "prepared", "types", "fetch_size", "refused DROP", "refused prepared DROP", "refused COPY",
		"refused prepared COPY", "refused SELECT * FROM read_csv", "refused prepared SELECT * FROM read_csv", "usable", "getTables")
}
