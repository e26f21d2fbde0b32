package ingest

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/faultline/faultline/ingest/status"
	"github.com/faultline/faultline/ingest/store"
	"github.com/faultline/faultline/transform"
)

// LoadOptions configure LoadPaths.
type LoadOptions struct {
	Format    transform.Format // auto detects each record's family
	Config    Config           // batching and in-flight budget
	Transform transform.Config
	Logger    *slog.Logger
	Metrics   *Metrics         // nil: unregistered metrics
	Status    *status.Tracker  // commit errors are recorded here (may be nil)
	Allocator memory.Allocator // nil: the batch allocator, as in Options
	Sink      Sink             // nil: a DuckDB sink on db
	// MaxFileBytes caps a file's (decompressed) size; a larger file is one
	// dead letter. Files are read whole into memory, and never more than
	// this of one (a device or pipe that does not end: /dev/zero). 0 = 1 GiB.
	MaxFileBytes int64
	// ReplaceChanged lets a file whose content changed since it was loaded
	// replace the events loaded from it. Without it such a file is left as
	// loaded and LoadPaths ends with an ErrChangedFiles error, unless the
	// change only appended to the file (nothing loaded is lost) or nothing
	// was loaded from it.
	ReplaceChanged bool
	// Progress, if set, is called after each file is read (not yet
	// necessarily committed) with the files done, the files to do and what
	// was committed so far. It runs on LoadPaths' goroutine.
	Progress func(done, total int, committed Totals)
	// Workers decode records in parallel (their order is kept); 0 = one
	// per core (GOMAXPROCS).
	Workers int
}

// LoadSummary is what LoadPaths did.
type LoadSummary struct {
	Files          int // files found (digests included)
	FilesLoaded    int // read and loaded (new, resumed or reloaded)
	FilesUnchanged int // already fully loaded with the same content: skipped
	FilesReloaded  int // loaded before with different content: old rows replaced
	// FilesRefused changed since they were loaded, and reloading them would
	// replace EventsKept events: left as they were (see ReplaceChanged).
	FilesRefused int
	EventsKept   int64
	DigestFiles  int // CloudTrail digest files: recognised, not loaded
	Totals
	Seconds float64
}

// EventsPerSecond is Events / Seconds.
func (s LoadSummary) EventsPerSecond() float64 {
	if s.Seconds <= 0 {
		return 0
	}
	return float64(s.Events) / s.Seconds
}

// LoadPaths loads files and directories (walked recursively, including the
// CloudTrail S3 layout AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/)
// into db, idempotently: every file's position ("file:<absolute path>",
// the next record) and content fingerprint are stored in the same
// transaction as its events, so loading a file again adds nothing, an
// interrupted load resumes where it stopped, and a file whose content
// changed is reloaded (its earlier rows are deleted in the same
// transaction as the first batch of its new rows).
func LoadPaths(ctx context.Context, db *store.DB, paths []string, o LoadOptions) (LoadSummary, error) {
	t0 := time.Now()
	var sum LoadSummary
	if o.Format == "" {
		o.Format = transform.FormatAuto
	}
	if _, err := transform.ParseFormat(string(o.Format)); err != nil {
		return sum, err
	}
	if err := o.Config.Validate(); err != nil {
		return sum, err
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 1 << 30
	}
	dec, err := transform.NewDecoder(o.Transform)
	if err != nil {
		return sum, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	files, digests, databases, err := listFiles(paths, db.Path)
	if err != nil {
		return sum, err
	}
	for _, f := range databases {
		log.Warn("skipped a DuckDB database file found in a directory: it is not a log file (faultline merge adds the events of a faultline database)", "file", f)
	}
	sum.Files, sum.DigestFiles = len(files)+len(digests), len(digests)
	sink := o.Sink
	if sink == nil {
		s, err := db.NewSink(ctx)
		if err != nil {
			return sum, err
		}
		defer s.Close()
		sink = s
	}
	p := newPipeline(o.Config, sink, o.Allocator, o.Metrics, log, o.Status)
	p.rerun = "then run the same faultline load again: files already loaded are skipped and the interrupted one resumes"
	in := make(chan item, 256)
	pctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	pipeErr := make(chan error, 1)
	go func() {
		err := p.run(context.WithoutCancel(ctx), in)
		if err != nil {
			stop(err)
		}
		pipeErr <- err
	}()
	q := newLoadQueue(pctx, dec, p, in, o.Workers)
	var readErr error
	var refused []string
	for i, f := range files {
		if pctx.Err() != nil {
			break
		}
		st, err := loadFile(pctx, db, q, f, o)
		var ce changedError
		switch {
		case errors.As(err, &ce):
			refused = append(refused, f)
			sum.FilesRefused++
			sum.EventsKept += ce.events
			log.Warn("file changed since it was loaded; left as loaded (pass --replace-changed to replace its events)", "file", f, "events", ce.events)
		case err != nil:
			if pctx.Err() == nil {
				readErr = err
			}
		case st == fileUnchanged:
			sum.FilesUnchanged++
		case st == fileReloaded:
			sum.FilesReloaded++
			sum.FilesLoaded++
			log.Warn("file changed since it was loaded, or was loaded before with another --format that decoded none of it; replacing its rows", "file", f)
		default:
			sum.FilesLoaded++
		}
		if readErr != nil {
			break
		}
		if o.Progress != nil {
			o.Progress(i+1, len(files), p.Totals())
		}
	}
	q.close()
	close(in)
	perr := <-pipeErr
	sum.Totals = p.Totals()
	sum.Seconds = time.Since(t0).Seconds()
	if perr != nil {
		return sum, perr
	}
	if readErr != nil {
		return sum, readErr
	}
	if len(refused) > 0 {
		return sum, fmt.Errorf("%w: %d file(s) changed since they were loaded and reloading would replace the %d events loaded from them (first: %s); pass --replace-changed to replace them, or restore the files", ErrChangedFiles, len(refused), sum.EventsKept, refused[0])
	}
	if ctx.Err() != nil {
		return sum, fmt.Errorf("load interrupted (what was committed stays; run the same load again to resume): %w", ctx.Err())
	}
	return sum, nil
}

// isDigest recognises CloudTrail digest files by their S3 layout or name.
func isDigest(path string) bool {
	p := filepath.ToSlash(path)
	return strings.Contains(p, "/CloudTrail-Digest/") || strings.Contains(filepath.Base(p), "_CloudTrail-Digest_")
}

// listFiles expands directories (sorted, hidden entries skipped) and
// separates CloudTrail digest files. DuckDB database files are not log
// files: named, they are an error saying so; found in a directory, the
// target's are skipped and others are returned in databases (skipped too).
// The target database (target, its write-ahead log) is recognised by stat
// alone, before it is ever opened: reading it and closing it would release
// this process's lock on it (POSIX locks belong to the process), and
// another process could then open it meanwhile.
func listFiles(paths []string, target string) (files, digests, databases []string, err error) {
	seen := map[string]bool{}
	var targets []os.FileInfo
	var targetAbs string
	if target != "" {
		if targetAbs, err = filepath.Abs(target); err != nil {
			return nil, nil, nil, err
		}
		for _, p := range []string{target, target + ".wal"} {
			if st, err := os.Stat(p); err == nil {
				targets = append(targets, st)
			}
		}
	}
	// add adds the file at p (named: on the command line, not found in a
	// directory) and reports whether it is one to load.
	add := func(p string, named bool) (bool, error) {
		abs, err := filepath.Abs(p)
		if err != nil {
			return false, err
		}
		if seen[abs] {
			return true, nil
		}
		if st, err := os.Stat(abs); err == nil && st.Mode().IsRegular() {
			self := targetAbs != "" && (abs == targetAbs || abs == targetAbs+".wal")
			for _, t := range targets {
				self = self || os.SameFile(st, t)
			}
			switch {
			case self && named:
				return false, fmt.Errorf("load %s: it is the --db database itself (or its write-ahead log), not a log file: name the files to load", p)
			case self:
				return false, nil
			case isDuckDBFile(abs) && named:
				return false, fmt.Errorf("load %s: it is a DuckDB database, not a log file: to add the events of a faultline database, use faultline merge --db %s %s", p, target, p)
			case isDuckDBFile(abs):
				databases = append(databases, abs)
				return false, nil
			}
		}
		seen[abs] = true
		if isDigest(abs) {
			digests = append(digests, abs)
		} else {
			files = append(files, abs)
		}
		return true, nil
	}
	if err := CheckNamedFiles(paths); err != nil {
		return nil, nil, nil, err
	}
	for _, root := range paths {
		st, err := os.Stat(root)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("load %s: %w%s", root, err, permissionHint(err))
		}
		if !st.IsDir() {
			if _, err := add(root, true); err != nil {
				return nil, nil, nil, err
			}
			continue
		}
		var found []string
		if err := walkFiles(root, map[string]bool{}, &found); err != nil {
			return nil, nil, nil, err
		}
		sort.Strings(found)
		n := 0
		for _, p := range found {
			ok, err := add(p, false)
			if err != nil {
				return nil, nil, nil, err
			}
			if ok {
				n++
			}
		}
		if n == 0 {
			return nil, nil, nil, fmt.Errorf("load %s: no files found in this directory (hidden entries and DuckDB databases are skipped): check the path", root)
		}
	}
	return files, digests, databases, nil
}

// isDuckDBFile reports whether the regular file at path begins as a
// DuckDB database file does ("DUCK" at byte 8 of its header).
func isDuckDBFile(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	head := make([]byte, 12)
	n, _ := io.ReadFull(f, head)
	return transform.IsDuckDBFile(head[:n])
}

// CheckNamedFiles says why the paths named to load have nothing to load:
// every one is an empty file (0 bytes). Loading them would only store dead
// letters; LoadPaths refuses them before loading anything, as it does a
// directory without files. An empty file among others (a shell glob over
// downloads, one of them unfinished) is loaded as a dead letter (reason
// empty), as one found in a directory is. Other problems (missing,
// unreadable) are left to LoadPaths.
func CheckNamedFiles(paths []string) error {
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() || st.Size() != 0 {
			return nil
		}
	}
	if len(paths) == 0 {
		return nil
	}
	return &emptyFilesError{paths}
}

// emptyFilesError is ErrEmptyFile for the paths named.
type emptyFilesError struct{ paths []string }

func (e *emptyFilesError) Error() string {
	const what = "nothing was loaded: check the path, or load it once whatever writes it has finished"
	if len(e.paths) == 1 {
		return fmt.Sprintf("load %s: the file is empty (0 bytes), %s", e.paths[0], what)
	}
	return fmt.Sprintf("load %s and %d more: every file named is empty (0 bytes), %s", e.paths[0], len(e.paths)-1, what)
}

func (e *emptyFilesError) Is(target error) bool { return target == ErrEmptyFile }

// ErrEmptyFile is returned by LoadPaths and CheckNamedFiles when every
// file named to load has 0 bytes. An empty file found in a directory, or
// named with others that have content, is stored as a dead letter (reason
// empty) instead, so that the load shows it.
var ErrEmptyFile = errors.New("the file is empty (0 bytes)")

// walkFiles appends the regular files under dir to found, following
// symbolic links to files and directories (each directory once) and
// skipping hidden entries.
func walkFiles(dir string, seen map[string]bool, found *[]string) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("load %s: %w", dir, err)
	}
	if seen[real] {
		return nil
	}
	seen[real] = true
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("load %s: %w%s", dir, err, permissionHint(err))
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		mode := e.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(p)
			if err != nil {
				return fmt.Errorf("load %s: %w (a broken symbolic link? remove it or fix its target)", p, err)
			}
			mode = st.Mode().Type()
		}
		switch {
		case mode.IsDir():
			if err := walkFiles(p, seen, found); err != nil {
				return err
			}
		case mode.IsRegular():
			*found = append(*found, p)
		}
	}
	return nil
}

// permissionHint says what to do about a permission error ("" otherwise).
func permissionHint(err error) string {
	if errors.Is(err, fs.ErrPermission) {
		return " (faultline may not read it: check the permissions of the file and its directories)"
	}
	return ""
}

type fileState int

const (
	fileNew fileState = iota
	fileUnchanged
	fileReloaded
)

func loadFile(ctx context.Context, db *store.DB, q *loadQueue, path string, o LoadOptions) (fileState, error) {
	raw, fi, err := readFile(path, o.MaxFileBytes)
	tooLarge := errors.Is(err, transform.ErrInputTooLarge) // raw is the first MaxFileBytes: fingerprinted and dead-lettered below
	if err != nil && !tooLarge {
		return 0, err
	}
	fp := fileFingerprint(raw, o.Format)
	source := "file:" + path
	next, storedFP, ok, err := db.FilePosition(ctx, source)
	if err != nil {
		return 0, err
	}
	st, start, replace := fileNew, int64(0), ""
	if ok && storedFP != fp && contentOf(storedFP) == contentOf(fp) {
		// The same bytes under another --format: reloaded when the earlier
		// load decoded nothing (all dead letters: the wrong format), else
		// left as loaded.
		n, err := db.FileEvents(ctx, path)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			storedFP = fp
		}
	}
	if ok && storedFP != fp {
		st, replace = fileReloaded, path
		if !o.ReplaceChanged && !appended(raw, storedFP) {
			n, err := db.FileEvents(ctx, path)
			if err != nil {
				return 0, err
			}
			if n > 0 {
				return 0, changedError{events: n}
			}
		}
	} else if ok {
		start = next
	}
	mtime := fi.ModTime()
	if tooLarge {
		msg := fmt.Sprintf("%s is %d bytes, over the %d byte file limit; split it", path, fi.Size(), o.MaxFileBytes)
		if !fi.Mode().IsRegular() || fi.Size() <= o.MaxFileBytes {
			// A device or pipe (stat says 0 bytes), or a file that grew
			// past the limit while it was read: reading stopped there.
			msg = fmt.Sprintf("%s gave more than the %d byte file limit, read no further (not a regular file, or one still growing); save what it gives in files under the limit and load those", path, o.MaxFileBytes)
		}
		return sendFile(ctx, q, st, path, fp, replace, start, deadFile(transform.ReasonTooLarge, msg, raw, o))
	}
	// Records are numbered 0, 1, 2... in the order SplitFile yields them; the
	// stored position is the number of records committed.
	var k int64
	sent := false
	// A .gz file inflates up to transform.max_decompressed_bytes (and the
	// file limit), counted before anything is allocated (SplitFile).
	maxInflated := min(o.MaxFileBytes, int64(o.Transform.MaxDecompressedBytes))
	err = transform.SplitFile(raw, int(maxInflated), func(pos transform.RecordPos, rec []byte) error {
		i := k
		k++
		if i < start {
			return nil
		}
		format := o.Format
		if pos.Layout == transform.LayoutRecords && format == transform.FormatAuto {
			// An element of a CloudTrail {"Records":[...]} file is a
			// CloudTrail record or a dead letter, never an app event.
			format = transform.FormatCloudTrail
		}
		it := item{source: source, next: i + 1, fingerprint: fp, label: "file"}
		if !sent {
			it.replace = replace
			sent = true
		}
		return q.add(ctx, it, transform.Input{Format: format, Value: rec, Time: mtime,
			Lineage: transform.Lineage{File: path, Offset: pos.Index}})
	})
	switch {
	case errors.Is(err, transform.ErrSplitDecompress):
		return sendFile(ctx, q, st, path, fp, replace, start, deadFile(transform.ReasonDecompress, fmt.Sprintf("%s: %v (the file is damaged; fetch it again)", path, err), raw, o))
	case errors.Is(err, transform.ErrSplitDecompressLimit):
		return sendFile(ctx, q, st, path, fp, replace, start, deadFile(transform.ReasonDecompressLimit, fmt.Sprintf("%s: %v (it may be a compression bomb; split the file if it is genuine)", path, err), raw, o))
	case err != nil:
		return st, err
	}
	if k == 0 { // empty or whitespace only, among other files: kept visible as a dead letter
		return sendFile(ctx, q, st, path, fp, replace, start, deadFile(transform.ReasonEmpty, path+" is empty", raw, o))
	}
	if !sent && st != fileReloaded {
		return fileUnchanged, nil
	}
	return st, nil
}

// readFile reads a file to load, at most limit bytes (transform.ReadInput):
// over it, the first limit bytes and an error wrapping
// transform.ErrInputTooLarge. fi is the open file's stat.
func readFile(path string, limit int64) (raw []byte, fi os.FileInfo, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w%s", path, err, permissionHint(err))
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	size := int64(0) // a device or pipe: its size is what it gives
	if fi.Mode().IsRegular() {
		size = fi.Size()
	}
	raw, err = transform.ReadInput(f, size, limit)
	if err != nil && !errors.Is(err, transform.ErrInputTooLarge) {
		return nil, nil, fmt.Errorf("read %s: %w%s", path, err, permissionHint(err))
	}
	return raw, fi, err
}

// ErrChangedFiles is returned by LoadPaths when files changed since they
// were loaded and were left as loaded (LoadOptions.ReplaceChanged).
var ErrChangedFiles = errors.New("changed files left as loaded")

// changedError refuses to reload a changed file that events came from.
type changedError struct{ events int64 }

func (e changedError) Error() string {
	return fmt.Sprintf("changed; %d events loaded from it", e.events)
}

// appended reports whether raw is the content fingerprinted as fp with
// bytes added at its end (a growing log file): reloading it replaces every
// event loaded from it with the same event, and adds the new ones.
func appended(raw []byte, fp string) bool {
	size, _, ok := strings.Cut(fp, ":")
	n, err := strconv.Atoi(size)
	if !ok || err != nil || n <= 0 || n >= len(raw) {
		return false
	}
	return fileFingerprint(raw[:n], "") == contentOf(fp)
}

// contentOf is the content part of a fingerprint, "size:sha256 prefix",
// without the ":format" suffix.
func contentOf(fp string) string {
	parts := strings.SplitN(fp, ":", 3)
	if len(parts) < 2 {
		return fp
	}
	return parts[0] + ":" + parts[1]
}

// fileFingerprint identifies a file's content and how it was decoded:
// "size:sha256 prefix", plus ":format" unless the format is auto, so that a
// file whose records were all dead letters under the wrong --format is
// reloaded when it is loaded again with another.
func fileFingerprint(raw []byte, f transform.Format) string {
	h := sha256.Sum256(raw)
	fp := fmt.Sprintf("%d:%x", len(raw), h[:16])
	if f != "" && f != transform.FormatAuto {
		fp += ":" + string(f)
	}
	return fp
}

// sendFile commits a whole file as one dead letter (record 0).
func sendFile(ctx context.Context, q *loadQueue, st fileState, path, fp, replace string, start int64, dl *transform.DeadLetter) (fileState, error) {
	if start > 0 && replace == "" {
		return fileUnchanged, nil // already committed
	}
	dl.Lineage = transform.Lineage{File: path}
	it := item{source: "file:" + path, next: 1, fingerprint: fp, replace: replace, label: "file",
		res: &transform.Result{DeadLetters: []transform.DeadLetter{*dl}}}
	return st, q.addDecoded(ctx, it, int64(dl.RawSize))
}

// loadQueue decodes the records of the files being loaded on several
// workers and hands them to the pipeline in the order they were added (a
// file's positions advance in order). Records travel in chunks, so the
// workers and the pipeline synchronise once per chunk, not per record.
type loadQueue struct {
	dec     *transform.Decoder
	p       *pipeline
	work    chan *loadChunk // to the workers
	ordered chan *loadChunk // to the forwarder, in order
	cur     *loadChunk
	wg      sync.WaitGroup
}

// loadChunk is a run of records: items[i] is decoded from inputs[i]
// (inputs[i] nil: already decoded) into items[i].res.
type loadChunk struct {
	items  []item
	inputs []*transform.Input
	raw    int64
	done   chan struct{}
}

// Records and bytes per chunk.
const (
	loadChunkRecords = 256
	loadChunkBytes   = 4 << 20
)

func newLoadQueue(ctx context.Context, dec *transform.Decoder, p *pipeline, in chan<- item, workers int) *loadQueue {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	q := &loadQueue{dec: dec, p: p, work: make(chan *loadChunk, workers), ordered: make(chan *loadChunk, 2*workers)}
	for w := 0; w < workers; w++ {
		q.wg.Add(1)
		go func() {
			defer q.wg.Done()
			for ch := range q.work {
				now := time.Now()
				for i, in := range ch.inputs {
					if in != nil {
						q.dec.Decode(*in, now, ch.items[i].res)
					}
				}
				close(ch.done)
			}
		}()
	}
	q.wg.Add(1)
	go func() { // the forwarder: the only sender on in
		defer q.wg.Done()
		stopped := false
		for ch := range q.ordered {
			<-ch.done
			for i, it := range ch.items {
				if !stopped {
					select {
					case in <- it:
						continue
					case <-ctx.Done():
						stopped = true
					}
				}
				q.p.release(ch.items[i].raw)
			}
		}
	}()
	return q
}

// add queues a record to decode; it blocks while the in-flight budget is
// used up (after handing over what it holds, so the budget can free up).
func (q *loadQueue) add(ctx context.Context, it item, in transform.Input) error {
	n, err := q.acquire(ctx, int64(len(in.Value)))
	if err != nil {
		return err
	}
	it.raw, it.res = n, &transform.Result{}
	return q.push(ctx, it, &in)
}

// addDecoded queues an item that needs no decoding, holding raw bytes of
// the budget.
func (q *loadQueue) addDecoded(ctx context.Context, it item, raw int64) error {
	n, err := q.acquire(ctx, raw)
	if err != nil {
		return err
	}
	it.raw = n
	return q.push(ctx, it, nil)
}

func (q *loadQueue) acquire(ctx context.Context, n int64) (int64, error) {
	n = min(n, int64(q.p.cfg.MaxInflightBytes))
	if q.p.budget.TryAcquire(n) {
		q.p.m.InflightBytes.Add(float64(n))
		return n, nil
	}
	if err := q.flush(ctx); err != nil {
		return 0, err
	}
	return q.p.acquire(ctx, n)
}

func (q *loadQueue) push(ctx context.Context, it item, in *transform.Input) error {
	if q.cur == nil {
		q.cur = &loadChunk{done: make(chan struct{})}
	}
	q.cur.items = append(q.cur.items, it)
	q.cur.inputs = append(q.cur.inputs, in)
	q.cur.raw += it.raw
	if len(q.cur.items) >= loadChunkRecords || q.cur.raw >= loadChunkBytes {
		return q.flush(ctx)
	}
	return nil
}

// flush hands the current chunk to the workers and the forwarder.
func (q *loadQueue) flush(ctx context.Context) error {
	ch := q.cur
	if ch == nil {
		return nil
	}
	q.cur = nil
	select {
	case q.ordered <- ch:
	case <-ctx.Done():
		for _, it := range ch.items {
			q.p.release(it.raw)
		}
		return ctx.Err()
	}
	q.work <- ch // the workers never stop before close
	return nil
}

// close hands over the last chunk and waits until everything queued was
// sent to the pipeline (or, after cancellation, released).
func (q *loadQueue) close() {
	if err := q.flush(context.Background()); err != nil {
		panic("unreachable: flush without a context cannot fail")
	}
	close(q.work)
	close(q.ordered)
	q.wg.Wait()
}

func deadFile(reason, msg string, raw []byte, o LoadOptions) *transform.DeadLetter {
	keep := raw
	if max := o.Transform.DeadLetterMaxRawBytes; max > 0 && len(keep) > max {
		keep = keep[:max]
	}
	return &transform.DeadLetter{Reason: reason, Message: msg, Format: o.Format, Raw: append([]byte(nil), keep...), RawSize: len(raw)}
}
