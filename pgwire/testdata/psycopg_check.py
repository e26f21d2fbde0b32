"""psycopg 3 against faultline's PostgreSQL endpoint (pgwire/clients_test.go).

Prints one line per check: "ok <name> <detail>" or "FAIL <name> <detail>";
exits non-zero when a check failed. The Go test asserts on the lines.
"""
import datetime
import sys

import psycopg
from psycopg import errors

url = sys.argv[1]
failed = False


def check(name, cond, detail=""):
    global failed
    print(("ok" if cond else "FAIL"), name, detail, flush=True)
    if not cond:
        failed = True


with psycopg.connect(url) as conn:
    # Parameters (server-side binding: the extended protocol, $1...).
    since = datetime.datetime(2025, 10, 20, 10, 0, tzinfo=datetime.timezone.utc)
    n = conn.execute("SELECT count(*) FROM events WHERE kind = %s AND time >= %s", ("error", since)).fetchone()[0]
    check("params", n == int(sys.argv[2]), n)
    row = conn.execute("SELECT time, severity_number, attributes, [service] AS l FROM events WHERE event_id = %s", ("e3",)).fetchone()
    check("types", isinstance(row[0], datetime.datetime) and row[0].tzinfo is not None and row[1] == 17
          and row[2] == {"k": 3, "s": "v"} and row[3] == ["svc3"], repr(row))
    evil = "x'; DROP TABLE events; --"
    check("injection", conn.execute("SELECT %s::VARCHAR", (evil,)).fetchone()[0] == evil)
    conn.commit()

    # Server-side cursor: DECLARE ... FETCH FORWARD itersize.
    with conn.cursor(name="big") as cur:
        cur.itersize = 100
        cur.execute("SELECT src_offset FROM events WHERE service = %s ORDER BY src_offset", ("svc2",))
        got = [r[0] for r in cur]
        check("server_cursor", len(got) == 250 and got[:3] == [2, 6, 10], len(got))
    conn.commit()

    # Refused statements raise with a SQLSTATE; the connection stays usable.
    for sql, state in [("DROP TABLE events", "25006"), ("COPY events TO '/tmp/x.csv'", "25006"),
                       ("SELECT * FROM read_csv('/etc/passwd')", "42501")]:
        try:
            conn.execute(sql)
            check("refused " + sql, False, "no error")
        except errors.Error as e:
            check("refused " + sql, e.sqlstate == state, e.sqlstate)
        conn.rollback()
        check("usable after " + sql, conn.execute("SELECT 1").fetchone()[0] == 1)

    conn.commit()
    conn.autocommit = True
    check("autocommit", conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1000)

sys.exit(1 if failed else 0)
