package knowledge

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestBackupDuringImport takes a backup while an import is writing: the
// copy must pass both integrity checks and hold only whole articles. A
// backup taken after the import must search exactly like the store.
func TestBackupDuringImport(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, filepath.Join(dir, "live.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	r, w, _ := os.Pipe()
	go func() {
		newSynthCorpus(11).writeJSONL(w, 12_000)
		w.Close()
	}()
	done := make(chan error, 1)
	go func() {
		_, err := s.Import(ctx, r, ImportOptions{BatchSize: 50})
		done <- err
	}()

	// Back up as soon as some articles are in, while the import goes on.
	mid := filepath.Join(dir, "mid.db")
	for {
		st, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Articles >= 200 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := s.Backup(ctx, mid); err != nil {
		t.Fatalf("backup during import: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("import: %v", err)
	}
	checkWhole(t, mid)

	final := filepath.Join(dir, "final.db")
	if err := s.Backup(ctx, final); err != nil {
		t.Fatal(err)
	}
	b, err := Open(ctx, final)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	c := newSynthCorpus(5)
	for range 20 {
		q := c.question()
		want, err := s.Search(ctx, q, SearchOptions{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Search(ctx, q, SearchOptions{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("search %q in the backup differs from the store", q)
		}
	}
}

// checkWhole opens the store at path and checks its integrity and that
// every article has exactly the passages its text cuts into.
func checkWhole(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	b, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.IntegrityCheck(ctx); err != nil {
		t.Fatalf("%s: %v", filepath.Base(path), err)
	}
	arts, total, err := b.List(ctx, ListOptions{Limit: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	if total == 0 {
		t.Fatalf("%s is empty", filepath.Base(path))
	}
	for _, a := range arts {
		full, err := b.Get(ctx, a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(Chunk(full.Text, DefaultPassageWords)); full.Passages != want {
			t.Errorf("article %d has %d passages, want %d", a.ID, full.Passages, want)
		}
	}
	t.Logf("%s holds %d whole articles", filepath.Base(path), total)
}

// TestConcurrentImportsAndSearches runs two imports and several searchers
// at once on one store: no "database is locked", every article whole.
func TestConcurrentImportsAndSearches(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "busy.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	errs := make(chan error, 16)
	done := make(chan struct{})
	for seed := range 2 {
		go func() {
			r, w, _ := os.Pipe()
			go func() {
				newSynthCorpus(uint64(20+seed)).writeJSONL(w, 3_000)
				w.Close()
			}()
			_, err := s.Import(ctx, r, ImportOptions{BatchSize: 25})
			errs <- err
		}()
	}
	for range 3 {
		go func() {
			c := newSynthCorpus(9)
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if _, err := s.Search(ctx, c.question(), SearchOptions{Limit: 10}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Errorf("import: %v", err)
		}
	}
	close(done)
	for range 3 {
		if err := <-errs; err != nil {
			t.Errorf("search: %v", err)
		}
	}
	s.Close()
	checkWhole(t, path)
}
