package knowledge_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"parley/knowledge"
)

// mustOpen opens a store in a fresh temporary directory, closed at the end
// of the test.
func mustOpen(tb testing.TB) *knowledge.Store {
	tb.Helper()
	s, err := knowledge.Open(context.Background(), filepath.Join(tb.TempDir(), "parley.db"),
		knowledge.WithClock(func() time.Time { return time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC) }))
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func mustAdd(tb testing.TB, s *knowledge.Store, in knowledge.NewArticle) knowledge.Article {
	tb.Helper()
	if in.AddedBy == "" {
		in.AddedBy = "test"
	}
	res, err := s.Add(context.Background(), in)
	if err != nil {
		tb.Fatalf("add %q: %v", in.Title, err)
	}
	return res.Article
}

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

var doha = knowledge.NewArticle{
	URL:         "https://news.example/2025/03/05/envoy-doha?utm_source=x#top",
	Title:       "US envoy meets Hamas officials in Doha",
	Outlet:      "Example News",
	PublishedAt: date("2025-03-05"),
	Text: "A US envoy for hostage affairs held direct meetings with Hamas officials in Doha, the White House confirmed.\n\n" +
		"The talks focused on an American-Israeli hostage held in Gaza, officials said.\n\n" +
		"Israel was consulted beforehand, according to the White House.",
}

func TestOpenMigratesOnceAndReopens(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "dir", "p.db")
	s, err := knowledge.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, doha)
	s.Close()
	s, err = knowledge.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Articles != 1 {
		t.Errorf("articles after reopen = %d, want 1", st.Articles)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Errorf("integrity: %v", err)
	}
}

func TestAddNormalisesAndDeduplicates(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	a := mustAdd(t, s, doha)
	if a.URL != "https://news.example/2025/03/05/envoy-doha" {
		t.Errorf("canonical URL = %q", a.URL)
	}
	if a.Passages != 1 {
		t.Errorf("passages = %d, want 1", a.Passages)
	}

	tests := []struct {
		name   string
		change func(*knowledge.NewArticle)
	}{
		{"same text, other URL", func(in *knowledge.NewArticle) { in.URL = "https://mirror.example/x" }},
		{"same text, other spacing and case", func(in *knowledge.NewArticle) {
			in.URL = ""
			in.Text = strings.ToUpper(strings.ReplaceAll(in.Text, " ", "   "))
		}},
		{"same URL, other text", func(in *knowledge.NewArticle) { in.Text = "An update on the talks." }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := doha
			in.AddedBy = "test"
			tt.change(&in)
			res, err := s.Add(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if res.Created || res.Article.ID != a.ID {
				t.Errorf("got created=%v id=%d, want the existing article %d", res.Created, res.Article.ID, a.ID)
			}
		})
	}
	st, _ := s.Stats(ctx)
	if st.Articles != 1 {
		t.Errorf("articles = %d, want 1", st.Articles)
	}
}

func TestAddRejectsBadInput(t *testing.T) {
	s := mustOpen(t)
	tests := []struct {
		name string
		in   knowledge.NewArticle
	}{
		{"no title", knowledge.NewArticle{Text: "x"}},
		{"blank title", knowledge.NewArticle{Title: " \n ", Text: "x"}},
		{"no text", knowledge.NewArticle{Title: "t", Text: " \n\n "}},
		{"file URL", knowledge.NewArticle{Title: "t", Text: "x", URL: "file:///etc/passwd"}},
		{"relative URL", knowledge.NewArticle{Title: "t", Text: "x", URL: "/news/1"}},
		{"huge text", knowledge.NewArticle{Title: "t", Text: strings.Repeat("a ", 2<<20)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Add(context.Background(), tt.in)
			if !errors.Is(err, knowledge.ErrInvalid) {
				t.Errorf("got %v, want ErrInvalid", err)
			}
		})
	}
}

func TestRemoveIsRecordedAndReversible(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	a := mustAdd(t, s, doha)
	if res, _ := s.Search(ctx, "envoy Doha", knowledge.SearchOptions{}); len(res) == 0 {
		t.Fatal("search before removal found nothing")
	}
	removed, err := s.Remove(ctx, a.ID, "mod:alice")
	if err != nil {
		t.Fatal(err)
	}
	if removed.Status != knowledge.StatusRemoved || removed.RemovedBy != "mod:alice" {
		t.Errorf("got status %q by %q, want removed by mod:alice", removed.Status, removed.RemovedBy)
	}
	if res, _ := s.Search(ctx, "envoy Doha", knowledge.SearchOptions{}); len(res) != 0 {
		t.Errorf("search after removal returned %d results, want 0", len(res))
	}
	got, err := s.Get(ctx, a.ID)
	if err != nil || got.Status != knowledge.StatusRemoved || got.Text == "" {
		t.Errorf("removed article: got %+v, %v; want it kept with status removed", got, err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Errorf("integrity after removal: %v", err)
	}
	in := doha
	in.AddedBy = "mod:bob"
	res, err := s.Add(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Reactivated || res.Article.ID != a.ID {
		t.Errorf("re-adding: got reactivated=%v id=%d, want the same article back", res.Reactivated, res.Article.ID)
	}
	if res, _ := s.Search(ctx, "envoy Doha", knowledge.SearchOptions{}); len(res) == 0 {
		t.Error("search after restore found nothing")
	}
	changes, err := s.Changes(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, c := range changes {
		log = append(log, c.Action+":"+c.Actor)
	}
	if got, want := strings.Join(log, " "), "restore:mod:bob remove:mod:alice add:test"; got != want {
		t.Errorf("changes = %q, want %q", got, want)
	}
	if _, err := s.Remove(ctx, 999, "x"); !errors.Is(err, knowledge.ErrNotFound) {
		t.Errorf("remove unknown: got %v, want ErrNotFound", err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Errorf("integrity after restore: %v", err)
	}
}

func TestListPages(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	for i := range 25 {
		mustAdd(t, s, knowledge.NewArticle{Title: fmt.Sprintf("Report %d", i), Text: fmt.Sprintf("Body number %d.", i)})
	}
	page, total, err := s.List(ctx, knowledge.ListOptions{Limit: 10, Offset: 20})
	if err != nil {
		t.Fatal(err)
	}
	if total != 25 || len(page) != 5 {
		t.Fatalf("got %d of %d, want 5 of 25", len(page), total)
	}
	if page[0].Title != "Report 4" {
		t.Errorf("first on last page = %q, want Report 4 (newest first)", page[0].Title)
	}
}

func TestConcurrentWritesAndSearches(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				_, err := s.Add(ctx, knowledge.NewArticle{
					Title: fmt.Sprintf("Ceasefire update %d-%d", w, i), AddedBy: "t",
					Text: fmt.Sprintf("Negotiators met again in Cairo, round %d of writer %d.", i, w),
				})
				if err != nil {
					errs <- err
				}
			}
		}()
	}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := s.Search(ctx, "negotiators Cairo ceasefire", knowledge.SearchOptions{}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent use: %v", err)
	}
	if st, _ := s.Stats(ctx); st.Articles != 100 {
		t.Errorf("articles = %d, want 100", st.Articles)
	}
}

func TestBackup(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	mustAdd(t, s, doha)
	dst := filepath.Join(t.TempDir(), "backup.db")
	if err := s.Backup(ctx, dst); err != nil {
		t.Fatal(err)
	}
	if err := s.Backup(ctx, dst); err == nil {
		t.Error("second backup over an existing file succeeded, want an error")
	}
	b, err := knowledge.Open(ctx, dst)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	res, err := b.Search(ctx, "envoy Doha", knowledge.SearchOptions{})
	if err != nil || len(res) != 1 {
		t.Errorf("search in backup: got %d results, %v; want 1", len(res), err)
	}
	if err := b.IntegrityCheck(ctx); err != nil {
		t.Errorf("backup integrity: %v", err)
	}
}

func TestCanonicalURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HTTPS://News.Example:443/a?utm_source=t&id=3#frag", "https://news.example/a?id=3"},
		{"http://news.example:80", "http://news.example/"},
		{"http://user:pw@news.example/x", "http://news.example/x"},
	}
	for _, tt := range tests {
		got, err := knowledge.CanonicalURL(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("CanonicalURL(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "ftp://x/", "javascript:alert(1)", "news.example/a", "file:///etc/passwd"} {
		if _, err := knowledge.CanonicalURL(bad); !errors.Is(err, knowledge.ErrInvalid) {
			t.Errorf("CanonicalURL(%q): got %v, want ErrInvalid", bad, err)
		}
	}
}

func TestParseDate(t *testing.T) {
	for _, in := range []string{"2025-03-05", "2025/03/05", "2025-03-05T10:00:00Z", "2025-03-05T12:00:00+02:00"} {
		got, err := knowledge.ParseDate(in)
		if err != nil || got.Format("2006-01-02") != "2025-03-05" {
			t.Errorf("ParseDate(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := knowledge.ParseDate("March 5"); !errors.Is(err, knowledge.ErrInvalid) {
		t.Errorf("ParseDate(March 5): got %v, want ErrInvalid", err)
	}
}

// TestWithPassageWords: a store opened with a passage size cuts the
// articles it is given to that size; the default cuts the same text into
// fewer, longer passages.
func TestWithPassageWords(t *testing.T) {
	var paras []string
	for i := range 12 {
		paras = append(paras, fmt.Sprintf("Paragraph %d of the report: the negotiators met again in Doha and "+
			"talked through the exchange of hostages and prisoners for several hours.", i))
	}
	in := knowledge.NewArticle{Title: "A long report", Text: strings.Join(paras, "\n\n"), AddedBy: "test"}
	count := func(opts ...knowledge.Option) int {
		s, err := knowledge.Open(context.Background(), filepath.Join(t.TempDir(), "p.db"), opts...)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		res, err := s.Add(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		return res.Article.Passages
	}
	def, small := count(), count(knowledge.WithPassageWords(40))
	if def != 1 || small < 5 {
		t.Errorf("passages: %d by default, %d at 40 words; want 1 and at least 5", def, small)
	}
}

// TestArticleTextIsKeptInItsPassages checks that an article reads back as
// it was stored, whole, from its passages alone (migration 0008): the same
// paragraphs, and a paragraph longer than a passage cut between sentences.
func TestArticleTextIsKeptInItsPassages(t *testing.T) {
	ctx := context.Background()
	s, err := knowledge.Open(ctx, filepath.Join(t.TempDir(), "p.db"), knowledge.WithPassageWords(40))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var paras []string
	for i := range 6 {
		paras = append(paras, fmt.Sprintf("Paragraph %d: the negotiators met again in Doha and talked through the exchange for hours.", i))
	}
	in := knowledge.NewArticle{Title: "A report", Text: strings.Join(paras, "\n\n"), AddedBy: "test"}
	res, err := s.Add(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, res.Article.ID)
	if err != nil || got.Text != in.Text || res.Article.Passages < 2 {
		t.Fatalf("read back %q (%d passages), %v; want the text as stored, in several passages", got.Text, res.Article.Passages, err)
	}

	var sentences []string
	for i := range 8 {
		sentences = append(sentences, fmt.Sprintf("Sentence %d says the mediators would meet again next week in Cairo.", i))
	}
	long := knowledge.NewArticle{Title: "A long paragraph", Text: "A short opening.\n\n" + strings.Join(sentences, "   "), AddedBy: "test"}
	res, err = s.Add(ctx, long)
	if err != nil {
		t.Fatal(err)
	}
	got, err = s.Get(ctx, res.Article.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(strings.Fields(long.Text), " "); strings.Join(strings.Fields(got.Text), " ") != want {
		t.Fatalf("read back %q; want the words of %q", got.Text, want)
	}
	if !strings.HasPrefix(got.Text, "A short opening.\n\n") || strings.Count(got.Text, "\n\n") < 2 {
		t.Errorf("read back %q; want the long paragraph cut between sentences", got.Text)
	}
	for _, cut := range strings.Split(got.Text, "\n\n")[1:] {
		if !strings.HasPrefix(cut, "Sentence ") || !strings.HasSuffix(cut, "Cairo.") {
			t.Errorf("piece %q is not whole sentences", cut)
		}
	}
}
