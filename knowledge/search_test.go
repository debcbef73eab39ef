package knowledge_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"parley/knowledge"
)

func seedTalks(tb testing.TB, s *knowledge.Store) {
	tb.Helper()
	for _, in := range []knowledge.NewArticle{
		doha,
		{
			Title: "Israel halts aid into Gaza as first phase ends", Outlet: "Wire", PublishedAt: date("2025-03-02"),
			Text: "Israel closed the crossings into Gaza and stopped aid deliveries after the first phase of the ceasefire ended.\n\n" +
				"Hamas called the move collective punishment.",
		},
		{
			Title: "Ceasefire first phase begins", Outlet: "Wire", PublishedAt: date("2025-01-19"),
			Text: "The first phase of the ceasefire took effect on 19 January, with hostages and prisoners exchanged.",
		},
		{
			Title: "Old background on the blockade", Outlet: "Archive", PublishedAt: date("2019-06-01"),
			Text: "Crossings into Gaza have been closed many times over the years, halting aid.",
		},
	} {
		mustAdd(tb, s, in)
	}
}

func TestSearchRanksRelevantFirst(t *testing.T) {
	s := mustOpen(t)
	seedTalks(t, s)
	tests := []struct {
		q, wantTitle string
	}{
		{"Who did the US envoy meet in Doha?", "US envoy meets Hamas officials in Doha"},
		{"When did the first phase of the ceasefire begin?", "Ceasefire first phase begins"},
		{"Why was aid stopped from entering Gaza?", "Israel halts aid into Gaza as first phase ends"},
	}
	for _, tt := range tests {
		res, err := s.Search(context.Background(), tt.q, knowledge.SearchOptions{Limit: 3})
		if err != nil {
			t.Fatalf("%q: %v", tt.q, err)
		}
		if len(res) == 0 || res[0].Title != tt.wantTitle {
			t.Errorf("%q: got %v, want %q first", tt.q, titles(res), tt.wantTitle)
		}
		for _, r := range res {
			if r.ArticleID == 0 || r.PassageID == 0 || r.Text == "" || r.Score <= 0 {
				t.Errorf("%q: incomplete result %+v", tt.q, r)
			}
		}
	}
}

// A search that returns every candidate it ranks reads their texts with
// them; one that ranks more than it returns reads the survivors' texts
// afterwards. The two must give the same results.
func TestSearchReadsTheSameResultsEitherWay(t *testing.T) {
	s := mustOpen(t)
	seedTalks(t, s)
	ctx := context.Background()
	for _, q := range []string{"Why was aid stopped from entering Gaza?", "When did the first phase of the ceasefire begin?"} {
		few, err := s.Search(ctx, q, knowledge.SearchOptions{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		all, err := s.Search(ctx, q, knowledge.SearchOptions{Limit: knowledge.MaxSearchLimit})
		if err != nil {
			t.Fatal(err)
		}
		if len(few) != 1 || len(all) < 2 {
			t.Fatalf("%q: %d and %d results, want 1 and more", q, len(few), len(all))
		}
		if !reflect.DeepEqual(few, all[:len(few)]) {
			t.Errorf("%q: limit 1 gave\n%+v\nbut the first of the limit %d was\n%+v", q, few, knowledge.MaxSearchLimit, all[:len(few)])
		}
		for _, r := range all {
			if r.Text == "" || r.Title == "" || r.Outlet == "" || r.Origin == "" || r.PublishedAt.IsZero() {
				t.Errorf("%q: incomplete result %+v", q, r)
			}
		}
	}
}

// Search reads its results' article fields from a cache when it can. The
// fields must be the article's, whether read cold, warm, or by another
// Store on the same file; and an article removed by that other Store must
// leave this one's results though its fields are still cached.
func TestSearchCitesTheStoredArticle(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	seedTalks(t, s)
	other, err := knowledge.Open(ctx, s.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	q := "Why was aid stopped from entering Gaza?"
	var runs [][]knowledge.Result
	for _, st := range []*knowledge.Store{s, s, other} {
		for _, limit := range []int{3, 50} { // texts read after ranking, and with the candidates
			res, err := st.Search(ctx, q, knowledge.SearchOptions{Limit: limit})
			if err != nil {
				t.Fatal(err)
			}
			if len(res) < 2 {
				t.Fatalf("limit %d: %d results, want several", limit, len(res))
			}
			runs = append(runs, res[:2])
		}
	}
	for i, res := range runs {
		if !reflect.DeepEqual(res, runs[0]) {
			t.Errorf("search %d gave\n%+v\nbut the first gave\n%+v", i, res, runs[0])
		}
	}
	for _, r := range runs[0] {
		a, err := s.Get(ctx, r.ArticleID)
		if err != nil {
			t.Fatal(err)
		}
		got := []any{r.URL, r.Title, r.Outlet, r.PublishedAt, r.Origin}
		want := []any{a.URL, a.Title, a.Outlet, a.PublishedAt, a.Origin}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("passage %d cites %v, but its article has %v", r.PassageID, got, want)
		}
	}

	gone := runs[0][0].ArticleID
	if _, err := other.Remove(ctx, gone, "mod:alice"); err != nil {
		t.Fatal(err)
	}
	res, err := s.Search(ctx, q, knowledge.SearchOptions{Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.ArticleID == gone {
			t.Fatalf("article %d was removed by another store, but still found: %+v", gone, r)
		}
	}
}

func TestSearchAsOf(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	seedTalks(t, s)
	q := "crossings into Gaza closed, aid halted"
	// As of mid-2019 the 2025 report did not exist yet: the old one leads.
	res, err := s.Search(ctx, q, knowledge.SearchOptions{Limit: 2, AsOf: date("2019-06-10")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Title != "Old background on the blockade" {
		t.Errorf("as of 2019: got %v, want the 2019 article first", titles(res))
	}
	// As of March 2025 the fresh report leads, and the old one still shows.
	res, err = s.Search(ctx, q, knowledge.SearchOptions{Limit: 5, AsOf: date("2025-03-03")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) < 2 || res[0].Title != "Israel halts aid into Gaza as first phase ends" {
		t.Errorf("as of 2025: got %v, want the March 2025 article first", titles(res))
	}
	if !strings.Contains(strings.Join(titles(res), "|"), "Old background") {
		t.Errorf("as of 2025: old background vanished: %v", titles(res))
	}
}

// TestSearchAsOfReadsTheQuestionsMatches: searching as of a date, a
// question whose best matches are mostly old is about background, and the
// best of them leads even over a fresh article that matches it less well;
// a question whose matches are mostly recent is about the news, and the
// fresh article leads even over a better-matching old one.
func TestSearchAsOfReadsTheQuestionsMatches(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	years := []string{"2001", "2002", "2003", "2004", "2005", "2006", "2007", "2009", "2010", "2011", "2012", "2013", "2014", "2015", "2016", "2017"}
	for i, y := range years {
		mustAdd(t, s, knowledge.NewArticle{
			Title: "Gaza border history, part " + y, Outlet: "Archive", PublishedAt: date(y + "-05-01"),
			Text: fmt.Sprintf("Notes %d on the Rafah crossing and the Gaza border, from the archive.", i),
		})
	}
	mustAdd(t, s, knowledge.NewArticle{
		Title: "Who built the Rafah crossing", Outlet: "Archive", PublishedAt: date("2008-03-01"),
		Text: "The Rafah crossing was built in 1982, when Israel withdrew from Sinai; it was built where a new border split the town.",
	})
	mustAdd(t, s, knowledge.NewArticle{
		Title: "Aid trucks queue at a crossing built for people", Outlet: "Wire", PublishedAt: date("2025-03-08"),
		Text: "Trucks waited at the Rafah crossing on Saturday; officials said the crossing was built for people, not cargo.",
	})
	res, err := s.Search(ctx, "Who built the Rafah crossing, and when was it built?", knowledge.SearchOptions{Limit: 5, AsOf: date("2025-03-10")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || res[0].Title != "Who built the Rafah crossing" {
		t.Errorf("background question: got %v, want the 2008 explainer first", titles(res))
	}

	// Now the news: several fresh reports on the closure, and an old one
	// that matches the words better.
	for i, day := range []string{"2025-03-03", "2025-03-05", "2025-03-07", "2025-03-09"} {
		mustAdd(t, s, knowledge.NewArticle{
			Title: fmt.Sprintf("Crossing closed, day %d", i+1), Outlet: "Wire", PublishedAt: date(day),
			Text: fmt.Sprintf("Israel kept the Kerem Shalom crossing closed to aid convoys, for the %d%s day running.", i+1, []string{"st", "nd", "rd", "th"}[i]),
		})
	}
	mustAdd(t, s, knowledge.NewArticle{
		Title: "Kerem Shalom crossing closed to aid convoys", Outlet: "Archive", PublishedAt: date("2014-07-01"),
		Text: "Israel closed the Kerem Shalom crossing to aid convoys after a rocket attack on the crossing.",
	})
	res, err = s.Search(ctx, "Is the Kerem Shalom crossing closed to aid convoys?", knowledge.SearchOptions{Limit: 5, AsOf: date("2025-03-10")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) == 0 || !strings.HasPrefix(res[0].Title, "Crossing closed, day") {
		t.Errorf("news question: got %v, want a March 2025 report first", titles(res))
	}
}

// TestSearchHostileQueries feeds RELIABILITY.md's list: each must return
// results or an empty list, never an error.
func TestSearchHostileQueries(t *testing.T) {
	s := mustOpen(t)
	seedTalks(t, s)
	queries := []string{
		`"`, `foo:bar`, `OPS-306`, `NEAR(a b)`, `a AND`, `*`, `()`, `^x`, ``, "   \t\n",
		strings.Repeat("ceasefire hostages Doha talks ", 350), // about 10 KB
		"🕊️🤝🇵🇸🇮🇱", "ما هي آخر أخبار المفاوضات في الدوحة؟", "מה קורה במשא ומתן על החטופים?",
		`'; DROP TABLE articles; --`, `title:Doha`, `"unbalanced`, `Doha*`, `-Hamas`, `NOT`, `OR OR OR`,
		"\x00\x01", "Doha\u202eevil", strings.Repeat("x", 5000),
	}
	for _, q := range queries {
		if _, err := s.Search(context.Background(), q, knowledge.SearchOptions{Limit: 5}); err != nil {
			t.Errorf("Search(%.40q): %v", q, err)
		}
	}
	// The store still works, the articles are all there.
	if st, _ := s.Stats(context.Background()); st.Articles != 4 {
		t.Errorf("articles after hostile queries = %d, want 4", st.Articles)
	}
	res, err := s.Search(context.Background(), `OPS-306 Doha`, knowledge.SearchOptions{})
	if err != nil || len(res) == 0 {
		t.Errorf("a query mixing syntax-like and real words: got %d results, %v; want some", len(res), err)
	}
}

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"Who did the US envoy meet in Doha?", "us envoy meet doha"},
		{`NEAR(a b) foo:bar "x`, "near b foo bar x"},
		{"OPS-306", "ops 306"},
		{"Who is who?", "who is"},
		// "how many" asks like "how much": neither word is the subject.
		{"How many hostages are still held?", "hostages held"},
		{"How much aid got in?", "aid"},
		{"How long did the first phase last?", "first phase last"},
		{"A long war: how did it start, and how long ago?", "long war start ago"},
		{"What is the name of the US envoy?", "us envoy"},
		{"What's the name of the envoy?", "envoy"},
		{"Which type of aid is blocked?", "aid blocked"},
		{"Under what kind of deal?", "deal"},
		{"Whose name is on the list of hostages?", "name list hostages"},
		{"", ""},
		{"Émile Haddad", "émile haddad"},
	}
	for _, tt := range tests {
		if got := strings.Join(knowledge.Terms(tt.in), " "); got != tt.want {
			t.Errorf("Terms(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if n := len(knowledge.Terms(strings.Repeat("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon phi chi psi omega one two three four five six seven eight nine ten ", 3))); n != 32 {
		t.Errorf("terms of a long text = %d, want the cap of 32", n)
	}
}

func titles(res []knowledge.Result) []string {
	var out []string
	for _, r := range res {
		out = append(out, r.Title)
	}
	return out
}

func TestTermsCountCharactersNotBytes(t *testing.T) {
	// 25 Arabic letters are 50 bytes; 30 Thai letters are 90 bytes.
	for _, w := range []string{strings.Repeat("ب", 25), strings.Repeat("ก", 30)} {
		if got := knowledge.Terms(w); len(got) != 1 {
			t.Errorf("Terms(%q) = %q, want the word kept", w, got)
		}
	}
	if got := knowledge.Terms(strings.Repeat("x", 41)); len(got) != 0 {
		t.Errorf("a 41-letter run was kept: %q", got)
	}
}
