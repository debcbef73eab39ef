// Package knowledge holds Parley's domain: the curated articles, their
// passages, the SQLite store that keeps them, ingestion, retrieval and the
// answer pipeline. It knows nothing of Discord; front ends (the CLI and the
// bot) call it and turn its errors into words for their users.
package knowledge

import (
	"errors"
	"time"
)

// Sentinel errors. Callers test for them with errors.Is; the store and the
// ingesters wrap them with details.
var (
	// ErrNotFound means no article has the requested id.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the input was rejected before touching the store:
	// a missing title, an empty text, a malformed date.
	ErrInvalid = errors.New("invalid input")
	// ErrNoFTS5 means the SQLite driver was built without FTS5.
	ErrNoFTS5 = errors.New("SQLite was built without FTS5: build and run with `-tags sqlite_fts5` (for example `go run -tags sqlite_fts5 ./cmd/parley`)")
)

// Status says whether an article takes part in search.
type Status string

// Article statuses. Removal is recorded, never a silent delete, so a
// moderator can see what was taken out, by whom and when.
const (
	StatusActive  Status = "active"
	StatusRemoved Status = "removed"
)

// Origin says how an article reached the store.
type Origin string

// Article origins.
const (
	OriginURL     Origin = "url"     // fetched from a moderator-supplied URL
	OriginText    Origin = "text"    // pasted text or an uploaded file
	OriginImport  Origin = "import"  // bulk JSON Lines import
	OriginStarter Origin = "starter" // the project-written briefs a new store starts with
)

// Article is one curated news article.
type Article struct {
	ID          int64
	URL         string // canonical URL; "" when the article came as text without one
	Title       string
	Outlet      string
	Author      string
	PublishedAt time.Time // zero when unknown
	Language    string
	AddedBy     string
	AddedAt     time.Time
	ContentHash string
	Status      Status
	RemovedBy   string
	RemovedAt   time.Time
	Origin      Origin
	Text        string // the body, paragraphs separated by blank lines; read back, the join of its passages
	Passages    int    // number of passages the body was cut into
}

// NewArticle is what a caller supplies to add an article. Title and Text are
// required; everything else is optional.
type NewArticle struct {
	URL         string
	Title       string
	Outlet      string
	Author      string
	PublishedAt time.Time
	Language    string
	Text        string
	Origin      Origin
	AddedBy     string // who is adding it, e.g. "cli:alice" or "discord:1234"
}

// AddResult reports the outcome of adding one article.
type AddResult struct {
	Article Article
	// Created is false when the same text or the same URL was already in the
	// store; Article is then the existing one (reactivated if it had been
	// removed).
	Created bool
	// Reactivated is true when the existing article had been removed and
	// adding it again brought it back.
	Reactivated bool
}

// Result is one ranked passage returned by Search.
type Result struct {
	ArticleID   int64
	PassageID   int64
	Seq         int // position of the passage in its article, from 0
	URL         string
	Title       string
	Outlet      string
	PublishedAt time.Time
	Origin      Origin
	Score       float64 // higher is better; comparable only within one search
	Text        string
}

// Change is one recorded change to the store: who did what to which article.
type Change struct {
	ID        int64
	ArticleID int64
	Action    string // "add", "remove", "restore"
	Actor     string
	At        time.Time
	Title     string
}
