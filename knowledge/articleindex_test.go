package knowledge

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// The article index is tested from inside the package: what it holds is
// not visible through the Store's API, only its effect on ranking.

func openAt(t *testing.T, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// indexedIDs lists the article ids the article index holds.
func indexedIDs(t *testing.T, s *Store) []int64 {
	t.Helper()
	rows, err := s.articles.reader.Query(`SELECT rowid FROM articles_fts ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	return ids
}

// matchingIDs lists the article ids the article index finds for a word.
func matchingIDs(t *testing.T, s *Store, word string) []int64 {
	t.Helper()
	res, err := s.articles.search(context.Background(), matchExpr([]string{word}))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range res {
		ids = append(ids, r.ArticleID)
	}
	slices.Sort(ids)
	return ids
}

func indexTestArticle(word string, day int) NewArticle {
	return NewArticle{
		URL:         fmt.Sprintf("https://news.example/2025/03/%02d/%s", day, word),
		Title:       "Mediators report on the " + word + " round",
		PublishedAt: time.Date(2025, 3, day, 9, 0, 0, 0, time.UTC),
		AddedBy:     "mod",
		Text:        "Negotiators met again for the " + word + " round of talks in Cairo. Both delegations returned home afterwards.",
	}
}

func addForTest(t *testing.T, s *Store, in NewArticle) int64 {
	t.Helper()
	res, err := s.Add(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return res.Article.ID
}

// storeWith builds a store at path holding in, closes it, and returns the
// articles' ids.
func storeWith(t *testing.T, path string, in []NewArticle, opts ...Option) []int64 {
	t.Helper()
	s, err := Open(context.Background(), path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ids []int64
	for _, a := range in {
		ids = append(ids, addForTest(t, s, a))
	}
	return ids
}

func TestArticleIndexFollowsAddsRemovalsAndRestores(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	a := addForTest(t, s, indexTestArticle("spring", 3))
	b := addForTest(t, s, indexTestArticle("summer", 4))
	if got := indexedIDs(t, s); !slices.Equal(got, []int64{a, b}) {
		t.Fatalf("after two adds the index holds %v, want %v", got, []int64{a, b})
	}
	if got := matchingIDs(t, s, "summer"); !slices.Equal(got, []int64{b}) {
		t.Fatalf("summer matches %v, want %v", got, []int64{b})
	}

	if _, err := s.Remove(ctx, b, "mod"); err != nil {
		t.Fatal(err)
	}
	if got := indexedIDs(t, s); !slices.Equal(got, []int64{a}) {
		t.Fatalf("after removing %d the index holds %v", b, got)
	}
	if got := matchingIDs(t, s, "summer"); len(got) != 0 {
		t.Fatalf("a removed article is still found: %v", got)
	}

	// Adding it again restores it, once: the index must not hold it twice.
	if res, err := s.Add(ctx, indexTestArticle("summer", 4)); err != nil || !res.Reactivated {
		t.Fatalf("add again: %+v, %v", res, err)
	}
	if got := indexedIDs(t, s); !slices.Equal(got, []int64{a, b}) {
		t.Fatalf("after the restore the index holds %v", got)
	}
	if _, err := s.Remove(ctx, b, "mod"); err != nil {
		t.Fatal(err)
	}
	if got := matchingIDs(t, s, "summer"); len(got) != 0 {
		t.Fatalf("removed after a restore, the article is still found: %v", got)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestArticleIndexFollowsAnImport(t *testing.T) {
	ctx := context.Background()
	s := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	var in bytes.Buffer
	for i := range 45 {
		fmt.Fprintf(&in, `{"url":"https://news.example/import/%d","title":"Round %d","text":"Delegates discussed item number%d of the draft in Doha."}`+"\n", i, i, i)
	}
	// Batches of 10, so that the index catches up while the import goes on.
	sum, err := s.Import(ctx, &in, ImportOptions{AddedBy: "mod", BatchSize: 10})
	if err != nil || sum.Added != 45 {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	if got := len(indexedIDs(t, s)); got != 45 {
		t.Fatalf("after the import the index holds %d articles, want 45", got)
	}
	if got := matchingIDs(t, s, "number44"); len(got) != 1 {
		t.Fatalf("the last article imported is not in the index: %v", got)
	}
}

// The starter briefs are written in a transaction of their own, not
// through Add, and must reach the index in the same process: the first
// question a new store is asked is searched with them.
func TestArticleIndexHoldsTheStarterBriefs(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	n, err := s.SeedStarter(context.Background())
	if err != nil || n == 0 {
		t.Fatalf("seed: %d briefs, %v", n, err)
	}
	if got := len(indexedIDs(t, s)); got != n {
		t.Fatalf("after seeding %d briefs the index holds %d articles", n, got)
	}
}

func TestArticleIndexIsRebuiltWhenDeleted(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	a := addForTest(t, s, indexTestArticle("spring", 3))
	b := addForTest(t, s, indexTestArticle("summer", 4))
	c := addForTest(t, s, indexTestArticle("autumn", 5))
	if _, err := s.Remove(ctx, b, "mod"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(ArticleIndexPath(path)); err != nil {
		t.Fatalf("no article index file beside %s: %v", path, err)
	}
	if err := removeArticleIndex(path); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path)
	if got := indexedIDs(t, s); !slices.Equal(got, []int64{a, c}) {
		t.Fatalf("rebuilt, the index holds %v, want the active %v", got, []int64{a, c})
	}
}

// Building the index for a store of more than one page of changes is
// announced when it starts, so that a long start-up is not a silent one,
// and a short catch-up is not.
func TestLongArticleIndexBuildIsAnnounced(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	const articles = catchUpPage + 20
	var in bytes.Buffer
	for i := range articles {
		fmt.Fprintf(&in, `{"url":"https://news.example/import/%d","title":"Round %d","text":"Delegates met in Doha for round %d."}`+"\n", i, i, i)
	}
	if sum, err := s.Import(ctx, &in, ImportOptions{AddedBy: "mod"}); err != nil || sum.Added != articles {
		t.Fatalf("import: %+v, %v", sum, err)
	}
	s.Close()
	if err := removeArticleIndex(path); err != nil {
		t.Fatal(err)
	}

	var log bytes.Buffer
	s = openAt(t, path, WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if got := len(indexedIDs(t, s)); got != articles {
		t.Fatalf("rebuilt, the index holds %d articles, want %d", got, articles)
	}
	text := log.String()
	started := strings.Index(text, "bringing the article index up to date")
	done := strings.Index(text, "article index brought up to date")
	if started < 0 || done < started {
		t.Fatalf("want the build announced before it is reported done; the log is %q", text)
	}

	// A catch-up of less than a page is quick, and only its end is logged.
	small := filepath.Join(t.TempDir(), "small.db")
	storeWith(t, small, []NewArticle{indexTestArticle("winter", 6)})
	if err := removeArticleIndex(small); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	openAt(t, small, WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	if text := log.String(); strings.Contains(text, "bringing the article index") || !strings.Contains(text, "brought up to date") {
		t.Errorf("want only the end of a short catch-up logged; the log is %q", text)
	}
}

// A damaged article index is derived data: the store still opens, and
// builds it again. So does one whose table was dropped by hand, which
// would otherwise keep a marker saying an empty index is up to date.
func TestDamagedArticleIndexIsRebuilt(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, indexPath string)
	}{
		{"not a database", func(t *testing.T, indexPath string) {
			junk := bytes.Repeat([]byte("not an index "), 1000)
			if err := os.WriteFile(indexPath, junk, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"table dropped", func(t *testing.T, indexPath string) {
			db, err := sql.Open("sqlite3", dsn(indexPath, "_busy_timeout=10000"))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`DROP TABLE articles_fts`); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "parley.db")
			ids := storeWith(t, path, []NewArticle{indexTestArticle("spring", 3), indexTestArticle("summer", 4)})
			for _, suffix := range []string{"-wal", "-shm"} {
				os.Remove(ArticleIndexPath(path) + suffix)
			}
			tc.damage(t, ArticleIndexPath(path))

			var log bytes.Buffer
			s := openAt(t, path, WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
			if got := indexedIDs(t, s); !slices.Equal(got, ids) {
				t.Fatalf("after the damage, the index holds %v, want %v", got, ids)
			}
			if !strings.Contains(log.String(), "article index brought up to date") {
				t.Errorf("the rebuild was not logged; the log is %q", log.String())
			}
		})
	}
}

// An article index from another history of the store (here another
// store's, as after a backup is restored beside a newer index) describes
// other articles under the same ids. It must be rebuilt, not trusted.
func TestArticleIndexFromAnotherHistoryIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	clock := func(day int) Option {
		return WithClock(func() time.Time { return time.Date(2025, 3, day, 12, 0, 0, 0, time.UTC) })
	}

	storeWith(t, filepath.Join(dir, "other.db"), []NewArticle{indexTestArticle("spring", 3), indexTestArticle("summer", 4)}, clock(1))
	path := filepath.Join(dir, "parley.db")
	storeWith(t, path, []NewArticle{indexTestArticle("autumn", 5), indexTestArticle("winter", 6)}, clock(2))

	// The other store's index, under this store's name: the same change
	// numbers and article ids, made at another time.
	for _, suffix := range []string{"-wal", "-shm"} {
		os.Remove(ArticleIndexPath(path) + suffix)
	}
	old, err := os.ReadFile(ArticleIndexPath(filepath.Join(dir, "other.db")))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ArticleIndexPath(path), old, 0o600); err != nil {
		t.Fatal(err)
	}

	s := openAt(t, path, clock(3))
	if got := matchingIDs(t, s, "summer"); len(got) != 0 {
		t.Fatalf("the other store's article is still indexed, as %v", got)
	}
	if got := matchingIDs(t, s, "winter"); len(got) != 1 {
		t.Fatalf("this store's article is not indexed: %v", got)
	}
}

func TestFuseArticlesAddsTheArticleRanking(t *testing.T) {
	s := openAt(t, filepath.Join(t.TempDir(), "parley.db"))
	for i, word := range []string{"one", "two", "three", "four", "five"} {
		addForTest(t, s, indexTestArticle(word, 1+i))
	}
	// Five passages, best first, of articles 1 to 5.
	var cands []Result
	for i := range 5 {
		cands = append(cands, Result{PassageID: int64(10 * (i + 1)), ArticleID: int64(i + 1)})
	}
	// The article index ranks article 4 first, then 2, then 5, but 4 is
	// old and the date weighting halves its score: 2, 5, 4.
	arts := []Result{{ArticleID: 4, Score: 10}, {ArticleID: 2, Score: 9}, {ArticleID: 5, Score: 8}}
	weight := func(r Result) float64 {
		if r.ArticleID == 4 {
			return 0.5
		}
		return 1
	}
	if err := s.fuseArticles(context.Background(), cands, arts, weight); err != nil {
		t.Fatal(err)
	}
	// A passage at rank i scores 1/(60+i), plus 0.2/(60+r) when its
	// article is ranked r by the article index.
	want := map[int64]float64{
		10: 1.0 / 61,
		20: 1.0/62 + 0.2/61,
		30: 1.0 / 63,
		40: 1.0/64 + 0.2/63,
		50: 1.0/65 + 0.2/62,
	}
	for _, c := range cands {
		if diff := c.Score - want[c.PassageID]; diff > 1e-12 || diff < -1e-12 {
			t.Errorf("passage %d scores %.6f, want %.6f", c.PassageID, c.Score, want[c.PassageID])
		}
	}
	// Passages 40 and 50 pass 10 and 30.
	var got []int64
	for _, c := range cands {
		got = append(got, c.PassageID)
	}
	if want := []int64{20, 40, 50, 10, 30}; !slices.Equal(got, want) {
		t.Fatalf("fused order %v, want %v", got, want)
	}
}

// A broken article index costs ranking, not answers: Search goes on with
// the passages alone and says so in the log.
func TestSearchWithoutAUsableArticleIndex(t *testing.T) {
	var log bytes.Buffer
	path := filepath.Join(t.TempDir(), "parley.db")
	s := openAt(t, path, WithLogger(slog.New(slog.NewTextHandler(&log, nil))))
	addForTest(t, s, indexTestArticle("spring", 3))
	addForTest(t, s, indexTestArticle("summer", 4))

	db, err := sql.Open("sqlite3", dsn(ArticleIndexPath(path), "_busy_timeout=10000"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DROP TABLE articles_fts`); err != nil {
		t.Fatal(err)
	}

	res, err := s.Search(context.Background(), "summer round of talks", SearchOptions{})
	if err != nil {
		t.Fatalf("search failed with the article index gone: %v", err)
	}
	if len(res) == 0 || !strings.Contains(res[0].Title, "summer") {
		t.Fatalf("search without the article index found %v", res)
	}
	if !strings.Contains(log.String(), "search without the article index") {
		t.Fatalf("nothing logged; the log is %q", log.String())
	}
}

func TestCapRepeats(t *testing.T) {
	var c repeatCapper
	got := c.capRepeats("Talks, talks and TALKS; talks again. Talks-end", 3)
	if want := "Talks talks TALKS end"; got != want {
		t.Fatalf("capRepeats = %q, want %q", got, want)
	}
	// Counts start again with each text, and fold case beyond ASCII.
	got = c.capRepeats("talks Ünal ünal—ÜNAL, ünal Straße STRASSE", 2)
	if want := "talks Ünal ünal Straße STRASSE"; got != want {
		t.Fatalf("capRepeats = %q, want %q", got, want)
	}
	if got := c.capRepeats("", 3); got != "" {
		t.Fatalf("capRepeats of nothing = %q", got)
	}
	if got := c.capRepeats(" ,— ", 3); got != "" {
		t.Fatalf("capRepeats of no words = %q", got)
	}
}

// TestCapRepeatsMatchesPlainCount checks the hashed counts against counts
// kept by the lower-cased words themselves, over generated articles, whose
// commonest words are stop words.
func TestCapRepeatsMatchesPlainCount(t *testing.T) {
	plain := func(text string, n int) string {
		seen := map[string]int{}
		var out []string
		for _, w := range strings.FieldsFunc(text, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			lw := strings.ToLower(w)
			if seen[lw]++; seen[lw] <= n && !stopWords[lw] {
				out = append(out, w)
			}
		}
		return strings.Join(out, " ")
	}
	corpus := newSynthCorpus(7)
	var c repeatCapper
	for i := range 200 {
		text := corpus.article(i, corpus.articleWords()).Text
		if i%3 == 0 {
			text = strings.ToUpper(text[:len(text)/2]) + " Élysée élysée ÉLYSÉE 2026 " + text[len(text)/2:]
		}
		for _, n := range []int{1, 3} {
			if got, want := c.capRepeats(text, n), plain(text, n); got != want {
				t.Fatalf("article %d, n=%d: capRepeats differs from counting the words:\n%s\n%s", i, n, got, want)
			}
		}
	}
}
