package knowledge

import (
	"context"
	"path/filepath"
	"testing"
)

// SQLite keeps no memory statistics, and so takes no process-wide mutex
// around its allocations, even after a store has been written and searched.
func TestSQLiteKeepsNoMemoryStatistics(t *testing.T) {
	if memstatusResult != 0 {
		t.Fatalf("sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) returned %d", memstatusResult)
	}
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Add(ctx, NewArticle{Title: "Talks resume in Doha", Text: "Negotiators met again on Tuesday to discuss the second phase.", AddedBy: "test"}); err != nil {
		t.Fatal(err)
	}
	if res, err := s.Search(ctx, "When did negotiators meet?", SearchOptions{}); err != nil || len(res) == 0 {
		t.Fatalf("search: %d results, %v", len(res), err)
	}
	if used := sqliteMemoryUsed(); used != 0 {
		t.Errorf("SQLite counts %d bytes in use; its statistics are on", used)
	}
}
