package transform

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Layout says how SplitFile cut a file into records.
type Layout uint8

// File layouts recognised by SplitFile.
const (
	// LayoutWhole: the whole (decompressed) content is one record: a single
	// JSON object (a CloudWatch {"awslogs":...} file, an EventBridge event,
	// a CloudTrail digest file), or anything that is not JSON at all.
	LayoutWhole Layout = iota
	// LayoutRecords: a CloudTrail S3 log file {"Records":[...]}, one record
	// per element of Records.
	LayoutRecords
	// LayoutArray: a bare JSON array, one record per element.
	LayoutArray
	// LayoutLines: NDJSON, one record per non-blank line.
	LayoutLines
	// LayoutValues: several top-level JSON values that are not one per line
	// (pretty-printed objects back to back), one record per value.
	LayoutValues
)

func (l Layout) String() string {
	switch l {
	case LayoutWhole:
		return "whole"
	case LayoutRecords:
		return "records"
	case LayoutArray:
		return "array"
	case LayoutLines:
		return "lines"
	case LayoutValues:
		return "values"
	}
	return fmt.Sprintf("layout(%d)", uint8(l))
}

// RecordPos locates one record of a file.
type RecordPos struct {
	Layout Layout
	// Index is the element index (Records, array, values) or the 0-based
	// line number (lines; blank lines are counted but not yielded), 0 for a
	// whole file.
	Index int64
	// Offset is the record's byte offset in the decompressed content.
	Offset int64
	// Gzip reports that the file was gzip-compressed and records are slices
	// of its decompressed content.
	Gzip bool
}

// Errors returned by SplitFile for compressed input; test with errors.Is.
var (
	ErrSplitDecompress      = errors.New("gzip content cannot be decompressed")
	ErrSplitDecompressLimit = errors.New("decompressed content exceeds the size limit")
)

// ErrInputTooLarge is returned by ReadInput for content over its limit.
var ErrInputTooLarge = errors.New("input exceeds the file size limit")

// ReadInput reads what SplitFile is then given: a file's content from r, at
// most limit bytes (limit must be positive). It never reads more than
// limit+1 bytes, whatever size says, so a device or pipe that does not end
// (/dev/zero, a named pipe) costs the limit, not all memory. Over the limit
// it returns the first limit bytes and an error wrapping ErrInputTooLarge.
//
// size is the file's size from stat for a regular file: the buffer is then
// allocated once (a file that grows meanwhile is still read to its end,
// within the limit). For a device or pipe size is 0: its content is read
// in chunks and copied once into a buffer of its size, so it costs up to
// twice the limit while it is read (a doubling buffer cost nearly three
// times: 2.8 GB of RSS for /dev/zero against a 1 GiB limit).
func ReadInput(r io.Reader, size, limit int64) ([]byte, error) {
	if limit <= 0 || limit == math.MaxInt64 {
		return nil, fmt.Errorf("read input: limit %d is not allowed: must be positive and below %d", limit, int64(math.MaxInt64))
	}
	lr := io.LimitReader(r, limit+1)
	var chunks [][]byte // after a first chunk of size+1 bytes: growing ones
	total, next := int64(0), min(size, limit)+1
	if size <= 0 {
		next = min(64<<10, limit+1)
	}
	for {
		chunk := make([]byte, next)
		n, err := io.ReadFull(lr, chunk)
		total += int64(n)
		if n > 0 {
			chunks = append(chunks, chunk[:n])
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		next = min(2*next, 8<<20, limit+1-total)
		if next == 0 {
			break // limit+1 bytes read
		}
	}
	var data []byte
	switch len(chunks) {
	case 0:
		data = []byte{}
	case 1:
		data = chunks[0]
	default:
		data = make([]byte, 0, total)
		for i, c := range chunks {
			data = append(data, c...)
			chunks[i] = nil // collectable while the rest is copied
		}
	}
	if total > limit {
		return data[:limit], fmt.Errorf("%w: more than %d bytes", ErrInputTooLarge, limit)
	}
	return data, nil
}

// IsDuckDBFile reports whether head, the first bytes of a file, begins a
// DuckDB database file ("DUCK" at byte 8): a database, not records to
// read. It needs 12 bytes.
func IsDuckDBFile(head []byte) bool {
	return len(head) >= 12 && string(head[8:12]) == "DUCK"
}

// SplitFile cuts a file's bytes into the records that faultline load and
// faultline produce handle one at a time, calling yield for each in order.
//
// gzip input (recognised by its magic bytes, so .gz files and gzip payloads
// without the extension alike; concatenated members are read as one stream)
// is decompressed first, up to maxDecompressed bytes (<= 0: no limit);
// beyond that SplitFile returns an error wrapping ErrSplitDecompressLimit
// before yielding anything, and corrupt gzip one wrapping
// ErrSplitDecompress. A leading UTF-8 byte order mark is dropped. Then:
//
//   - {"Records":[...]} whose first element looks like a CloudTrail record
//     (has eventVersion, or eventSource and eventName): one record per
//     element (LayoutRecords). Other Records files (SNS, S3, SQS
//     notifications) are a single object, see below.
//   - a bare JSON array: one record per element (LayoutArray).
//   - NDJSON, several top-level JSON values one per line: one record per
//     non-blank line, surrounding whitespace and \r trimmed (LayoutLines).
//     Lines are not validated; a bad line is a record of its own.
//   - several top-level JSON values not one per line: one record per value
//     (LayoutValues).
//   - anything else, including a single JSON object and non-JSON (binary)
//     payloads: the whole content as one record (LayoutWhole).
//   - empty or whitespace-only content: no record at all (callers decide
//     whether that is worth a dead letter).
//
// Bad JSON is never dropped silently: if an array or value stream turns out
// to be malformed, the records before the fault are yielded and everything
// from the faulty element on becomes one last record, which a decoder then
// rejects as a dead letter; content trailing a complete array or Records
// object is yielded as one last record too.
//
// rec is a sub-slice of data (or of the decompressed content, a buffer
// SplitFile allocates for this call). SplitFile never modifies or reuses
// either, so rec stays valid as long as the caller leaves data unmodified:
// callers may keep records without copying. An error from yield stops
// SplitFile, which returns it unchanged.
func SplitFile(data []byte, maxDecompressed int, yield func(pos RecordPos, rec []byte) error) error {
	var gz bool
	if splitIsGzip(data) {
		var err error
		data, err = splitGunzip(data, maxDecompressed)
		if err != nil {
			return err
		}
		gz = true
	}
	s := &splitter{data: data, gzip: gz, yield: yield}
	return s.split()
}

// splitIsGzip reports whether b starts with the gzip magic bytes.
func splitIsGzip(b []byte) bool {
	return len(b) >= 3 && b[0] == 0x1f && b[1] == 0x8b && b[2] == 8
}

// splitGunzip decompresses data in two passes: the first only counts the
// decompressed bytes (a gzip bomb is refused there, having cost a 32 KiB
// window), the second fills a buffer of exactly that size. Reading into a
// growing buffer instead cost up to three times the limit in memory (a
// doubling buffer and its copy): a 2 MB bomb took 2.3 GB of RSS against a
// 1 GiB limit.
func splitGunzip(data []byte, maxDecompressed int) ([]byte, error) {
	limit := int64(math.MaxInt64 - 1)
	if maxDecompressed > 0 {
		limit = int64(maxDecompressed)
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSplitDecompress, err)
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSplitDecompress, err)
	}
	if n > limit {
		return nil, fmt.Errorf("%w: more than %d bytes (raise transform.max_decompressed_bytes if the file is genuine)", ErrSplitDecompressLimit, maxDecompressed)
	}
	if err := zr.Reset(bytes.NewReader(data)); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSplitDecompress, err)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSplitDecompress, err)
	}
	return out, nil
}

type splitter struct {
	data  []byte // content without a leading BOM
	base  int64  // length of the dropped BOM, added to offsets
	gzip  bool
	yield func(RecordPos, []byte) error
}

// splitMaxDepth is the nesting SplitFile accepts: it only finds where
// records end (scanValue is iterative); decoders enforce the real limit.
const splitMaxDepth = math.MaxInt32

var utf8BOM = []byte("\xef\xbb\xbf")

func (s *splitter) emit(l Layout, idx, off int64, rec []byte) error {
	return s.yield(RecordPos{Layout: l, Index: idx, Offset: s.base + off, Gzip: s.gzip}, rec)
}

func (s *splitter) whole() error { return s.emit(LayoutWhole, 0, 0, s.data) }

func (s *splitter) split() error {
	if bytes.HasPrefix(s.data, utf8BOM) {
		s.data = s.data[len(utf8BOM):]
		s.base = int64(len(utf8BOM))
	}
	first := skipSpace(s.data, 0)
	if first == len(s.data) {
		return nil // empty
	}
	switch s.data[first] {
	case '[':
		_, err := s.elements(first+1, LayoutArray, nil)
		return err
	case '{':
		if ok, err := s.records(first); ok || err != nil {
			return err
		}
		return s.objects(first)
	}
	return s.whole()
}

// elements yields the elements of the array whose '[' precedes i, then
// checks that only closing (a "}" for Records) and whitespace follow.
// accept, if set, is asked about the first element before anything is
// yielded; if it says no, elements returns false and yields nothing. If
// not even a first element can be read, the whole content is one record.
func (s *splitter) elements(i int, l Layout, accept func([]byte) bool) (bool, error) {
	b := s.data
	var idx int64
	i = skipSpace(b, i)
	if i < len(b) && b[i] == ']' {
		return true, s.closing(l, idx, i+1)
	}
	for {
		end, err := scanValue(b, i, splitMaxDepth)
		if err != nil {
			if idx == 0 {
				if accept != nil {
					return false, nil
				}
				return true, s.whole() // not JSON after all
			}
			return true, s.rest(l, idx, i)
		}
		if idx == 0 && accept != nil && !accept(b[i:end]) {
			return false, nil
		}
		if err := s.emit(l, idx, int64(i), b[i:end]); err != nil {
			return true, err
		}
		idx++
		i = skipSpace(b, end)
		switch {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == ']':
			return true, s.closing(l, idx, i+1)
		default:
			return true, s.rest(l, idx, i)
		}
	}
}

// closing checks what follows the array's ']' at after: whitespace only
// (and the Records object's '}'); anything else is one more record.
func (s *splitter) closing(l Layout, idx int64, after int) error {
	end := after
	if l == LayoutRecords {
		if p := skipSpace(s.data, after); p < len(s.data) && s.data[p] == '}' {
			end = p + 1
		}
	}
	if skipSpace(s.data, end) < len(s.data) {
		return s.rest(l, idx, after)
	}
	return nil
}

// rest yields everything from offset from on (leading whitespace and commas
// skipped) as one last record, unless nothing is left.
func (s *splitter) rest(l Layout, idx int64, from int) error {
	off := skipSpaceComma(s.data, from)
	if off >= len(s.data) {
		return nil
	}
	return s.emit(l, idx, int64(off), s.data[off:])
}

// records handles {"Records":[...]} CloudTrail files (the object at first).
// It reports false if the content is something else.
func (s *splitter) records(first int) (bool, error) {
	b := s.data
	i := skipSpace(b, first+1)
	const key = `"Records"`
	if !bytes.HasPrefix(b[i:], []byte(key)) {
		return false, nil
	}
	i = skipSpace(b, i+len(key))
	if i >= len(b) || b[i] != ':' {
		return false, nil
	}
	i = skipSpace(b, i+1)
	if i >= len(b) || b[i] != '[' {
		return false, nil
	}
	return s.elements(i+1, LayoutRecords, looksLikeCloudTrail)
}

// looksLikeCloudTrail reports whether rec is an object with CloudTrail's
// record keys (case-sensitive: SNS records have EventSource/EventVersion).
func looksLikeCloudTrail(rec []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(rec, &m) != nil {
		return false
	}
	if _, ok := m["eventVersion"]; ok {
		return true
	}
	_, src := m["eventSource"]
	_, name := m["eventName"]
	return src && name
}

// objects handles content starting with '{' that is not a Records file:
// one object (whole), NDJSON (lines) or a stream of values.
func (s *splitter) objects(first int) error {
	end, err := scanValue(s.data, first, splitMaxDepth)
	if err != nil {
		if s.secondLineIsJSON(first) {
			return s.lines() // NDJSON whose first line is broken
		}
		return s.whole()
	}
	next := skipSpace(s.data, end)
	if next == len(s.data) {
		return s.whole()
	}
	if bytes.IndexByte(s.data[first:end], '\n') < 0 && bytes.IndexByte(s.data[end:next], '\n') >= 0 {
		return s.lines()
	}
	return s.values(first)
}

// secondLineIsJSON reports whether the content has a second non-blank line
// holding exactly one JSON value: NDJSON, even if its first line is broken.
func (s *splitter) secondLineIsJSON(first int) bool {
	eol := bytes.IndexByte(s.data[first:], '\n')
	if eol < 0 {
		return false
	}
	p := skipSpace(s.data, first+eol+1)
	if p == len(s.data) || s.data[p] != '{' {
		return false
	}
	line := s.data[p:]
	if e := bytes.IndexByte(line, '\n'); e >= 0 {
		line = line[:e]
	}
	line = bytes.TrimRight(line, " \t\r")
	end, err := scanValue(line, 0, splitMaxDepth)
	return err == nil && end == len(line)
}

// lines yields each non-blank line, trimmed.
func (s *splitter) lines() error {
	var line int64
	for p := 0; p < len(s.data); line++ {
		eol := bytes.IndexByte(s.data[p:], '\n')
		next := len(s.data)
		if eol >= 0 {
			next = p + eol + 1
			eol += p
		} else {
			eol = len(s.data)
		}
		b, e := skipSpace(s.data[:eol], p), eol
		for e > b && isSpace(s.data[e-1]) {
			e--
		}
		if e > b {
			if err := s.emit(LayoutLines, line, int64(b), s.data[b:e]); err != nil {
				return err
			}
		}
		p = next
	}
	return nil
}

// values yields each top-level JSON value.
func (s *splitter) values(first int) error {
	var idx int64
	for i := first; ; idx++ {
		i = skipSpace(s.data, i)
		if i == len(s.data) {
			return nil
		}
		end, err := scanValue(s.data, i, splitMaxDepth)
		if err != nil {
			if idx == 0 {
				return s.whole()
			}
			return s.rest(LayoutValues, idx, i)
		}
		if err := s.emit(LayoutValues, idx, int64(i), s.data[i:end]); err != nil {
			return err
		}
		i = end
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func skipSpace(b []byte, p int) int {
	for p < len(b) && isSpace(b[p]) {
		p++
	}
	return p
}

func skipSpaceComma(b []byte, p int) int {
	for p < len(b) && (isSpace(b[p]) || b[p] == ',') {
		p++
	}
	return p
}
