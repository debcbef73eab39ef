package knowledge

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what one article may hold.
const (
	maxTitleRunes = 500
	maxFieldRunes = 200
	maxBodyBytes  = 2 << 20 // 2 MiB of text is a book, not a news article
)

// Add stores one article whole, in one transaction, with its passages
// indexed. The same text (by content hash) or the same canonical URL already
// in the store is not stored twice: the existing article is returned with
// Created false, and brought back if it had been removed. Add returns an
// error wrapping ErrInvalid for a missing title or text or a bad URL.
func (s *Store) Add(ctx context.Context, in NewArticle) (AddResult, error) {
	a, passages, err := s.prepare(in)
	if err != nil {
		return AddResult{}, err
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	}
	defer tx.Rollback()
	res, err := s.addTx(ctx, tx, a, passages)
	if err != nil {
		return AddResult{}, err
	}
	if err := tx.Commit(); err != nil {
		return AddResult{}, fmt.Errorf("add article: commit: %w", err)
	}
	if res.Created || res.Reactivated {
		s.syncArticles(ctx)
	}
	s.kickEmbedder()
	return res, nil
}

// prepare validates and normalises an article and cuts it into passages.
func (s *Store) prepare(in NewArticle) (Article, []string, error) {
	a := Article{
		Title:       clean(in.Title, maxTitleRunes),
		Outlet:      clean(in.Outlet, maxFieldRunes),
		Author:      clean(in.Author, maxFieldRunes),
		Language:    clean(in.Language, 20),
		PublishedAt: in.PublishedAt,
		AddedBy:     clean(in.AddedBy, maxFieldRunes),
		Origin:      in.Origin,
		Status:      StatusActive,
	}
	if a.Title == "" {
		return a, nil, fmt.Errorf("%w: an article needs a title", ErrInvalid)
	}
	if len(in.Text) > maxBodyBytes {
		return a, nil, fmt.Errorf("%w: the text is over %d MiB", ErrInvalid, maxBodyBytes>>20)
	}
	text, paras := normalize(in.Text)
	a.Text = text
	if a.Text == "" {
		return a, nil, fmt.Errorf("%w: an article needs some text", ErrInvalid)
	}
	if in.URL != "" {
		u, err := CanonicalURL(in.URL)
		if err != nil {
			return a, nil, err
		}
		a.URL = u
	}
	if a.Origin == "" {
		a.Origin = OriginText
	}
	if a.AddedBy == "" {
		a.AddedBy = "unknown"
	}
	a.ContentHash = contentHash(a.Text)
	passages := chunkParagraphs(paras, s.passageWords)
	a.Passages = len(passages)
	return a, passages, nil
}

// writeTx is a write transaction with the statements that adding articles
// repeats, prepared once per transaction rather than once per article.
type writeTx struct {
	*sql.Tx
	insPassage, insIndex *sql.Stmt
}

func (s *Store) beginWrite(ctx context.Context) (*writeTx, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return &writeTx{Tx: tx}, nil
}

// addTx stores a prepared article inside tx. See Add.
func (s *Store) addTx(ctx context.Context, tx *writeTx, a Article, passages []string) (AddResult, error) {
	return s.addLeadTx(ctx, tx, a, Lead(a.Text), passages)
}

// addLeadTx is addTx given the article's Lead, which Import works out on
// its reading goroutine to spare the writing one.
func (s *Store) addLeadTx(ctx context.Context, tx *writeTx, a Article, lead string, passages []string) (AddResult, error) {
	// Insert first, and look for the article already stored only when the
	// insert met its URL or content hash: a new article, the common case
	// in an import, then costs one statement rather than a query and an
	// insert.
	now := s.now()
	a.AddedAt = now
	r, err := tx.ExecContext(ctx, `INSERT INTO articles
		(url, title, outlet, author, published_at, language, added_by, added_at, content_hash, status, origin, lead)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?)
		ON CONFLICT DO NOTHING`,
		nullString(a.URL), a.Title, a.Outlet, a.Author, nullTime(a.PublishedAt), a.Language,
		a.AddedBy, formatTime(now), a.ContentHash, string(a.Origin), lead)
	if err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	} else if n == 0 {
		return s.addExisting(ctx, tx, a, now)
	}
	if a.ID, err = r.LastInsertId(); err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	}
	if err := tx.insertPassages(ctx, a.ID, a.Title, lead, passages); err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	}
	if err := recordChange(ctx, tx.Tx, a.ID, "add", a.AddedBy, now); err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	}
	return AddResult{Article: a, Created: true}, nil
}

// addExisting is addTx for an article whose URL or text is already stored:
// it returns the stored article, brought back if it had been removed.
func (s *Store) addExisting(ctx context.Context, tx *writeTx, a Article, now time.Time) (AddResult, error) {
	existing, err := findDuplicate(ctx, tx.Tx, a)
	if err == nil && existing == 0 {
		err = errors.New("the insert met a duplicate that cannot be found")
	}
	if err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	}
	old, err := getArticle(ctx, tx.Tx, existing)
	if err != nil {
		return AddResult{}, fmt.Errorf("add article: %w", err)
	}
	if old.Status == StatusActive {
		return AddResult{Article: old}, nil
	}
	if err := setStatus(ctx, tx.Tx, old, StatusActive, a.AddedBy, now); err != nil {
		return AddResult{}, fmt.Errorf("restore article %d: %w", old.ID, err)
	}
	old.Status, old.RemovedBy, old.RemovedAt = StatusActive, "", time.Time{}
	return AddResult{Article: old, Reactivated: true}, nil
}

func findDuplicate(ctx context.Context, tx *sql.Tx, a Article) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `SELECT id FROM articles WHERE content_hash = ? OR (url IS NOT NULL AND url = ?) LIMIT 1`,
		a.ContentHash, nullString(a.URL)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// insertPassages stores an article's passages and indexes each with the
// article's title, and after the first with its lead (see indexedTitle).
func (tx *writeTx) insertPassages(ctx context.Context, articleID int64, title, lead string, passages []string) error {
	var err error
	if tx.insPassage == nil {
		if tx.insPassage, err = tx.PrepareContext(ctx, `INSERT INTO passages (article_id, seq, body) VALUES (?, ?, ?)`); err != nil {
			return err
		}
		if tx.insIndex, err = tx.PrepareContext(ctx, `INSERT INTO passages_fts (rowid, title, body) VALUES (?, ?, ?)`); err != nil {
			return err
		}
	}
	for i, p := range passages {
		r, err := tx.insPassage.ExecContext(ctx, articleID, i, p)
		if err != nil {
			return err
		}
		pid, err := r.LastInsertId()
		if err != nil {
			return err
		}
		if _, err := tx.insIndex.ExecContext(ctx, pid, indexedTitle(title, lead, i), p); err != nil {
			return err
		}
	}
	return nil
}

// setStatus moves an article between active and removed, keeping the
// full-text index in step: removed articles have no index entries.
func setStatus(ctx context.Context, tx *sql.Tx, a Article, to Status, actor string, now time.Time) error {
	var err error
	switch to {
	case StatusRemoved:
		// External-content FTS5 deletes need the indexed values; read
		// them from the view before the status change hides them.
		_, err = tx.ExecContext(ctx, `INSERT INTO passages_fts (passages_fts, rowid, title, body)
			SELECT 'delete', id, title, body FROM passage_docs WHERE id IN (SELECT id FROM passages WHERE article_id = ?)`, a.ID)
		if err == nil {
			_, err = tx.ExecContext(ctx, `UPDATE articles SET status = 'removed', removed_by = ?, removed_at = ? WHERE id = ?`,
				actor, formatTime(now), a.ID)
		}
		if err == nil {
			err = recordChange(ctx, tx, a.ID, "remove", actor, now)
		}
	case StatusActive:
		// Active first: the view shows only active articles.
		_, err = tx.ExecContext(ctx, `UPDATE articles SET status = 'active', removed_by = NULL, removed_at = NULL WHERE id = ?`, a.ID)
		if err == nil {
			_, err = tx.ExecContext(ctx, `INSERT INTO passages_fts (rowid, title, body)
				SELECT id, title, body FROM passage_docs WHERE id IN (SELECT id FROM passages WHERE article_id = ?)`, a.ID)
		}
		if err == nil {
			err = recordChange(ctx, tx, a.ID, "restore", actor, now)
		}
	}
	return err
}

func recordChange(ctx context.Context, tx *sql.Tx, articleID int64, action, actor string, at time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO changes (article_id, action, actor, at) VALUES (?, ?, ?, ?)`,
		articleID, action, actor, formatTime(at))
	return err
}

// Remove takes an article out of search, recording who removed it and when.
// The article's row and text stay, so the removal can be listed and undone by
// adding the article again. It returns ErrNotFound for an unknown id and
// the article unchanged if it was already removed.
func (s *Store) Remove(ctx context.Context, id int64, actor string) (Article, error) {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return Article{}, fmt.Errorf("remove article %d: %w", id, err)
	}
	defer tx.Rollback()
	a, err := getArticle(ctx, tx, id)
	if err != nil {
		return Article{}, fmt.Errorf("remove article %d: %w", id, err)
	}
	if a.Status == StatusRemoved {
		return a, nil
	}
	now := s.now()
	if err := setStatus(ctx, tx, a, StatusRemoved, actor, now); err != nil {
		return Article{}, fmt.Errorf("remove article %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return Article{}, fmt.Errorf("remove article %d: commit: %w", id, err)
	}
	s.syncArticles(ctx)
	a.Status, a.RemovedBy, a.RemovedAt = StatusRemoved, actor, now
	return a, nil
}

// Get returns the article with the given id, whatever its status, or an
// error wrapping ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (Article, error) {
	a, err := getArticle(ctx, s.reader, id)
	if err != nil {
		return Article{}, fmt.Errorf("get article %d: %w", id, err)
	}
	return a, nil
}

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const articleColumns = `a.id, a.url, a.title, a.outlet, a.author, a.published_at, a.language, a.added_by,
	a.added_at, a.content_hash, a.status, a.removed_by, a.removed_at, a.origin,
	(SELECT count(*) FROM passages p WHERE p.article_id = a.id)`

type rowScanner interface{ Scan(dest ...any) error }

// scanArticle reads articleColumns, then any extra columns into extra.
func scanArticle(row rowScanner, extra ...any) (Article, error) {
	var a Article
	var url, published, removedBy, removedAt sql.NullString
	var added, status, origin string
	dest := append([]any{&a.ID, &url, &a.Title, &a.Outlet, &a.Author, &published, &a.Language, &a.AddedBy,
		&added, &a.ContentHash, &status, &removedBy, &removedAt, &origin, &a.Passages}, extra...)
	err := row.Scan(dest...)
	if err != nil {
		return Article{}, err
	}
	a.URL = url.String
	a.PublishedAt = parseTime(published)
	a.AddedAt = parseTime(sql.NullString{String: added, Valid: true})
	a.Status = Status(status)
	a.RemovedBy = removedBy.String
	a.RemovedAt = parseTime(removedAt)
	a.Origin = Origin(origin)
	return a, nil
}

func getArticle(ctx context.Context, q querier, id int64) (Article, error) {
	row := q.QueryRowContext(ctx, `SELECT `+articleColumns+` FROM articles a WHERE a.id = ?`, id)
	a, err := scanArticle(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Article{}, ErrNotFound
	}
	if err != nil {
		return Article{}, err
	}
	if a.Text, err = articleText(ctx, q, id); err != nil {
		return Article{}, err
	}
	return a, nil
}

// articleText is the text of article id as the store keeps it: its
// passages, in order, joined by blank lines (migration 0008).
func articleText(ctx context.Context, q querier, id int64) (string, error) {
	rows, err := q.QueryContext(ctx, `SELECT body FROM passages WHERE article_id = ? ORDER BY seq`, id)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return "", err
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(body)
	}
	return b.String(), rows.Err()
}

// ListOptions selects a page of articles.
type ListOptions struct {
	IncludeRemoved bool
	Limit          int // default 20
	Offset         int
}

// List returns a page of articles, newest added first, without their text,
// and the total number that match.
func (s *Store) List(ctx context.Context, opt ListOptions) ([]Article, int, error) {
	if opt.Limit <= 0 {
		opt.Limit = 20
	}
	where := `WHERE a.status = 'active'`
	if opt.IncludeRemoved {
		where = ``
	}
	var total int
	if err := s.reader.QueryRowContext(ctx, `SELECT count(*) FROM articles a `+where).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("list articles: %w", err)
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT `+articleColumns+` FROM articles a `+where+
		` ORDER BY a.id DESC LIMIT ? OFFSET ?`, opt.Limit, opt.Offset)
	if err != nil {
		return nil, 0, fmt.Errorf("list articles: %w", err)
	}
	defer rows.Close()
	var out []Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("list articles: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("list articles: %w", err)
	}
	return out, total, nil
}

// recent returns the n active articles published last (undated ones last),
// without their text.
func (s *Store) recent(ctx context.Context, n int) ([]Article, error) {
	rows, err := s.reader.QueryContext(ctx, `SELECT `+articleColumns+` FROM articles a
		WHERE a.status = 'active' ORDER BY a.published_at IS NULL, a.published_at DESC, a.id DESC LIMIT ?`, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Article
	for rows.Next() {
		a, err := scanArticle(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Changes returns the most recent changes to the store, newest first.
func (s *Store) Changes(ctx context.Context, limit int) ([]Change, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.reader.QueryContext(ctx, `SELECT c.id, c.article_id, c.action, c.actor, c.at, a.title
		FROM changes c JOIN articles a ON a.id = c.article_id ORDER BY c.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list changes: %w", err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		var at string
		if err := rows.Scan(&c.ID, &c.ArticleID, &c.Action, &c.Actor, &at, &c.Title); err != nil {
			return nil, fmt.Errorf("list changes: %w", err)
		}
		c.At = parseTime(sql.NullString{String: at, Valid: true})
		out = append(out, c)
	}
	return out, rows.Err()
}

// Stats summarises the store.
type Stats struct {
	Articles, Removed, Passages int
	Newest                      time.Time // newest published date among active articles
}

// Stats returns counts of active and removed articles and of passages.
func (s *Store) Stats(ctx context.Context) (Stats, error) {
	var st Stats
	var newest sql.NullString
	err := s.reader.QueryRowContext(ctx, `SELECT
		(SELECT count(*) FROM articles WHERE status = 'active'),
		(SELECT count(*) FROM articles WHERE status = 'removed'),
		(SELECT count(*) FROM passages p JOIN articles a ON a.id = p.article_id WHERE a.status = 'active'),
		(SELECT max(published_at) FROM articles WHERE status = 'active')`).
		Scan(&st.Articles, &st.Removed, &st.Passages, &newest)
	if err != nil {
		return Stats{}, fmt.Errorf("store stats: %w", err)
	}
	st.Newest = parseTime(newest)
	return st, nil
}

// CanonicalURL checks that raw is an absolute http or https URL and returns
// it in a canonical form: lower-case scheme and host, no default port, no
// fragment, no tracking parameters (utm_*, fbclid, gclid). It returns an
// error wrapping ErrInvalid otherwise.
func CanonicalURL(raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return "", fmt.Errorf("%w: %q is not a URL", ErrInvalid, raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an http or https URL", ErrInvalid, raw)
	}
	u.Host = strings.ToLower(u.Host)
	if (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443") {
		u.Host = u.Hostname()
	}
	u.Fragment, u.RawFragment, u.User = "", "", nil
	if q := u.Query(); len(q) > 0 {
		for k := range q {
			lk := strings.ToLower(k)
			if strings.HasPrefix(lk, "utm_") || lk == "fbclid" || lk == "gclid" || lk == "mc_cid" || lk == "mc_eid" {
				q.Del(k)
			}
		}
		u.RawQuery = q.Encode()
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// contentHash identifies an article's text regardless of whitespace and
// case, so the same wire story pasted twice is one article. text must be
// normalised as Paragraphs leaves it (words separated by single spaces
// within paragraphs, paragraphs by "\n\n"), which prepare guarantees; the
// hash is then that of the lower-cased words joined by single spaces.
//
// It computes the SHA-256 of strings.ReplaceAll(strings.ToLower(text),
// "\n\n", " ") through a small buffer rather than two copies of the text,
// since an import hashes every article.
func contentHash(text string) string {
	h := sha256.New()
	var buf [4096]byte
	b := buf[:0]
	for i := 0; i < len(text); {
		if len(b) > len(buf)-utf8.UTFMax {
			h.Write(b)
			b = b[:0]
		}
		switch c := text[i]; {
		case c == '\n' && i+1 < len(text) && text[i+1] == '\n':
			b = append(b, ' ')
			i += 2
		case c < utf8.RuneSelf:
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
			i++
		default:
			// What strings.ToLower does outside ASCII (an invalid byte
			// becomes U+FFFD there too).
			r, n := utf8.DecodeRuneInString(text[i:])
			b = utf8.AppendRune(b, unicode.ToLower(r))
			i += n
		}
	}
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// clean collapses whitespace, drops invalid UTF-8 and cuts s to max runes.
func clean(s string, max int) string {
	s = strings.Join(strings.Fields(strings.ToValidUTF8(s, "")), " ")
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

// ParseDate reads a publication date given as RFC 3339, "YYYY-MM-DD",
// "YYYY/MM/DD" or "YYYY-MM-DD HH:MM:SS". An empty string is the zero time.
func ParseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02", "2006/01/02", "2006-01-02 15:04:05", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: date %q is not RFC 3339 or YYYY-MM-DD", ErrInvalid, s)
}
