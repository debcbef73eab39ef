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

	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		`DELETE FROM schema_migrations WHERE version = 6`,
		`DROP VIEW passage_docs`,
		`ALTER TABLE articles DROP COLUMN lead`,
		`CREATE VIEW passage_docs (id, title, body) AS SELECT p.id, a.title, p.body
			FROM passages p JOIN articles a ON a.id = p.article_id WHERE a.status = 'active'`,
		`INSERT INTO passages_fts (passages_fts) VALUES ('rebuild')`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	db.Close()

	var logs bytes.Buffer
	s, err = knowledge.Open(ctx, path, knowledge.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s.Close()
	if !strings.Contains(logs.String(), "upgrading the store") || !strings.Contains(logs.String(), "0006_leads.sql") {
		t.Errorf("the upgrade was not announced:\n%s", logs.String())
	}
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
