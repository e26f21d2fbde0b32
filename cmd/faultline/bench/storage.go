package bench

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/faultline/faultline/ingest"
	"github.com/faultline/faultline/transform"
)

// StorageResult is what one source's events weigh on disk: in faultline's
// file (`faultline load` of the records) against the table DuckDB's own
// read_json makes of the same records (CREATE TABLE AS SELECT * FROM
// read_json(...): every field a typed or STRUCT column).
type StorageResult struct {
	Source  string `json:"source"`
	Corpus  string `json:"corpus"`  // "bench" (generated) or "samples" (the real samples, resampled)
	Records int    `json:"records"` // NDJSON lines both loaded
	Events  int64  `json:"events"`  // events faultline decoded from them (the divisor of both)
	// DeadLetters counts records faultline could not decode (0 expected).
	DeadLetters int64 `json:"dead_letters"`
	// Bytes are file sizes after close minus those of an empty file made
	// the same way (faultline's schema only; read_json's table with no row).
	FaultlineBytes    int64   `json:"faultline_bytes"`
	ReadJSONBytes     int64   `json:"readjson_bytes"`
	FaultlinePerEvent float64 `json:"faultline_bytes_per_event"`
	ReadJSONPerEvent  float64 `json:"readjson_bytes_per_event"`
	Ratio             float64 `json:"ratio"`
	// AttributesCompression is how DuckDB stored events.attributes
	// (pragma_storage_info).
	AttributesCompression string `json:"attributes_compression"`
	// ReadJSONBlocks is read_json's table in DuckDB blocks (256 KiB), the
	// unit both files grow by: below MinResolvedBlocks the ratio is within
	// a block or two of noise and is not held against the target.
	ReadJSONBlocks float64 `json:"readjson_blocks"`
}

// MinResolvedBlocks is the size of read_json's table, in blocks, from which
// a storage ratio counts for the target (one block is then at most 20%).
const MinResolvedBlocks = 5

// Resolved says whether the ratio is measured finely enough to count.
func (r StorageResult) Resolved() bool { return r.ReadJSONBlocks >= MinResolvedBlocks }

// sampleSources are the folders of the real samples, one source each.
var sampleSources = []string{"cloudtrail", "cloudwatch", "events", "gcp", "azure"}

// measureStorage measures bytes per event for each corpus topic
// (o.StorageEvents events each) and, if o.Samples names the real samples'
// folder, for each of its sources resampled to o.StorageEvents records.
func measureStorage(ctx context.Context, o Options, dir string) ([]StorageResult, error) {
	var out []StorageResult
	for i, t := range Topics {
		c := GenerateTopic(i, o.StorageEvents, o.Seed)
		path := filepath.Join(dir, "storage-"+t.Name+".ndjson")
		if _, err := c.WriteNDJSON(path); err != nil {
			return nil, err
		}
		o.progress("storage: %s (bench), %d events", t.Name, c.Events)
		r, err := measureOne(ctx, o, dir, path, len(c.Msgs))
		os.Remove(path)
		if err != nil {
			return nil, fmt.Errorf("storage of %s: %w", t.Name, err)
		}
		r.Source, r.Corpus = t.Name, "bench"
		out = append(out, r)
	}
	if o.Samples == "" {
		return out, nil
	}
	for _, src := range sampleSources {
		recs, err := sampleRecords(filepath.Join(o.Samples, src))
		if err != nil {
			return nil, err
		}
		if len(recs) == 0 {
			continue
		}
		path := filepath.Join(dir, "storage-sample-"+src+".ndjson")
		n, err := writeResampled(path, recs, o.StorageEvents, o.Seed)
		if err != nil {
			return nil, err
		}
		o.progress("storage: %s (samples: %d real records resampled to %d)", src, len(recs), n)
		r, err := measureOne(ctx, o, dir, path, n)
		os.Remove(path)
		if err != nil {
			return nil, fmt.Errorf("storage of the %s samples: %w", src, err)
		}
		r.Source, r.Corpus = src, "samples"
		out = append(out, r)
	}
	return out, nil
}

// measureOne loads the NDJSON file at path with faultline and with
// read_json, each into a new file, and compares their sizes.
func measureOne(ctx context.Context, o Options, dir, path string, records int) (StorageResult, error) {
	r := StorageResult{Records: records}
	fl, rj := filepath.Join(dir, "storage-fl.duckdb"), filepath.Join(dir, "storage-rj.duckdb")
	defer removeDBs(dir)
	size := func(p string) int64 {
		var n int64
		for _, f := range []string{p, p + ".wal"} {
			if st, err := os.Stat(f); err == nil {
				n += st.Size()
			}
		}
		return n
	}
	// faultline: an empty file, then `faultline load` of the records.
	for _, load := range []bool{false, true} {
		removeDBs(dir)
		db, err := openWriterDB(ctx, fl, o.MemoryLimit)
		if err != nil {
			return r, err
		}
		if load {
			sum, err := ingest.LoadPaths(ctx, db, []string{path}, ingest.LoadOptions{
				Format: transform.FormatAuto, Config: ingest.DefaultConfig(), Transform: transform.DefaultConfig()})
			if err == nil {
				r.Events, r.DeadLetters = sum.Events, sum.DeadLetterTotal()
				_, err = db.ExecContext(ctx, "CHECKPOINT")
			}
			if err == nil {
				err = db.QueryRowContext(ctx, `SELECT coalesce(string_agg(DISTINCT compression, ',' ORDER BY compression), '')
					FROM pragma_storage_info('events') WHERE column_name = 'attributes' AND segment_type <> 'VALIDITY'`).Scan(&r.AttributesCompression)
			}
			if err != nil {
				db.Close()
				return r, err
			}
		}
		if err := db.Close(); err != nil {
			return r, err
		}
		if load {
			r.FaultlineBytes += size(fl)
		} else {
			r.FaultlineBytes -= size(fl)
		}
	}
	// read_json: a table of no row, then of every record.
	rjSQL := "CREATE TABLE t AS SELECT * FROM read_json(" + quote(path) + ", format = 'newline_delimited', maximum_object_size = 16777216)"
	for _, q := range []string{rjSQL + " LIMIT 0", rjSQL} {
		removeDBs(dir)
		db, err := openDB(ctx, rj, o.MemoryLimit)
		if err != nil {
			return r, err
		}
		_, err = db.ExecContext(ctx, q)
		if err = errors.Join(err, db.Close()); err != nil {
			return r, fmt.Errorf("read_json: %w", err)
		}
		if q == rjSQL {
			r.ReadJSONBytes += size(rj)
		} else {
			r.ReadJSONBytes -= size(rj)
		}
	}
	if r.Events > 0 {
		r.FaultlinePerEvent = float64(r.FaultlineBytes) / float64(r.Events)
		r.ReadJSONPerEvent = float64(r.ReadJSONBytes) / float64(r.Events)
	}
	if r.ReadJSONBytes > 0 {
		r.Ratio = float64(r.FaultlineBytes) / float64(r.ReadJSONBytes)
	}
	r.ReadJSONBlocks = float64(r.ReadJSONBytes) / (256 << 10)
	return r, nil
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// sampleRecords reads every file under dir as faultline load splits it, one
// compact JSON record each, so read_json reads the same records: an Azure
// {"records":[...]} document gives its records, a CloudWatch Logs
// {"awslogs":{"data":...}} delivery its inflated payload (read_json cannot
// gunzip inside a value).
func sampleRecords(dir string) ([][]byte, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") && !strings.HasPrefix(d.Name(), "LICENSE") {
			files = append(files, p)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("samples %s: %w", dir, err)
	}
	sort.Strings(files)
	var out [][]byte
	var add func(rec []byte) error
	add = func(rec []byte) error {
		var top map[string]json.RawMessage
		if json.Unmarshal(rec, &top) == nil {
			var inner []json.RawMessage
			if raw, ok := top["records"]; ok && json.Unmarshal(raw, &inner) == nil {
				for _, r := range inner {
					if err := add(r); err != nil {
						return err
					}
				}
				return nil
			}
			var aw struct{ Data []byte }
			if raw, ok := top["awslogs"]; ok && json.Unmarshal(raw, &aw) == nil {
				zr, err := gzip.NewReader(bytes.NewReader(aw.Data))
				if err != nil {
					return err
				}
				if rec, err = io.ReadAll(zr); err != nil {
					return err
				}
			}
		}
		var b bytes.Buffer
		if err := json.Compact(&b, rec); err != nil {
			return err
		}
		out = append(out, b.Bytes())
		return nil
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		err = transform.SplitFile(data, 1<<30, func(_ transform.RecordPos, rec []byte) error { return add(rec) })
		if err != nil {
			return nil, fmt.Errorf("samples %s: %w", f, err)
		}
	}
	return out, nil
}

// writeResampled writes n records drawn from recs (seeded, with
// replacement, every record at least once) as NDJSON and returns n.
func writeResampled(path string, recs [][]byte, n int, seed uint64) (int, error) {
	n = max(n, len(recs))
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	r := rand.New(rand.NewPCG(seed, 42))
	for i := 0; i < n; i++ {
		rec := recs[i%len(recs)]
		if i >= len(recs) {
			rec = recs[r.IntN(len(recs))]
		}
		w.Write(rec)
		w.WriteByte('\n')
	}
	return n, errors.Join(w.Flush(), f.Close())
}
