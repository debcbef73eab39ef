package knowledge_test

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"parley/knowledge"
)

// TestLeadMigrationUpgradesAStore turns a store back into what it was
// before migration 0006 (no leads, the old view and index), opens it again
// and checks that the upgrade fills the leads, re-indexes consistently and
// says why start-up is slow.
func TestLeadMigrationUpgradesAStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := knowledge.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	// Two paragraphs of 200 words each: two passages, the second of
	// which never names Doha.
	para := func(w string) string { return strings.TrimSpace(strings.Repeat(w+" ", 200)) }
	text := "Envoys gathered in Doha " + para("talks") + "\n\n" + para("schedule")
	if _, err := s.Add(ctx, knowledge.NewArticle{Title: "Talks", Text: text, Origin: knowledge.OriginText, AddedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	rewind(t, path, append(undoTextInPassages, []string{
		`DELETE FROM schema_migrations WHERE version = 6`,
		`DROP VIEW passage_docs`,
		`ALTER TABLE articles DROP COLUMN lead`,
		`CREATE VIEW passage_docs (id, title, body) AS SELECT p.id, a.title, p.body
			FROM passages p JOIN articles a ON a.id = p.article_id WHERE a.status = 'active'`,
		`INSERT INTO passages_fts (passages_fts) VALUES ('rebuild')`,
	}...))
	s = reopenAnnounced(t, path, "0006_leads.sql")
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
	res, err := s.Search(ctx, "Doha schedule", knowledge.SearchOptions{})
	if err != nil || len(res) != 2 {
		t.Fatalf("search: %d results, %v; want both passages", len(res), err)
	}
	for _, r := range res {
		if r.Seq == 1 && !strings.Contains(r.Text, "schedule") {
			t.Errorf("second passage: %q", r.Text)
		}
	}
	// The second passage is found by "Doha" alone, through the lead.
	res, err = s.Search(ctx, "Doha", knowledge.SearchOptions{})
	if err != nil || len(res) != 2 {
		t.Errorf("Doha: %d results, %v; want the second passage too, through its lead", len(res), err)
	}
}

// undoTextInPassages turns a store back into what it was before migration
// 0008: each article's text in a column of its own as well as in its
// passages.
var undoTextInPassages = []string{
	`DELETE FROM schema_migrations WHERE version = 8`,
	`ALTER TABLE articles ADD COLUMN body TEXT NOT NULL DEFAULT ''`,
	`UPDATE articles SET body = (SELECT group_concat(body, char(10) || char(10) ORDER BY seq)
		FROM passages WHERE article_id = articles.id)`,
}

// TestTextInPassagesMigrationUpgradesAStore opens a store as it was before
// migration 0008 and checks that the upgrade drops the second copy of each
// article's text and still gives it whole.
func TestTextInPassagesMigrationUpgradesAStore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := knowledge.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	para := func(w string) string { return strings.TrimSpace(strings.Repeat(w+" ", 150)) }
	text := "Envoys gathered in Doha.\n\n" + para("talks") + "\n\n" + para("schedule") + "\n\n" + para("release")
	res, err := s.Add(ctx, knowledge.NewArticle{Title: "Talks", Text: text, Origin: knowledge.OriginText, AddedBy: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Article.Passages < 2 {
		t.Fatalf("%d passages; the test wants several", res.Article.Passages)
	}
	s.Close()

	rewind(t, path, undoTextInPassages)
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var old string
	if err := db.QueryRow(`SELECT body FROM articles WHERE id = ?`, res.Article.ID).Scan(&old); err != nil || old != text {
		t.Fatalf("the store before the upgrade holds %q, %v; want the text", old, err)
	}

	s = reopenAnnounced(t, path, "0008_article_text_in_passages.sql")
	a, err := s.Get(ctx, res.Article.ID)
	if err != nil || a.Text != text {
		t.Fatalf("after the upgrade the article reads %q, %v; want %q", a.Text, err, text)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Errorf("after the upgrade: %v", err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_info('articles') WHERE name = 'body'`).Scan(&n); err != nil || n != 0 {
		t.Errorf("articles still has a body column (%d, %v)", n, err)
	}
}

// rewind runs stmts on the store at path, outside Parley, to make it what
// an older version left.
func rewind(t *testing.T, path string, stmts []string) {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range stmts {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
}

// reopenAnnounced opens the store at path and checks that Open announced
// the upgrade by migration.
func reopenAnnounced(t *testing.T, path, migration string) *knowledge.Store {
	t.Helper()
	var logs bytes.Buffer
	s, err := knowledge.Open(context.Background(), path, knowledge.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	if !strings.Contains(logs.String(), "upgrading the store") || !strings.Contains(logs.String(), migration) {
		t.Errorf("the upgrade by %s was not announced:\n%s", migration, logs.String())
	}
	return s
}
