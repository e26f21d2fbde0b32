package dashboards

import (
	"math"
	"math/big"
	"net/http"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/faultline/faultline/queries"
)

// TestAppendJSONCellMatchesMarshal: the fast path writes what
// marshal(jsonCell(v)) writes, for every type a result carries.
func TestAppendJSONCellMatchesMarshal(t *testing.T) {
	tz := time.FixedZone("x", 5*3600+1800)
	vals := []any{
		nil, "", "plain", `say "hi"`, "line\nbreak\r\t", "ctl \x00\x08\x0c\x1f\x7f", "<a>&amp;</a> -> b", "ünïcødé 日本 🚀",
		"sep \u2028 \u2029", "bad \xff utf8", `back\slash`,
		int64(math.MinInt64), int64(math.MaxInt64), 0, int32(-7), int16(3), int8(-8), uint64(math.MaxUint64), uint32(1), uint16(2), uint8(255),
		true, false,
		0.0, math.Copysign(0, -1), 0.75, 1e-7, 1e21, 1e20, 5e-324, math.MaxFloat64, math.NaN(), math.Inf(1), math.Inf(-1),
		float32(0.1), float32(math.NaN()),
		time.Time{}, time.Date(2025, 10, 20, 10, 3, 4, 123456789, tz), time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		[]byte("bytes"), []byte{0xff, 0}, []any{int64(1), "x", nil, math.NaN()}, map[string]any{"b": 1.5, "a": time.Time{}},
		big.NewInt(0).Lsh(big.NewInt(1), 80), duckdb.Interval{Days: 1}, struct{ A int }{1},
	}
	for _, v := range vals {
		got := string(appendJSONCell([]byte("prefix "), v))
		want := "prefix " + string(marshal(jsonCell(v)))
		if got != want {
			t.Errorf("%#v: got %q, want %q", v, got, want)
		}
	}
}

// discardResponse is an http.ResponseWriter that counts what it is sent.
type discardResponse struct {
	h http.Header
	n int64
}

func (d *discardResponse) Header() http.Header         { return d.h }
func (d *discardResponse) WriteHeader(int)             {}
func (d *discardResponse) Write(p []byte) (int, error) { d.n += int64(len(p)); return len(p), nil }

// BenchmarkAPIQueryRows streams 400k series-shaped rows through the
// /api/query JSON writer; "ref" encodes each cell as before issue 19
// part 9 (marshal(jsonCell(v))).
func BenchmarkAPIQueryRows(b *testing.B) {
	services := []string{"checkout", "payments-api", "search", "auth", "inventory", "cart", "shipping"}
	regions := []string{"us-east-1", "eu-west-1", "ap-south-1"}
	start := time.Date(2025, 10, 20, 0, 0, 0, 0, time.UTC)
	tb := queries.Table{Columns: []string{"service", "region", "minute", "errors", "events"}, Rows: make([][]any, 400_000)}
	for i := range tb.Rows {
		tb.Rows[i] = []any{services[i%len(services)], regions[(i/7)%len(regions)], start.Add(time.Duration(i/21) * time.Minute), int64(i % 13), int64(1000 + i%997)}
	}
	for _, impl := range []string{"new", "ref"} {
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			var size int64
			for b.Loop() {
				d := &discardResponse{h: http.Header{}}
				var rw queries.RowWriter = &jsonRows{w: d}
				if impl == "ref" {
					rw = &refJSONRows{jsonRows{w: d}}
				}
				sum, err := queries.StreamTable(tb, rw)
				if err != nil {
					b.Fatal(err)
				}
				switch j := rw.(type) {
				case *jsonRows:
					j.finish(sum, nil)
				case *refJSONRows:
					j.finish(sum, nil)
				}
				size = d.n
			}
			b.SetBytes(size)
		})
	}
}

// refJSONRows is jsonRows with the per-cell encoding before part 9.
type refJSONRows struct{ jsonRows }

func (j *refJSONRows) Row(vals []any) error {
	if j.rows > 0 {
		j.bw.WriteByte(',')
	}
	j.rows++
	j.bw.WriteString("\n  [")
	for i, v := range vals {
		if i > 0 {
			j.bw.WriteString(", ")
		}
		j.bw.Write(marshal(jsonCell(v)))
	}
	_, err := j.bw.WriteString("]")
	return err
}
