"""The consumer a user would write instead of faultline (faultline bench,
stage h-python): confluent-kafka reads the corpus topics, each record is
parsed with the json module and mapped to a few columns (the rest kept as a
JSON attributes column), rows are batched into Arrow tables (pyarrow) and
inserted into DuckDB, one transaction per batch together with the next
offsets; the Kafka offsets are committed after DuckDB's commit.

Usage: consumer.py BROKERS GROUP DB EXPECTED_EVENTS MEMORY_LIMIT
Prints one JSON line: {"events": N, "messages": M, "seconds": S}.
"""
import gzip
import hashlib
import json
import sys
import time
from datetime import datetime, timezone

import duckdb
import pyarrow as pa
from confluent_kafka import Consumer, KafkaException

BATCH = 50_000
COLUMNS = ["event_id", "time", "source", "kind", "service", "operation", "region",
           "account_id", "actor", "error_code", "message", "attributes", "topic", "part", "off"]
CT_MAPPED = {"eventID", "eventTime", "eventSource", "eventName", "awsRegion",
             "recipientAccountId", "errorCode", "errorMessage"}
APP_MAPPED = {"time", "service", "level", "message", "error.type", "region", "kind", "actor"}


def cloudtrail(v, rows, topic, part, off):
    r = json.loads(v)
    err = r.get("errorCode")
    kind = "error" if err else ("info" if r.get("readOnly") else "change")
    rows.append([r.get("eventID"), r.get("eventTime"), "cloudtrail", kind,
                 (r.get("eventSource") or "").split(".")[0], r.get("eventName"), r.get("awsRegion"),
                 r.get("recipientAccountId"), (r.get("userIdentity") or {}).get("arn"), err,
                 r.get("errorMessage"), json.dumps({k: x for k, x in r.items() if k not in CT_MAPPED}),
                 topic, part, off])


def cloudwatch(v, rows, topic, part, off):
    d = json.loads(gzip.decompress(v))
    if d.get("messageType") != "DATA_MESSAGE":
        return
    svc = d.get("logGroup", "").rsplit("/", 1)[-1]
    attrs = json.dumps({"logGroup": d.get("logGroup"), "logStream": d.get("logStream"), "owner": d.get("owner")})
    for e in d.get("logEvents", []):
        msg = e.get("message", "")
        kind = "error" if "ERROR" in msg else "info"
        t = datetime.fromtimestamp(e["timestamp"] / 1000, timezone.utc).isoformat()
        rows.append([e.get("id"), t, "cloudwatch", kind, svc, None, None, d.get("owner"), None, None, msg,
                     attrs, topic, part, off])


def app(v, rows, topic, part, off):
    r = json.loads(v)
    kind = "change" if r.get("kind") == "deploy" else ("error" if r.get("level") == "error" else "info")
    rows.append(["h-" + hashlib.md5(v).hexdigest(), r.get("time"), "deploy" if kind == "change" else "app", kind,
                 r.get("service"), None, r.get("region"), None, r.get("actor"), r.get("error.type"), r.get("message"),
                 json.dumps({k: x for k, x in r.items() if k not in APP_MAPPED}), topic, part, off])


DECODERS = {"cloudtrail": cloudtrail, "cloudwatch": cloudwatch, "app": app}


def main():
    brokers, group, path, expected, memory_limit = sys.argv[1:6]
    expected = int(expected)
    db = duckdb.connect(path)
    if memory_limit:
        db.execute(f"SET memory_limit = '{memory_limit}'")
    db.execute("""CREATE TABLE IF NOT EXISTS events (event_id VARCHAR, time TIMESTAMPTZ, source VARCHAR, kind VARCHAR,
        service VARCHAR, operation VARCHAR, region VARCHAR, account_id VARCHAR, actor VARCHAR, error_code VARCHAR,
        message VARCHAR, attributes JSON, src_topic VARCHAR, src_partition INTEGER, src_offset BIGINT)""")
    db.execute("CREATE TABLE IF NOT EXISTS offsets (topic VARCHAR, part INTEGER, next BIGINT, PRIMARY KEY (topic, part))")
    c = Consumer({"bootstrap.servers": brokers, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.subscribe(list(DECODERS))
    rows, pos, events, messages = [], {}, 0, 0
    t0 = time.monotonic()

    def flush():
        nonlocal rows, events
        if not pos:
            return
        tbl = pa.table({name: [r[i] for r in rows] for i, name in enumerate(COLUMNS)})
        db.execute("BEGIN")
        if rows:
            db.execute("INSERT INTO events SELECT event_id, CAST(time AS TIMESTAMPTZ), source, kind, service, operation, "
                       "region, account_id, actor, error_code, message, attributes, topic, part, off FROM tbl")
        db.executemany("INSERT OR REPLACE INTO offsets VALUES (?, ?, ?)", [[t, p, o] for (t, p), o in pos.items()])
        db.execute("COMMIT")
        c.commit(asynchronous=False)
        events += len(rows)
        rows = []
        pos.clear()

    idle = 0
    while events + len(rows) < expected:
        msgs = c.consume(num_messages=5000, timeout=1.0)
        if not msgs:
            idle += 1
            flush()
            if idle > 30:
                raise SystemExit(f"python consumer: no message for 30 s at {events} of {expected} events")
            continue
        idle = 0
        for m in msgs:
            if m.error():
                raise KafkaException(m.error())
            topic = m.topic()
            DECODERS[topic](m.value(), rows, topic, m.partition(), m.offset())
            pos[(topic, m.partition())] = m.offset() + 1
            messages += 1
        if len(rows) >= BATCH:
            flush()
    flush()
    c.close()
    db.close()
    print(json.dumps({"events": events, "messages": messages, "seconds": time.monotonic() - t0}))


if __name__ == "__main__":
    main()
