package knowledge_test

import (
	"context"
	"strings"
	"testing"

	"parley/knowledge"
)

func TestImportReportsBadLinesAndKeepsTheRest(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	input := strings.Join([]string{
		`{"url": "https://a.example/1", "title": "Talks resume in Cairo", "text": "Negotiators returned to Cairo.", "published_at": "2025-03-08", "outlet": "A"}`,
		`{"url": "https://a.example/2", "title": "Broken", "text": "no closing brace"`,
		``,
		`{"url": "https://a.example/3", "title": "", "text": "Missing its title."}`,
		`{"url": "https://a.example/4", "title": "Odd date", "text": "Stored without a date.", "published_at": "last Tuesday"}`,
		`{"url": "https://a.example/1", "title": "Talks resume in Cairo", "text": "Negotiators returned to Cairo."}`,
		`[1, 2, 3]`,
		`{"url": "https://a.example/5", "title": "RFC 3339 date", "text": "A timed report.", "published_at": "2025-03-09T14:30:00Z"}`,
		`{"url": "ftp://a.example/6", "title": "Bad URL", "text": "Not http."}`,
		`{"url": "https://a.example/7", "title": 7, "text": "Title is a number."}`,
	}, "\n")
	var issues []knowledge.LineIssue
	sum, err := s.Import(ctx, strings.NewReader(input), knowledge.ImportOptions{
		AddedBy: "test", BatchSize: 2,
		Report: func(li knowledge.LineIssue) { issues = append(issues, li) },
	})
	if err != nil {
		t.Fatal(err)
	}
	want := knowledge.ImportSummary{Lines: 9, Added: 3, Duplicates: 1, Skipped: 5, Passages: 3}
	if sum != want {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}
	wantLines := map[int]bool{2: true, 4: true, 5: false, 7: true, 9: true, 10: true}
	if len(issues) != len(wantLines) {
		t.Errorf("issues = %v, want one for each of lines %v", issues, wantLines)
	}
	for _, li := range issues {
		fatal, ok := wantLines[li.Line]
		if !ok || fatal != li.Fatal {
			t.Errorf("unexpected issue %s", li)
		}
	}
	a, err := s.Search(ctx, "stored without a date", knowledge.SearchOptions{Limit: 1})
	if err != nil || len(a) != 1 || !a[0].PublishedAt.IsZero() {
		t.Errorf("odd-date article: got %+v, %v; want it stored undated", a, err)
	}
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Error(err)
	}
}

func TestImportTwiceStoresOnce(t *testing.T) {
	ctx := context.Background()
	s := mustOpen(t)
	line := `{"url": "https://a.example/1", "title": "T", "text": "Body."}` + "\n"
	for range 2 {
		if _, err := s.Import(ctx, strings.NewReader(line), knowledge.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := s.Stats(ctx); st.Articles != 1 {
		t.Errorf("articles = %d, want 1", st.Articles)
	}
}

func TestImportOverlongLine(t *testing.T) {
	s := mustOpen(t)
	long := `{"url": "https://a.example/big", "title": "Big", "text": "` + strings.Repeat("x", 9<<20) + `"}`
	input := long + "\n" + `{"url": "https://a.example/ok", "title": "OK", "text": "Fine."}` + "\n"
	var issues []knowledge.LineIssue
	sum, err := s.Import(context.Background(), strings.NewReader(input), knowledge.ImportOptions{
		Report: func(li knowledge.LineIssue) { issues = append(issues, li) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 1 || len(issues) != 1 || issues[0].Line != 1 {
		t.Errorf("got summary %+v, issues %v; want line 1 skipped and line 2 added", sum, issues)
	}
}

func TestImportCancelledKeepsWholeArticles(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := mustOpen(t)
	var b strings.Builder
	for i := range 50 {
		b.WriteString(`{"url": "https://a.example/` + string(rune('a'+i%26)) + strings.Repeat("z", i) + `", "title": "T", "text": "Body ` + strings.Repeat("w ", i+1) + `"}` + "\n")
	}
	sum, err := s.Import(ctx, strings.NewReader(b.String()), knowledge.ImportOptions{BatchSize: 7, Report: func(knowledge.LineIssue) {}})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	if sum.Added != 50 {
		t.Fatalf("added = %d, want 50", sum.Added)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	sum, err = s.Import(ctx2, strings.NewReader(`{"url": "https://a.example/new", "title": "T", "text": "New body."}`+"\n"+`{"url": "https://a.example/new2", "title": "T", "text": "Newer body."}`), knowledge.ImportOptions{})
	if err == nil {
		t.Errorf("import with a cancelled context: got no error (summary %+v)", sum)
	}
	if err := s.IntegrityCheck(context.Background()); err != nil {
		t.Error(err)
	}
}
