package knowledge

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mattn/go-sqlite3"
)

// The article index is a full-text index over whole articles, which Search
// fuses with the passage ranking: a passage deep in a long story is found
// by what the whole story says, not only by its own 220 words. On the
// RealTime QA development weeks it took Hits@10 with --as-of from 0.938
// to 0.956 and MRR@10 from 0.774 to 0.779, and lowered neither on any
// half or quarter of the weeks; without --as-of, MRR@10 rose from 0.746
// to 0.750, though one half and one quarter fell by up to 0.005 (see
// MEASUREMENTS.md).
//
// It lives in a second SQLite file beside the store (ArticleIndexPath), a
// contentless FTS5 table with a writer of its own, so that an import
// writes the two indexes on two cores at once: in the store's own file,
// the one writer wrote both, and import fell to 0.37-0.45 of bare FTS5
// inserts, under the 0.5 the project holds it to. Search asks it on a
// goroutine of its own while it asks the passage index; the two queries
// overlap only because SQLite's memory statistics are off
// (sqlite_config.go), without which a search cost about their sum.
//
// It is derived data. It holds no text of its own and is written only
// after the store commits, from the store's change log: a marker records
// the last change it reflects, and catchUp applies the changes after it.
// So it is never ahead of the store; after a crash, or a copy of the store
// made without it, it catches up at the next Open; if it describes a
// history the store does not have (a backup restored over a newer store),
// it is emptied and rebuilt; and a damaged file is deleted and rebuilt.
// Deleting the file is always safe.
type articleIndex struct {
	path   string
	writer *sql.DB // one connection: every catch-up is one writer's work
	reader *sql.DB
	// mu makes one catch-up wait for another in this process, which
	// spares the writer's queue; other processes wait on the file's lock.
	mu sync.Mutex
}

// ArticleIndexPath is the file beside a store that holds its article
// index.
func ArticleIndexPath(storePath string) string { return storePath + "-articles" }

const articleIndexSchema = `
CREATE TABLE IF NOT EXISTS synced (
	id         INTEGER PRIMARY KEY CHECK (id = 1),
	change_id  INTEGER NOT NULL,  -- the last change of the store reflected here
	article_id INTEGER NOT NULL,  -- that change's article and time, to tell
	at         TEXT NOT NULL      -- the store's history from another's
);
-- A marker without its index (a table dropped by hand) would say an empty
-- index is up to date.
DELETE FROM synced WHERE NOT EXISTS (SELECT 1 FROM sqlite_schema WHERE name = 'articles_fts');
CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5 (
	title,
	body,
	content = '',
	contentless_delete = 1,
	tokenize = 'porter unicode61 remove_diacritics 2'
);`

func openArticleIndex(ctx context.Context, storePath string) (*articleIndex, error) {
	x := &articleIndex{path: ArticleIndexPath(storePath)}
	const common = "_busy_timeout=10000&_journal_mode=WAL&_synchronous=NORMAL"
	w, err := sql.Open("sqlite3", dsn(x.path, common+"&_txlock=immediate&_stmt_cache_size=8"))
	if err != nil {
		return nil, fmt.Errorf("open article index %s: %w", x.path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	if _, err := w.ExecContext(ctx, articleIndexSchema); err != nil {
		w.Close()
		return nil, fmt.Errorf("open article index %s: %w", x.path, err)
	}
	r, err := sql.Open("sqlite3", dsn(x.path, common+"&_query_only=true&_stmt_cache_size=4&_cache_size=-8192"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open article index %s for reading: %w", x.path, err)
	}
	r.SetMaxOpenConns(8)
	x.writer, x.reader = w, r
	return x, nil
}

// openArticles opens the store's article index and brings it up to date.
// The index is derived data, so a file SQLite reports damaged, or that is
// no database at all, is deleted and built again from the store, with a
// warning, rather than keeping the store from opening. Other errors (a
// lock held too long, a full disk) are returned: the file may be in use by
// another process and is not Parley's to delete then.
//
// Building the index for a large store takes a while (92 s for a million
// passages, from a 3.3 GB store), so a catch-up of more than one page says so when it
// starts, and how far it has come every progressEvery, rather than leave
// an operator looking at a silent start-up.
func (s *Store) openArticles(ctx context.Context) error {
	start := time.Now()
	var said time.Time
	progress := func(applied int) {
		switch {
		case said.IsZero():
			// A warning, so that the command line, which shows only
			// warnings, says why it is slow to start.
			s.log.Warn("bringing the article index up to date; on a large store this takes a minute or more", "file", ArticleIndexPath(s.path))
		case time.Since(said) >= progressEvery:
			s.log.Info("still bringing the article index up to date", "changes", applied, "took", time.Since(start).Round(time.Second))
		default:
			return
		}
		said = time.Now()
	}
	x, n, err := openCaughtUp(ctx, s.path, s.reader, progress)
	if damaged(err) {
		s.log.Warn("the article index is damaged; building it again", "file", ArticleIndexPath(s.path), "err", err)
		if err = removeArticleIndex(s.path); err == nil {
			x, n, err = openCaughtUp(ctx, s.path, s.reader, progress)
		}
	}
	if err != nil {
		return err
	}
	if n > 0 {
		// A new or stale index file: say why start-up took longer.
		s.log.Info("article index brought up to date", "changes", n, "took", time.Since(start).Round(time.Millisecond))
	}
	s.articles = x
	return nil
}

// progressEvery is how often a long catch-up at Open logs how far it has
// come.
const progressEvery = 30 * time.Second

// openCaughtUp opens the article index of the store at storePath and
// catches it up from src, calling progress as catchUp does.
func openCaughtUp(ctx context.Context, storePath string, src *sql.DB, progress func(applied int)) (*articleIndex, int, error) {
	x, err := openArticleIndex(ctx, storePath)
	if err != nil {
		return nil, 0, err
	}
	n, err := x.catchUp(ctx, src, progress)
	if err != nil {
		x.close()
		return nil, 0, err
	}
	return x, n, nil
}

// damaged reports whether err is SQLite finding a file corrupt or not a
// database.
func damaged(err error) bool {
	var e sqlite3.Error
	return errors.As(err, &e) && (e.Code == sqlite3.ErrCorrupt || e.Code == sqlite3.ErrNotADB)
}

// removeArticleIndex deletes the article index of the store at storePath,
// with its write-ahead log.
func removeArticleIndex(storePath string) error {
	var errs []error
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(ArticleIndexPath(storePath) + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (x *articleIndex) close() error {
	return errors.Join(x.reader.Close(), x.writer.Close())
}

// catchUpPage is how many of the store's changes one catch-up transaction
// applies: a rebuild of a large store commits as it goes, as an import
// does, rather than holding every article's index entries in one
// transaction.
const catchUpPage = 500

// catchUp brings the index up to the store's last committed change,
// reading from src (the store's readers). It returns the number of
// changes applied. progress, if not nil, is called with the number applied
// so far after each full page, when more may follow.
func (x *articleIndex) catchUp(ctx context.Context, src *sql.DB, progress func(applied int)) (int, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	applied := 0
	for {
		n, err := x.catchUpPage(ctx, src)
		applied += n
		if err != nil {
			return applied, fmt.Errorf("article index: %w", err)
		}
		if n < catchUpPage {
			return applied, nil
		}
		if progress != nil {
			progress(applied)
		}
	}
}

// catchUpPage applies up to catchUpPage changes in one transaction of the
// index, reading the marker inside it so that two processes catching up
// at once take turns rather than apply the same changes twice.
func (x *articleIndex) catchUpPage(ctx context.Context, src *sql.DB) (int, error) {
	tx, err := x.writer.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	after, err := x.checkedMarker(ctx, tx, src)
	if err != nil {
		return 0, err
	}
	changes, err := src.QueryContext(ctx, `SELECT id, article_id, action, at FROM changes WHERE id > ? ORDER BY id LIMIT ?`, after, catchUpPage)
	if err != nil {
		return 0, err
	}
	var ids []int64
	// An article first added after the marker cannot be in the index
	// yet, so it needs no check for an entry to replace: a plain insert
	// took import from 0.44-0.55 of bare inserts to 0.52-0.59.
	added := make(map[int64]bool)
	var last struct {
		id, article int64
		action, at  string
	}
	n := 0
	for changes.Next() {
		if err := changes.Scan(&last.id, &last.article, &last.action, &last.at); err != nil {
			changes.Close()
			return 0, err
		}
		ids = append(ids, last.article)
		if last.action == "add" {
			added[last.article] = true
		}
		n++
	}
	changes.Close()
	if err := changes.Err(); err != nil {
		return 0, err
	}
	if n == 0 {
		return 0, nil
	}
	if after == 0 {
		// Empty, or just emptied: every article is new to it.
		clear(added)
		for _, id := range ids {
			added[id] = true
		}
	}
	if err := applyArticles(ctx, tx, src, ids, added); err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO synced (id, change_id, article_id, at) VALUES (1, ?, ?, ?)`,
		last.id, last.article, last.at); err != nil {
		return 0, err
	}
	return n, tx.Commit()
}

// checkedMarker returns the last change the index reflects, after checking
// that the store's change of that number is the same change. If it is not,
// the index was built from another history of the store, and it is
// emptied inside tx to be built again.
func (x *articleIndex) checkedMarker(ctx context.Context, tx *sql.Tx, src *sql.DB) (int64, error) {
	var change, article int64
	var at string
	err := tx.QueryRowContext(ctx, `SELECT change_id, article_id, at FROM synced WHERE id = 1`).Scan(&change, &article, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	var storeArticle int64
	var storeAt string
	err = src.QueryRowContext(ctx, `SELECT article_id, at FROM changes WHERE id = ?`, change).Scan(&storeArticle, &storeAt)
	if err == nil && storeArticle == article && storeAt == at {
		return change, nil
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	for _, q := range []string{`DELETE FROM synced`, `DROP TABLE articles_fts`, articleIndexSchema} {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// applyArticles makes the index hold each of ids as the store has it now:
// indexed if active, absent if not. Changes are applied by their article's
// present state rather than replayed one by one, so an article added and
// removed since the last catch-up is never indexed at all. The articles in
// fresh are known not to be in the index.
func applyArticles(ctx context.Context, tx *sql.Tx, src *sql.DB, ids []int64, fresh map[int64]bool) error {
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	// An article's text is kept in its passages (migration 0008); the
	// index needs its words, not its paragraphs.
	rows, err := src.QueryContext(ctx, `SELECT a.id, a.status = 'active', a.title,
		(SELECT group_concat(p.body, ' ' ORDER BY p.seq) FROM passages p WHERE p.article_id = a.id)
		FROM articles a WHERE a.id IN (SELECT value FROM json_each(?)) ORDER BY a.id`, string(list))
	if err != nil {
		return err
	}
	defer rows.Close()
	var capper repeatCapper
	for rows.Next() {
		var id int64
		var active bool
		var title, body string
		if err := rows.Scan(&id, &active, &title, &body); err != nil {
			return err
		}
		// A contentless-delete table replaces a row by its rowid only
		// when asked to: a plain INSERT of a rowid it holds would index
		// the article twice.
		switch {
		case active && fresh[id]:
			_, err = tx.ExecContext(ctx, `INSERT INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)`, id, title, capper.capRepeats(body, maxRepeats))
		case active:
			_, err = tx.ExecContext(ctx, `INSERT OR REPLACE INTO articles_fts (rowid, title, body) VALUES (?, ?, ?)`, id, title, capper.capRepeats(body, maxRepeats))
		default:
			_, err = tx.ExecContext(ctx, `DELETE FROM articles_fts WHERE rowid = ?`, id)
		}
		if err != nil {
			return err
		}
	}
	return rows.Err()
}

// articlePool is how many articles the article index ranks for a search.
// Fusion only reorders the passage candidates (see fuseArticles), and
// their articles are nearly always among these.
const articlePool = 50

// search returns the articlePool best articles for match by BM25, best
// first, as results with only ArticleID and Score set.
func (x *articleIndex) search(ctx context.Context, match string) ([]Result, error) {
	rows, err := x.reader.QueryContext(ctx, `SELECT rowid, bm25(articles_fts, ?, 1.0) AS score
		FROM articles_fts WHERE articles_fts MATCH ? ORDER BY score LIMIT ?`, titleWeight, match, articlePool)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Result
	var r Result
	for rows.Next() {
		if err := rows.Scan(&r.ArticleID, &r.Score); err != nil {
			return nil, err
		}
		r.Score = -r.Score
		out = append(out, r)
	}
	return out, rows.Err()
}

// integrityCheck runs FTS5's own check of the article index.
func (x *articleIndex) integrityCheck(ctx context.Context) error {
	if _, err := x.writer.ExecContext(ctx, `INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		return fmt.Errorf("article index %s (delete it to have it rebuilt): %w", x.path, err)
	}
	return nil
}

// Fusion settings, chosen on the RealTime QA development weeks with
// --as-of, before the query changes of 28 November 2026: weights of 0.15
// to 0.25 and k from 30 to 100 gave MRR@10 0.765-0.770 on all sixteen
// weeks (Hits@10 0.956, 0.947 at 0.15), against 0.764 and 0.929 without; 0.3 put the whole-article ranking's own first
// articles too high (0.755). Combining the two scores instead of their
// ranks (each divided by its best) did worse at every share (0.748-0.757),
// as did weighing a passage by its article's score (0.743-0.755), and
// ranking only the candidates' articles, which would make the article
// query cheaper (0.760-0.766).
const (
	articleWeight = 0.2
	fusionK       = 60
)

// syncArticles catches the article index up with the store after a write.
// The write has committed whatever happens here, so a failure is logged,
// not returned: the next catch-up (the next write, or the next Open)
// applies what this one could not, and until then search ranks without
// the article's whole-text evidence.
func (s *Store) syncArticles(ctx context.Context) {
	if _, err := s.articles.catchUp(context.WithoutCancel(ctx), s.reader, nil); err != nil {
		s.log.Warn("the article index is behind the store", "err", err)
	}
}

// fuseArticles reorders cands (date-weighted, best first) by reciprocal
// rank fusion with arts, the article index's ranking, which it weighs by
// the same date prior. A passage's share is 1/(k+its rank); its article's
// rank among arts adds articleWeight times as much. Articles the passage
// search did not find are not added: at this weight one would rank below
// every candidate anyway.
func (s *Store) fuseArticles(ctx context.Context, cands, arts []Result, weight func(Result) float64) error {
	if len(arts) == 0 || len(cands) < 2 {
		return nil
	}
	if err := s.cite(ctx, arts); err != nil {
		return err
	}
	for i := range arts {
		arts[i].Score *= weight(arts[i])
	}
	sort.Slice(arts, func(i, j int) bool {
		if arts[i].Score != arts[j].Score {
			return arts[i].Score > arts[j].Score
		}
		return arts[i].ArticleID < arts[j].ArticleID
	})
	rank := make(map[int64]int, len(arts))
	for i, a := range arts {
		if _, ok := rank[a.ArticleID]; !ok {
			rank[a.ArticleID] = i + 1
		}
	}
	for i := range cands {
		score := 1 / float64(fusionK+i+1)
		if r, ok := rank[cands[i].ArticleID]; ok {
			score += articleWeight / float64(fusionK+r)
		}
		cands[i].Score = score
	}
	sortByScore(cands)
	return nil
}

// maxRepeats is how many times the article index counts a word in one
// article. BM25 already counts repeats less and less; past the third they
// add little to the score and much to the index, whose size is what a
// query of it costs.
const maxRepeats = 3

// repeatCapper drops the repeats of words past the nth from texts, one
// text after another, and drops Terms' stop words, which no search asks
// the article index for: together they leave it 44% of the words of the
// RealTime QA development weeks' articles to index (60% of the generated
// articles of the benchmarks, whose words repeat less). It runs on every
// article an import writes, so it counts words by a 64-bit hash of their
// lower-cased characters in a table of its own, reused from text to text,
// rather than by lower-cased copies in a map, which took a quarter of the
// article index's time in a profile of BenchmarkImport; building the
// index for that benchmark's 3,000 articles fell from 0.69-0.72 s to
// 0.50-0.58 s (BenchmarkArticleIndexBuild). Two words of one article
// sharing a hash would share a count, which at a few hundred distinct
// words an article is too unlikely to matter, and would only drop a
// repeat early.
type repeatCapper struct {
	slots []capSlot // open addressing by hash; the length is a power of two
	used  int       // slots of the current text
	gen   uint32    // the current text's mark; other slots are empty
	out   []byte
}

type capSlot struct {
	hash       uint64
	gen, count uint32
}

// capRepeats returns text's words (runs of letters and digits), in order
// and separated by spaces, without stop words and without each word's
// occurrences past the nth, words compared lower-cased.
func (c *repeatCapper) capRepeats(text string, n int) string {
	c.gen++
	c.used = 0
	if c.gen == 0 { // wrapped: forget the old marks
		clear(c.slots)
		c.gen = 1
	}
	for _, h := range stopWordHashes {
		c.add(h, uint32(n))
	}
	out := c.out[:0]
	for i := 0; i < len(text); {
		start := i
		h := uint64(fnvOffset)
		for i < len(text) {
			if b := text[i]; b < utf8.RuneSelf {
				if !asciiWord[b] {
					break
				}
				h = (h ^ uint64(asciiLower[b])) * fnvPrime
				i++
				continue
			}
			r, size := utf8.DecodeRuneInString(text[i:])
			if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
				break
			}
			h = (h ^ uint64(unicode.ToLower(r))) * fnvPrime
			i += size
		}
		if i == start { // not a word's character: skip it
			if text[i] < utf8.RuneSelf {
				i++
			} else {
				_, size := utf8.DecodeRuneInString(text[i:])
				i += size
			}
			continue
		}
		if c.add(h, 1) > uint32(n) {
			continue
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, text[start:i]...)
	}
	c.out = out
	return string(out)
}

// add counts by more occurrences of the word hashed h in the current text
// and returns its count.
func (c *repeatCapper) add(h uint64, by uint32) uint32 {
	if 2*(c.used+1) > len(c.slots) {
		c.grow()
	}
	mask := uint64(len(c.slots) - 1)
	for i := (h ^ h>>32) & mask; ; i = (i + 1) & mask {
		s := &c.slots[i]
		if s.gen != c.gen {
			*s = capSlot{hash: h, gen: c.gen, count: by}
			c.used++
			return by
		}
		if s.hash == h {
			s.count += by
			return s.count
		}
	}
}

func (c *repeatCapper) grow() {
	old := c.slots
	c.slots = make([]capSlot, max(1024, 2*len(old)))
	c.used = 0
	for _, s := range old {
		if s.gen == c.gen {
			c.add(s.hash, s.count)
		}
	}
}

// wordHash is the hash repeatCapper gives word.
func wordHash(word string) uint64 {
	h := uint64(fnvOffset)
	for _, r := range word {
		if r < utf8.RuneSelf {
			h = (h ^ uint64(asciiLower[r])) * fnvPrime
		} else {
			h = (h ^ uint64(unicode.ToLower(r))) * fnvPrime
		}
	}
	return h
}

var stopWordHashes = func() []uint64 {
	var hs []uint64
	for w := range stopWords {
		hs = append(hs, wordHash(w))
	}
	return hs
}()

// FNV-1a's 64-bit constants.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// asciiWord tells the ASCII letters and digits; asciiLower lower-cases
// ASCII.
var asciiWord, asciiLower = func() (word [utf8.RuneSelf]bool, lower [utf8.RuneSelf]byte) {
	for b := range utf8.RuneSelf {
		c := byte(b)
		word[b] = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
		lower[b] = c
		if 'A' <= c && c <= 'Z' {
			lower[b] = c + 'a' - 'A'
		}
	}
	return word, lower
}()
