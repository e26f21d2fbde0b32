package re

import (
	"database/sql"
	"os"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestReopen(t *testing.T) {
	db, err := sql.Open("duckdb", os.Getenv("DIR")+"/x.duckdb")
	if err != nil { t.Fatal(err) }
	var n, m, mx int64
	err = db.QueryRow("SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM o), (SELECT max(n) FROM o)").Scan(&n, &m, &mx)
	t.Logf("t=%d o=%d max=%d err=%v", n, m, mx, err)
	t.Log(db.Close())
}
