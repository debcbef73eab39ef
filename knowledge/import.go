package knowledge

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ImportRecord is one line of a JSON Lines import.
type ImportRecord struct {
	URL         string `json:"url"`
	Title       string `json:"title"`
	Text        string `json:"text"`
	PublishedAt string `json:"published_at"`
	Outlet      string `json:"outlet"`
	Author      string `json:"author"`
	Language    string `json:"language"`
}

// ImportSummary counts what an import did.
type ImportSummary struct {
	Lines      int // non-blank lines read
	Added      int // new articles stored
	Duplicates int // lines whose article was already stored (or repeated in the file)
	Restored   int // previously removed articles brought back
	Skipped    int // bad lines, each reported through ImportOptions.Report
	RolledBack int // lines whose articles were rolled back when the store failed
	Passages   int // passages indexed for the added articles
}

// LineIssue is a problem with one line of an import. Fatal issues skip the
// line; others (an unreadable date) are warnings and the article is stored.
type LineIssue struct {
	Line    int
	Fatal   bool
	Message string
}

func (e LineIssue) String() string {
	kind := "warning"
	if e.Fatal {
		kind = "skipped"
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, kind, e.Message)
}

// ImportOptions tunes Import.
type ImportOptions struct {
	AddedBy string
	// Report receives each line's problem, in line order; nil ignores
	// them. It is called from a goroutine of Import's, one call at a time
	// and never after Import returns.
	Report func(LineIssue)
	// BatchSize is how many articles share one transaction; each article
	// still goes in whole or not at all. Default 200.
	BatchSize int
}

// maxLineBytes bounds one JSON Lines record: a line longer than this is
// reported and skipped, never read whole into memory.
const maxLineBytes = 8 << 20

// Import reads JSON Lines from r, one article a line with the fields of
// ImportRecord (url, title and text required), and stores each article
// whole. A bad line is reported with its number and skipped; the rest are
// imported. The returned error is for failures of the reader or the store,
// which stop the import; articles committed before it stay.
//
// The calling goroutine reads, decodes and chunks the lines while another
// writes the ones before them (see importWriter): the two take about a
// third and two thirds of an import's time, and one goroutine doing both
// left a second core idle.
func (s *Store) Import(ctx context.Context, r io.Reader, opt ImportOptions) (ImportSummary, error) {
	if opt.BatchSize <= 0 {
		opt.BatchSize = 200
	}
	defer s.kickEmbedder() // new passages, if any, want vectors
	report := opt.Report
	if report == nil {
		report = func(LineIssue) {}
	}
	br := bufio.NewReaderSize(r, 64<<10)
	w := s.startImportWriter(ctx, opt.BatchSize, report)
	var buf []byte
	for lineNo := 1; ; lineNo++ {
		line, tooLong, err := readLine(br, maxLineBytes, buf[:0])
		buf = line
		if err != nil && !errors.Is(err, io.EOF) {
			// The open batch is rolled back; the ones before it stay.
			sum, werr := w.stop(false)
			return sum, errors.Join(fmt.Errorf("import: read line %d: %w", lineNo, err), werr)
		}
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			if !w.send(s.prepareLine(line, tooLong, lineNo, opt.AddedBy)) {
				return w.stop(false) // the store failed
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		// Cancellation is honoured between lines, so the articles read
		// are stored and the batch committed rather than thrown away.
		if ctx.Err() != nil {
			sum, werr := w.stop(true)
			return sum, errors.Join(ctx.Err(), werr)
		}
	}
	return w.stop(true)
}

// importLine is one non-blank line of an import, decoded and prepared for
// the writer.
type importLine struct {
	no       int
	issues   []LineIssue // to report, in order
	skipped  bool        // the line is bad and stores nothing
	article  Article
	lead     string // the article's Lead
	passages []string
}

// prepareLine decodes, validates and chunks one line (see parseRecord and
// Store.prepare). It does not touch the database.
func (s *Store) prepareLine(line []byte, tooLong bool, lineNo int, addedBy string) importLine {
	l := importLine{no: lineNo}
	skip := func(msg string) importLine {
		l.issues = append(l.issues, LineIssue{Line: lineNo, Fatal: true, Message: msg})
		l.skipped = true
		return l
	}
	if tooLong {
		return skip(fmt.Sprintf("line is over %d MiB", maxLineBytes>>20))
	}
	in, issue := parseRecord(line, lineNo, addedBy)
	if issue != nil {
		l.issues = []LineIssue{*issue}
		if issue.Fatal {
			l.skipped = true
			return l
		}
	}
	a, passages, err := s.prepare(in)
	if err != nil {
		return skip(strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": "))
	}
	l.article, l.lead, l.passages = a, Lead(a.Text), passages
	return l
}

// importWriter stores an import's prepared lines, in order, on a goroutine
// of its own. It also does the counting and reporting, so that a store
// failure stops both at the line that failed, as when one goroutine did
// everything: the lines read ahead of it are neither counted nor reported.
type importWriter struct {
	lines  chan importLine
	done   chan struct{} // closed when the writer has stopped
	commit bool          // set before lines is closed: commit the open batch, or roll it back
	sum    ImportSummary // read only after done
	err    error         // read only after done
}

// importQueue is how many prepared lines may wait for the writer: enough
// to even out articles of different lengths, few enough that the memory
// they hold stays small when the articles are large.
const importQueue = 16

func (s *Store) startImportWriter(ctx context.Context, size int, report func(LineIssue)) *importWriter {
	w := &importWriter{lines: make(chan importLine, importQueue), done: make(chan struct{})}
	b := &importBatch{store: s, sum: &w.sum, size: size, committed: make(chan struct{}, 1)}
	// An article is written whole whatever the caller's context does;
	// Import stops between lines instead.
	ctx = context.WithoutCancel(ctx)
	// The article index is written by a goroutine of its own, catching up
	// after each batch commits while the writer goes on to the next (see
	// articleIndex). Import returns once it has caught up with the last.
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		for range b.committed {
			s.syncArticles(ctx)
		}
	}()
	go func() {
		defer close(w.done)
		defer b.rollback()
		defer func() {
			close(b.committed)
			<-indexed
		}()
		for l := range w.lines {
			w.sum.Lines++
			for _, li := range l.issues {
				report(li)
			}
			if l.skipped {
				w.sum.Skipped++
				continue
			}
			if w.err = b.add(ctx, l); w.err != nil {
				return
			}
		}
		if w.commit {
			w.err = b.commitAnd(nil)
		}
	}()
	return w
}

// send queues a line for the writer. It reports false when the writer has
// stopped on an error, which stop then returns.
func (w *importWriter) send(l importLine) bool {
	select {
	case w.lines <- l:
		return true
	case <-w.done:
		return false
	}
}

// stop waits for the writer to store the lines queued, then to commit the
// open batch if commit is set or roll it back if not, and returns the
// summary and the writer's error.
func (w *importWriter) stop(commit bool) (ImportSummary, error) {
	w.commit = commit
	close(w.lines)
	<-w.done
	return w.sum, w.err
}

// parseRecord decodes and validates one line. A non-fatal issue comes with a
// usable article. Anything after the object (a second object run onto the
// same line) makes the line bad, rather than being silently ignored.
func parseRecord(line []byte, lineNo int, addedBy string) (NewArticle, *LineIssue) {
	var rec ImportRecord
	if err := json.Unmarshal(line, &rec); err != nil {
		return NewArticle{}, &LineIssue{Line: lineNo, Fatal: true, Message: "not a JSON object: " + jsonErrorText(err)}
	}
	var missing []string
	if strings.TrimSpace(rec.URL) == "" {
		missing = append(missing, "url")
	}
	if strings.TrimSpace(rec.Title) == "" {
		missing = append(missing, "title")
	}
	if strings.TrimSpace(rec.Text) == "" {
		missing = append(missing, "text")
	}
	if len(missing) > 0 {
		return NewArticle{}, &LineIssue{Line: lineNo, Fatal: true, Message: "missing " + strings.Join(missing, ", ")}
	}
	in := NewArticle{
		URL: rec.URL, Title: rec.Title, Text: rec.Text, Outlet: rec.Outlet, Author: rec.Author,
		Language: rec.Language, Origin: OriginImport, AddedBy: addedBy,
	}
	t, err := ParseDate(rec.PublishedAt)
	if err != nil {
		return in, &LineIssue{Line: lineNo, Message: fmt.Sprintf("published_at %q is not RFC 3339 or YYYY-MM-DD; stored without a date", truncate(rec.PublishedAt, 40))}
	}
	in.PublishedAt = t
	return in, nil
}

func jsonErrorText(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("%v (at byte %d)", se, se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q should be a %s", te.Field, te.Type)
	}
	return err.Error()
}

// readLine reads one line without its newline, into buf (which it may
// grow) so that an import does not allocate a buffer for every line. A line
// longer than max is consumed and reported as tooLong with no content.
func readLine(br *bufio.Reader, max int, buf []byte) (line []byte, tooLong bool, err error) {
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > max {
			tooLong = true
			buf = buf[:0]
		} else if !tooLong {
			buf = append(buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(buf, "\r\n"), tooLong, err
	}
}

// importBatch groups articles into transactions of up to size articles.
// There is no savepoint per article: FTS5 flushes its pending index at
// every savepoint, which made imports four times slower. Articles are
// validated before they reach the database, so a write that still fails
// is a fault of the store (disk full, I/O error); the whole batch is then
// rolled back and the import stops, and every article stays whole or absent.
type importBatch struct {
	store *Store
	sum   *ImportSummary
	size  int
	cur   *writeTx
	n     int
	pend  ImportSummary // counts of the open transaction, added to sum at commit
	// committed wakes the article index's goroutine after a commit; one
	// wake-up pending is enough, since it catches up with every commit.
	committed chan struct{}
}

func (b *importBatch) add(ctx context.Context, l importLine) error {
	if b.cur == nil {
		tx, err := b.store.beginWrite(ctx)
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		b.cur = tx
	}
	res, err := b.store.addLeadTx(ctx, b.cur, l.article, l.lead, l.passages)
	if err != nil {
		lost := b.n
		b.rollback()
		b.sum.RolledBack += lost + 1
		return fmt.Errorf("import: line %d: %w (the %d earlier articles of its batch were rolled back; import again to resume)", l.no, err, lost)
	}
	switch {
	case res.Created:
		b.pend.Added++
		b.pend.Passages += res.Article.Passages
	case res.Reactivated:
		b.pend.Restored++
	default:
		b.pend.Duplicates++
	}
	b.n++
	if b.n >= b.size {
		return b.commitAnd(nil)
	}
	return nil
}

// commitAnd commits the open transaction, if any, and returns err (or the
// commit's error).
func (b *importBatch) commitAnd(err error) error {
	if b.cur == nil {
		return err
	}
	cerr := b.cur.Commit()
	b.cur, b.n = nil, 0
	if cerr != nil {
		b.pend = ImportSummary{}
		return errors.Join(err, fmt.Errorf("import: commit: %w", cerr))
	}
	b.sum.Added += b.pend.Added
	b.sum.Passages += b.pend.Passages
	b.sum.Restored += b.pend.Restored
	b.sum.Duplicates += b.pend.Duplicates
	b.pend = ImportSummary{}
	select {
	case b.committed <- struct{}{}:
	default:
	}
	return err
}

func (b *importBatch) rollback() {
	if b.cur != nil {
		b.cur.Rollback()
		b.cur, b.n = nil, 0
		b.pend = ImportSummary{}
	}
}
