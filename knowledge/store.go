package knowledge

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	// The driver registers itself as "sqlite3"; built with the
	// sqlite_fts5 tag it includes FTS5.
	_ "github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite store of articles and passages. It is safe for
// concurrent use: reads go through a pool of read-only connections and every
// write through a single writer connection, so writers queue in Go instead of
// failing with "database is locked".
type Store struct {
	path   string
	writer *sql.DB
	reader *sql.DB
	now    func() time.Time
	log    *slog.Logger
	embed  *embedState // nil: full-text search only
	// passageWords is the size articles are cut to (Chunk's target).
	passageWords int
	// cites keeps search results' article fields (see cite).
	cites citeCache
	// articles is the whole-article index in its own file (articleIndex).
	articles *articleIndex
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for "added at" and "removed at" times.
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// WithPassageWords sets the size, in words, that articles added from now on
// are cut into (DefaultPassageWords when zero or less). It is for
// measuring, as `parley eval rtqa --passage-words` does: passages already
// stored keep their size.
func WithPassageWords(n int) Option { return func(s *Store) { s.passageWords = n } }

// Open opens (creating if needed) the store at path and brings its schema up
// to date. It fails with ErrNoFTS5 when the SQLite driver lacks FTS5.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	s := &Store{path: path, now: time.Now, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(s)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("create store directory: %w", err)
		}
	}

	// One writer connection: SQLite allows one writer at a time anyway, and
	// queueing in database/sql is kinder than SQLITE_BUSY. _txlock=immediate
	// makes every write transaction BEGIN IMMEDIATE, taking the write lock
	// up front so a read-then-write transaction cannot deadlock with another.
	// WAL lets readers run while the writer writes. synchronous=NORMAL is
	// safe in WAL mode: a crash of the process loses nothing committed; only
	// a power cut can lose the last transactions, never corrupt the file.
	// The busy timeout covers other processes (a CLI import while the bot
	// runs). The writer keeps its prepared statements (_stmt_cache_size):
	// adding an article runs the same few inserts every time, and
	// preparing them afresh was a tenth of an import's time.
	const common = "_busy_timeout=10000&_foreign_keys=on&_journal_mode=WAL&_synchronous=NORMAL"
	w, err := sql.Open("sqlite3", dsn(path, common+"&_txlock=immediate&_stmt_cache_size=32"))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s.writer = w

	if err := checkFTS5(ctx, w); err != nil {
		w.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("migrate store %s: %w", path, err)
	}

	// Readers keep their prepared statements too, and a page cache of
	// 8 MiB each rather than SQLite's 2: search reads the texts of its
	// results from all over the file, and with the small default cache
	// those pages were read again from the operating system on every
	// search. Together they took search from 1.53-1.67 to 1.42-1.46 times
	// the bare FTS5 query on four of the RealTime QA weeks and from
	// 1.37-1.43 to 1.28-1.33 on eight, where the query itself is cheap and
	// Search's fixed cost shows. 32 MiB was no faster and took a search's
	// resident memory on a 5 GB store from 28 to 60 MB (8 MiB: 35 MB).
	r, err := sql.Open("sqlite3", dsn(path, common+"&_query_only=true&_stmt_cache_size=16&_cache_size=-8192"))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s for reading: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	s.reader = r

	if err := s.openArticles(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn builds a go-sqlite3 data source name. The path is escaped so that a
// '?' or '#' in a directory name cannot be read as URI parameters.
func dsn(path, params string) string {
	esc := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + esc + "?" + params
}

// Close closes the store's connections.
func (s *Store) Close() error {
	var err error
	if s.articles != nil {
		err = s.articles.close()
	}
	return errors.Join(s.reader.Close(), s.writer.Close(), err)
}

// Path returns the store's file path.
func (s *Store) Path() string { return s.path }

func checkFTS5(ctx context.Context, db *sql.DB) error {
	var on bool
	err := db.QueryRowContext(ctx, `SELECT sqlite_compileoption_used('ENABLE_FTS5')`).Scan(&on)
	if err != nil {
		return fmt.Errorf("check SQLite for FTS5: %w", err)
	}
	if !on {
		return ErrNoFTS5
	}
	return nil
}

// migrate applies the embedded migrations that are not yet recorded, each in
// its own transaction, in file-name order.
func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.writer.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL
	)`); err != nil {
		return err
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := filepath.Base(name)
		version, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
		if err != nil {
			return fmt.Errorf("migration %s: name must start with a number", base)
		}
		if err := s.applyMigration(ctx, version, name); err != nil {
			return fmt.Errorf("migration %s: %w", base, err)
		}
	}
	return nil
}

// migrationSteps are Go steps run after a migration's SQL, in the same
// transaction, for data changes SQL cannot express.
var migrationSteps = map[int]func(context.Context, *sql.Tx) error{
	6: fillLeads,
}

// rewritingMigrations rewrite a store's data, which takes a while on a
// large store (0008 took 42 s on a million passages), so Open says why
// start-up is slow that once.
var rewritingMigrations = map[int]bool{6: true, 8: true}

func (s *Store) applyMigration(ctx context.Context, version int, name string) error {
	tx, err := s.writer.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if rewritingMigrations[version] {
		var passages int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM passages`).Scan(&passages); err != nil {
			return err
		}
		if passages > 0 {
			s.log.Warn("upgrading the store; this happens once and may take minutes on a large store",
				"migration", filepath.Base(name), "passages", passages)
		}
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if step := migrationSteps[version]; step != nil {
		if err := step(ctx, tx); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		version, filepath.Base(name), formatTime(s.now())); err != nil {
		return err
	}
	return tx.Commit()
}

// IntegrityCheck runs SQLite's integrity check and FTS5's own, returning an
// error describing the first problem found.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	rows, err := s.writer.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	var problems []string
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			rows.Close()
			return fmt.Errorf("integrity check: %w", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	rows.Close()
	if len(problems) > 0 {
		return fmt.Errorf("integrity check: %s", strings.Join(problems, "; "))
	}
	if _, err := s.writer.ExecContext(ctx, `INSERT INTO passages_fts (passages_fts, rank) VALUES ('integrity-check', 1)`); err != nil {
		return fmt.Errorf("full-text index integrity check: %w", err)
	}
	return s.articles.integrityCheck(ctx)
}

// Backup writes a consistent copy of the store to path with VACUUM INTO,
// which is safe while other connections read and write.
func (s *Store) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("backup to %s: %w: file exists", path, ErrInvalid)
	}
	// A connection of its own: the readers are query-only, and the writer
	// should stay free for writes while the copy is made.
	db, err := sql.Open("sqlite3", dsn(s.path, "_busy_timeout=10000"))
	if err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

const timeLayout = time.RFC3339Nano

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

func parseTime(s sql.NullString) time.Time {
	if !s.Valid || s.String == "" {
		return time.Time{}
	}
	t, err := time.Parse(timeLayout, s.String)
	if err != nil {
		return time.Time{}
	}
	return t
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
