package pgwire

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
	"github.com/faultline/faultline/transform/simulate"
)

// The Grafana dashboard shipped in dashboards/grafana: every SQL query in
// it, with Grafana's macros expanded as Grafana's PostgreSQL datasource
// expands them (grafanaMacros), runs through the wire endpoint over a
// simulated outage, through pgx as Grafana's datasource sends it, and
// returns the columns its panel needs.
func TestGrafanaDashboard(t *testing.T) {
	sc, err := simulate.Generate(simulate.FamilyLBChange, 1, simulate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	man, err := sc.WriteDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	f := startWith(t, DefaultConfig(), defaultQueryConfig(), func(ctx context.Context, db *store.DB) error {
		if _, err := ingest.LoadPaths(ctx, db, []string{man.DataDir}, ingest.LoadOptions{Config: ingest.DefaultConfig(), Transform: transform.DefaultConfig()}); err != nil {
			return err
		}
		// Dead letters, as a bad producer leaves them.
		_, err := db.ExecContext(ctx, `INSERT INTO dead_letters (time, reason, message, format, raw, raw_size, src_topic, src_partition, src_offset)
			SELECT (SELECT min(time) FROM events) + i * INTERVAL 7 MINUTE, 'invalid_json', 'not JSON: fix the producer', 'app', 'x', 1, 'app-errors', 0, i FROM range(5) r(i)`)
		return err
	})
	var from, to time.Time
	if err := f.db.QueryRowContext(context.Background(), "SELECT min(time), max(time) FROM events").Scan(&from, &to); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("..", "dashboards", "grafana", "faultline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ RawSQL, Format string }
		}
		Annotations struct {
			List []struct {
				Name   string
				Target struct{ RawSQL string }
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	// What each panel needs: its columns, and rows over the outage.
	want := map[string][]string{
		"Errors per minute by service":     {"time", "metric", "errors"},
		"Incidents with their top suspect": {"incident_id", "ongoing", "onset", "recovery", "services", "total_errors", "peak_errors_per_min", "top_suspect_operation", "top_suspect_resource", "top_suspect_actor", "score", "evidence"},
		"Dead letters per reason":          {"time", "metric", "dead_letters"},
		"Latest dead letters":              {"time", "reason", "message", "format", "source", "position", "raw_size"},
		"Changes in range":                 {"changes"},
		"annotation Changes":               {"time", "text", "tags"},
	}
	queriesOf := map[string]string{}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			queriesOf[p.Title] = tg.RawSQL
		}
	}
	for _, a := range dash.Annotations.List {
		if a.Target.RawSQL != "" {
			queriesOf["annotation "+a.Name] = a.Target.RawSQL
		}
	}
	if len(queriesOf) != len(want) {
		t.Fatalf("the dashboard has %d queries, the test knows %d: %v", len(queriesOf), len(want), queriesOf)
	}
	c := connect(t, f.url(""))
	for name, sql := range queriesOf {
		t.Run(name, func(t *testing.T) {
			expanded, err := grafanaMacros(sql, from.Add(-time.Minute), to.Add(time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(expanded, "$__") {
				t.Fatalf("a macro was left unexpanded: %s", expanded)
			}
			rows, err := c.Query(context.Background(), expanded)
			if err != nil {
				t.Fatalf("%v\n%s", err, expanded)
			}
			var cols []string
			for _, fd := range rows.FieldDescriptions() {
				cols = append(cols, fd.Name)
			}
			n := 0
			for rows.Next() {
				n++
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("%v\n%s", err, expanded)
			}
			if strings.Join(cols, ",") != strings.Join(want[name], ",") {
				t.Errorf("columns %v, want %v", cols, want[name])
			}
			if n == 0 {
				t.Errorf("no rows over the simulated outage:\n%s", expanded)
			}
		})
	}
	// What Grafana's visual query builder asks (table and column lists; its
	// own SQL, read in Grafana's PostgreSQL datasource) answers too.
	tables := `select quote_ident(table_name) as "table" from information_schema.tables where quote_ident(table_schema) not in ('information_schema', 'pg_catalog', '_timescaledb_cache', '_timescaledb_catalog', '_timescaledb_internal', '_timescaledb_config', 'timescaledb_information', 'timescaledb_experimental') and table_type = 'BASE TABLE' and quote_ident(table_schema) IN (SELECT CASE WHEN trim(s[i]) = '"$user"' THEN user ELSE trim(s[i]) END FROM generate_series(array_lower(string_to_array(current_setting('search_path'),','),1), array_upper(string_to_array(current_setting('search_path'),','),1)) as i, string_to_array(current_setting('search_path'),',') s)`
	var names []string
	rows, err := c.Query(context.Background(), tables)
	if err != nil {
		t.Fatalf("Grafana's table list: %v", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if !strings.Contains(strings.Join(names, ","), "events") || !strings.Contains(strings.Join(names, ","), "dead_letters") {
		t.Errorf("Grafana's table list: %v", names)
	}
	var cols int
	if err := c.QueryRow(context.Background(), `SELECT count(*) FROM (SELECT quote_ident(column_name) AS "column", data_type AS "type" FROM information_schema.columns WHERE quote_ident(table_name) = 'events')`).Scan(&cols); err != nil || cols < 20 {
		t.Errorf("Grafana's column list: %d columns, %v", cols, err)
	}
	// The incident is the simulated one, with its root cause first.
	var top string
	if err := c.QueryRow(context.Background(), "SELECT top_suspect_event_id FROM faultline_incidents() ORDER BY total_errors DESC LIMIT 1").Scan(&top); err != nil {
		t.Fatal(err)
	}
	if top != sc.Truth.RootCauseEventID {
		t.Fatalf("top suspect %q, the simulated root cause is %s", top, sc.Truth.RootCauseEventID)
	}
}

// grafanaMacros expands Grafana's PostgreSQL datasource macros the way its
// macro engine does (grafana pkg/tsdb/grafana-postgresql-datasource
// macros.go, read there; not copied): a macro is $name(args), args split
// at commas; times are UTC RFC 3339 with nanoseconds, quoted.
//
//	$__time(c)               c AS "time"
//	$__timeEpoch(c)          extract(epoch from c) as "time"
//	$__timeFilter(c)         c BETWEEN 'from' AND 'to'
//	$__timeFrom() $__timeTo()  'from' 'to'
//	$__timeGroup(c, '1m')    floor(extract(epoch from c)/60)*60
//	$__timeGroupAlias(c, i)  the same AS "time"
//	$__unixEpochFilter(c)    c >= fromUnix AND c <= toUnix
func grafanaMacros(sql string, from, to time.Time) (string, error) {
	re := regexp.MustCompile(`\$([_a-zA-Z0-9]+)\(([^\)]*)\)`)
	f, tt := from.UTC().Format(time.RFC3339Nano), to.UTC().Format(time.RFC3339Nano)
	var firstErr error
	out := re.ReplaceAllStringFunc(sql, func(m string) string {
		g := re.FindStringSubmatch(m)
		name, args := g[1], strings.Split(g[2], ",")
		for i := range args {
			args[i] = strings.TrimSpace(args[i])
		}
		group := func() string {
			if len(args) < 2 {
				firstErr = fmt.Errorf("%s needs a column and an interval", name)
				return ""
			}
			secs, err := intervalSeconds(strings.Trim(args[1], "'"))
			if err != nil {
				firstErr = err
			}
			return fmt.Sprintf("floor(extract(epoch from %s)/%v)*%v", args[0], secs, secs)
		}
		switch name {
		case "__time":
			return args[0] + ` AS "time"`
		case "__timeEpoch":
			return fmt.Sprintf(`extract(epoch from %s) as "time"`, args[0])
		case "__timeFilter":
			return fmt.Sprintf("%s BETWEEN '%s' AND '%s'", args[0], f, tt)
		case "__timeFrom":
			return "'" + f + "'"
		case "__timeTo":
			return "'" + tt + "'"
		case "__timeGroup":
			return group()
		case "__timeGroupAlias":
			return group() + ` AS "time"`
		case "__unixEpochFilter":
			return fmt.Sprintf("%s >= %d AND %s <= %d", args[0], from.Unix(), args[0], to.Unix())
		}
		firstErr = fmt.Errorf("unknown macro %q", name)
		return m
	})
	return out, firstErr
}

// intervalSeconds reads a Grafana interval such as 30s, 1m, 5m, 1h, 1d.
func intervalSeconds(s string) (float64, error) {
	units := map[byte]float64{'s': 1, 'm': 60, 'h': 3600, 'd': 86400}
	if len(s) < 2 {
		return 0, fmt.Errorf("interval %q", s)
	}
	n, err := strconv.ParseFloat(s[:len(s)-1], 64)
	u, ok := units[s[len(s)-1]]
	if err != nil || !ok {
		return 0, fmt.Errorf("interval %q: use a number and s, m, h or d", s)
	}
	return n * u, nil
}

// The provisioning files shipped in dashboards/grafana/provisioning: the
// datasource, with its ${...} placeholders filled from the environment as
// Grafana's provisioning fills them, connects to a serve with a password
// the way Grafana's PostgreSQL datasource does (host:port from url, user,
// secureJsonData.password, jsonData.database and sslmode; also over TLS),
// its uid is the one every query of the dashboard names, and the
// dashboard provider loads faultline.json from a folder.
func TestGrafanaProvisioning(t *testing.T) {
	dir := filepath.Join("..", "dashboards", "grafana")
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, UID, Type, Access, URL, User string
			JSONData                           struct {
				Database, SSLMode string
				PostgresVersion   int `yaml:"postgresVersion"`
				MaxOpenConns      int `yaml:"maxOpenConns"`
			} `yaml:"jsonData"`
			SecureJSONData struct{ Password string } `yaml:"secureJsonData"`
		}
	}
	readYAML(t, filepath.Join(dir, "provisioning", "datasources", "faultline.yaml"), &ds)
	if ds.APIVersion != 1 || len(ds.Datasources) != 1 {
		t.Fatalf("datasources: apiVersion %d, %d datasources; want 1 and 1", ds.APIVersion, len(ds.Datasources))
	}
	d := ds.Datasources[0]
	if d.Type != "grafana-postgresql-datasource" || d.UID == "" || d.Access != "proxy" {
		t.Errorf("datasource type %q uid %q access %q", d.Type, d.UID, d.Access)
	}
	if d.JSONData.MaxOpenConns < 1 || d.JSONData.MaxOpenConns > DefaultConfig().MaxConnections {
		t.Errorf("maxOpenConns %d: want 1..serve.postgres.max_connections (%d)", d.JSONData.MaxOpenConns, DefaultConfig().MaxConnections)
	}

	// Every query of the dashboard names this datasource (or Grafana's own,
	// for the built-in annotations).
	b, err := os.ReadFile(filepath.Join(dir, "faultline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var refs []string
	var walk func(any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["datasource"].(map[string]any); ok {
				refs = append(refs, fmt.Sprint(ref["type"], " ", ref["uid"]))
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	var dash any
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	walk(dash)
	ours := 0
	for _, r := range refs {
		switch r {
		case d.Type + " " + d.UID:
			ours++
		case "grafana -- Grafana --":
		default:
			t.Errorf("the dashboard names datasource %q; the provisioned one is %q", r, d.Type+" "+d.UID)
		}
	}
	if ours < 6 {
		t.Errorf("%d references to the provisioned datasource, want one per panel and query (6 or more)", ours)
	}

	var prov struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Folder, Type string
			Options            struct{ Path string }
		}
	}
	readYAML(t, filepath.Join(dir, "provisioning", "dashboards", "faultline.yaml"), &prov)
	if prov.APIVersion != 1 || len(prov.Providers) != 1 || prov.Providers[0].Type != "file" || prov.Providers[0].Options.Path == "" {
		t.Errorf("dashboard provider: %+v", prov)
	}

	for _, sslmode := range []string{"disable", "require"} {
		t.Run("sslmode="+sslmode, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Username, cfg.Password = d.User, "s3cret grafana"
			if sslmode == "require" {
				cfg.TLSCert, cfg.TLSKey = selfSigned(t, t.TempDir())
			}
			f := start(t, cfg, defaultQueryConfig())
			env := map[string]string{"FAULTLINE_PG_ADDR": f.addr, "FAULTLINE_PG_SSLMODE": sslmode, "FAULTLINE_PG_PASSWORD": cfg.Password}
			expand := func(s string) string {
				return os.Expand(s, func(k string) string {
					v, ok := env[k]
					if !ok {
						t.Errorf("the datasource reads $%s, which the docs do not name", k)
					}
					return v
				})
			}
			host, port, ok := strings.Cut(expand(d.URL), ":")
			if !ok {
				t.Fatalf("url %q: want host:port", expand(d.URL))
			}
			// As Grafana's datasource builds its connection string.
			conn := fmt.Sprintf("user='%s' password='%s' host='%s' port=%s dbname='%s' sslmode='%s'",
				expand(d.User), expand(d.SecureJSONData.Password), host, port, expand(d.JSONData.Database), expand(d.JSONData.SSLMode))
			c := connect(t, conn)
			var n int64
			if err := c.QueryRow(context.Background(), "SELECT count(*) FROM events").Scan(&n); err != nil || n != 1000 {
				t.Errorf("through the provisioned datasource: %d events, %v; want 1000", n, err)
			}
			if got := c.PgConn().ParameterStatus("server_version"); got == "" {
				t.Errorf("no server_version: Grafana reads it on connect")
			}
		})
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
