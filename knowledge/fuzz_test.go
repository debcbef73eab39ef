package knowledge

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

// The fuzz targets below run their committed seed corpora (testdata/fuzz)
// as ordinary tests; `go test -fuzz '^FuzzX$'` explores further. Each states
// the contract it checks in terms a failure message can name.

var fuzzClock = WithClock(func() time.Time { return time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC) })

// openFuzzStore opens the store at path, closed when tb ends.
func openFuzzStore(tb testing.TB, path string) *Store {
	tb.Helper()
	s, err := Open(context.Background(), path, fuzzClock)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

var fuzzArticles = []NewArticle{
	{URL: "https://a.example/doha", Title: "Envoy meets negotiators in Doha", PublishedAt: time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC),
		Text: "The US envoy met Hamas and Israeli negotiators in Doha on Wednesday.\n\nThe talks on the second phase of the ceasefire, OPS-306 in the mediators' files, will continue next week."},
	{URL: "https://b.example/aid", Title: "المساعدات متوقفة", Language: "ar",
		Text: "لم تنته المحادثات في الدوحة. ستستمر غدا.\n\nהמשא ומתן על החטופים נמשך. 🕊️ Aid crossings stayed closed."},
}

// FuzzSearchQuery checks that no question, however hostile, makes Search
// fail: Terms reduces it to at most maxQueryTerms non-empty terms of letters,
// digits and marks, none longer than maxTermLen characters, so matchExpr never builds an
// expression FTS5 rejects.
func FuzzSearchQuery(f *testing.F) {
	ctx := context.Background()
	s := openFuzzStore(f, filepath.Join(f.TempDir(), "parley.db"))
	for _, a := range fuzzArticles {
		a.AddedBy = "fuzz"
		if _, err := s.Add(ctx, a); err != nil {
			f.Fatalf("add %q: %v", a.Title, err)
		}
	}
	f.Fuzz(func(t *testing.T, q string) {
		terms := Terms(q)
		if len(terms) > maxQueryTerms {
			t.Errorf("Terms(%.60q) gave %d terms, want at most %d", q, len(terms), maxQueryTerms)
		}
		seen := make(map[string]bool)
		for _, term := range terms {
			switch {
			case term == "":
				t.Errorf("Terms(%.60q) has an empty term", q)
			case utf8.RuneCountInString(term) > maxTermLen:
				t.Errorf("Terms(%.60q): term %q is %d characters, want at most %d", q, term, utf8.RuneCountInString(term), maxTermLen)
			case !utf8.ValidString(term):
				t.Errorf("Terms(%.60q): term %q is not valid UTF-8", q, term)
			case strings.ContainsRune(term, '"'):
				t.Errorf("Terms(%.60q): term %q has a quote", q, term)
			case seen[term]:
				t.Errorf("Terms(%.60q): term %q repeated", q, term)
			}
			seen[term] = true
			for _, r := range term {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.Is(unicode.Mn, r) {
					t.Errorf("Terms(%.60q): term %q has %U, want only letters, digits and marks", q, term, r)
					break
				}
			}
		}
		if got := strings.Count(matchExpr(terms), `"`); got != 2*len(terms) {
			t.Errorf("matchExpr(%q) has %d quotes, want %d", terms, got, 2*len(terms))
		}
		if _, err := s.Search(ctx, q, SearchOptions{Limit: 5}); err != nil {
			t.Errorf("Search(%.60q): got error %v, want results or none", q, err)
		}
	})
}

// FuzzChunk checks Chunk's contract for any text and target: no panic, no
// empty passage, valid UTF-8 out, every word of the input (with invalid
// UTF-8 replaced) kept in order, whitespace inside paragraphs collapsed,
// paragraphs joined by one blank line, passages of about target words, and
// the same passages again from the text as the store keeps it.
// It also checks that Sentences splits a paragraph only at its spaces.
func FuzzChunk(f *testing.F) {
	// Every kind of space unicode.IsSpace knows, ASCII and not, and a byte
	// that is not UTF-8: wordCount's table must agree with strings.Fields.
	f.Add("Talks\tresumed\vin\fDoha\r\non\u00a0Monday\u0085after\u2003a\u3000pause \xff ended.", 3)
	f.Fuzz(func(t *testing.T, text string, target int) {
		if got, want := wordCount(text), len(strings.Fields(text)); got != want {
			t.Fatalf("wordCount(%.80q) = %d, want %d as strings.Fields counts", text, got, want)
		}
		var passages []string
		within(t, 10*time.Second, "Chunk", func() { passages = Chunk(text, target) })
		for i, p := range passages {
			if strings.TrimSpace(p) == "" {
				t.Fatalf("passage %d of %d is empty: %q", i, len(passages), p)
			}
			if !utf8.ValidString(p) {
				t.Fatalf("passage %d is not valid UTF-8: %q", i, p)
			}
			for _, para := range strings.Split(p, "\n\n") {
				if want := strings.Join(strings.Fields(para), " "); para != want {
					t.Fatalf("passage %d: paragraph %q, want whitespace collapsed to %q", i, para, want)
				}
			}
		}
		got := strings.Fields(strings.Join(passages, " "))
		want := strings.Fields(strings.ToValidUTF8(text, "\uFFFD"))
		if !equalStrings(got, want) {
			t.Fatalf("Chunk(%.80q, %d) words:\n got %.200q\nwant %.200q", text, target, got, want)
		}
		// normalize builds the paragraphs in one buffer, counting their
		// words as it goes: they must be those of the plain definition.
		stored, paras := normalize(text)
		plain := plainParagraphs(text)
		if len(paras) != len(plain) || stored != strings.Join(plain, "\n\n") {
			t.Fatalf("normalize(%.80q) = %.200q, want the paragraphs %.200q", text, stored, plain)
		}
		for i, p := range paras {
			if p.text != plain[i] || p.words != len(strings.Fields(p.text)) {
				t.Fatalf("normalize(%.80q): paragraph %d is %q with %d words, want %q with %d", text, i, p.text, p.words, plain[i], len(strings.Fields(plain[i])))
			}
		}
		// The store keeps an article's paragraphs joined by blank lines and
		// cuts passages from that; cutting the stored text again must give
		// the same passages.
		if again := Chunk(strings.Join(Paragraphs(text), "\n\n"), target); !equalStrings(again, passages) {
			t.Fatalf("Chunk of the stored form of %.80q:\n got %.200q\nwant %.200q", text, again, passages)
		}
		if target > 0 && target <= 1<<16 {
			limit := target*3/2 + target/4
			for i, p := range passages {
				if n := wordCount(p); n > limit {
					t.Errorf("Chunk(_, %d): passage %d has %d words, want at most %d", target, i, n, limit)
				}
			}
		}

		for _, p := range Paragraphs(text) {
			var ss []string
			within(t, 10*time.Second, "Sentences", func() { ss = Sentences(p) })
			for i, s := range ss {
				if s == "" || s != strings.TrimSpace(s) {
					t.Fatalf("Sentences(%.80q): sentence %d is %q, want non-empty and trimmed", p, i, s)
				}
			}
			if got := strings.Join(ss, " "); got != p {
				t.Fatalf("Sentences(%.80q) rejoined:\n got %.200q\nwant %.200q", p, got, p)
			}
		}
	})
}

// TestChunkHugeTarget is a regression test for a target so large that
// target*3/2 overflowed: Chunk looped forever (or panicked) instead of
// returning the text as one passage.
func TestChunkHugeTarget(t *testing.T) {
	for _, target := range []int{6148914691236517205, 1 << 62, math.MaxInt} {
		var got []string
		within(t, 5*time.Second, "Chunk", func() { got = Chunk("a b c. D e f.", target) })
		if want := []string{"a b c. D e f."}; !equalStrings(got, want) {
			t.Errorf("Chunk(_, %d) = %q, want %q", target, got, want)
		}
	}
}

// within fails t if f does not return within d, so that a hang becomes a
// failure the fuzzer records instead of a silently stalled worker.
func within(t *testing.T, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		f()
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		t.Fatalf("%s did not return within %v", what, d)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// anyCiteGroup matches what a reader would take for a citation: a bracketed
// number or list of numbers, of any length.
var anyCiteGroup = regexp.MustCompile(`\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\]`)

var anyLink = regexp.MustCompile(`(?i)https?://`)

// FuzzCheckAnswer checks checkAnswer's contract for any model text and up to
// four sources, one of them with fuzzed text: no panic; every bracketed
// number left in the text names one of the answer's citations, numbered 1..n
// and each used; no link survives; the answer is a refusal exactly when it
// has no citation. The extractive answer from the same sources must keep
// the same rules, and a quotation copied from a cited passage is never
// marked unverified.
func FuzzCheckAnswer(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw, passage string, nsrc uint8) {
		sources := fuzzSources(passage)[:int(nsrc)%5]
		var a Answer
		within(t, 10*time.Second, "checkAnswer", func() { a = checkAnswer(raw, sources) })
		checkShownAnswer(t, fmt.Sprintf("checkAnswer(%.80q)", raw), a)

		// An extractive answer quotes the passage itself: the same rules hold.
		var e Answer
		within(t, 10*time.Second, "extractiveAnswer", func() { e = extractiveAnswer("Who did the envoy meet in Doha?", sources) })
		checkShownAnswer(t, fmt.Sprintf("extractiveAnswer(passage %.80q)", passage), e)

		// A quotation taken verbatim from the cited passage is verified.
		q := passage
		if strings.ContainsAny(q, "\"\n") || utf8.RuneCountInString(q) > 600 || !utf8.ValidString(q) || strings.TrimSpace(q) == "" {
			return
		}
		text := `The envoy said "` + q + `" [1].`
		if _, unverified := markUnverifiedQuotes(text, []Citation{{N: 1, Passage: passage}}); len(unverified) > 0 {
			t.Errorf("markUnverifiedQuotes(%q) with that very passage marked %q, want none", text, unverified)
		}
	})
}

// TestCheckAnswerLeavesNoFakeCitationOrLink is a regression test for text
// that FuzzCheckAnswer's properties reject: numbers of four digits or more
// kept as citations, and links or citations formed by deleting something
// between their halves.
func TestCheckAnswerLeavesNoFakeCitationOrLink(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		wantText string
		dropped  int
	}{
		{"four-digit citation", "Talks went on [1]. Then [1000].", "Talks went on [1]. Then.", 1},
		{"huge citation", "Talks went on [1][99999999999999999999].", "Talks went on [1].", 1},
		{"citation joined by a dropped one", "Talks went on [1] [[9]7].", "Talks went on [1].", 2},
		{"nested joins", "Talks went on [1] [[[8]9]7].", "Talks went on [1].", 3},
		{"link joined by a dropped citation", "Read ht[9]tps://evil.example/x [1].", "Read [1].", 1},
		{"link joined by the no-answer marker", "Read httNO_ANSWERps://evil.example/x [1].", "Read [1].", 0},
		{"scheme inside a word", "See xhttps://evil.example/x [1].", "See x [1].", 0},
		{"bare scheme", "See https:// and HTTP:// [1].", "See and [1].", 0},
		{"link joined by removing a space", "See https ://evil.example/x [1].", "See [1].", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkAnswer(tt.raw, testSources())
			if got.Text != tt.wantText || got.Dropped != tt.dropped {
				t.Errorf("checkAnswer(%q) = %q, %d dropped; want %q, %d dropped", tt.raw, got.Text, got.Dropped, tt.wantText, tt.dropped)
			}
		})
	}
}

// checkShownAnswer fails t unless a is a refusal exactly when it has no
// citation, its citations are numbered 1..n and each is used, every
// bracketed number in its text names one of them, and no link survives.
func checkShownAnswer(t *testing.T, what string, a Answer) {
	t.Helper()
	if a.Refusal != (len(a.Citations) == 0) {
		t.Fatalf("%s: refusal %v with %d citations, want a refusal exactly when none", what, a.Refusal, len(a.Citations))
	}
	if a.Refusal {
		return
	}
	if m := anyLink.FindString(a.Text); m != "" {
		t.Errorf("%s = %.200q: a link (%q) survived", what, a.Text, m)
	}
	used := make(map[int]bool)
	for _, g := range anyCiteGroup.FindAllString(a.Text, -1) {
		for _, f := range strings.FieldsFunc(strings.Trim(g, "[]"), func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 || n > len(a.Citations) {
				t.Errorf("%s = %.200q: citation %s, want 1..%d", what, a.Text, g, len(a.Citations))
			}
			used[n] = true
		}
	}
	for i, c := range a.Citations {
		if c.N != i+1 {
			t.Errorf("%s: citation %d numbered %d, want %d", what, i, c.N, i+1)
		}
		if !used[c.N] {
			t.Errorf("%s = %.200q: citation [%d] listed but not in the text", what, a.Text, c.N)
		}
	}
}

// TestExtractiveAnswerQuotesNoFakeCitationOrLink is a regression test: an
// extractive answer quoted a source sentence with its own "[12]" and link,
// which read as a citation Parley never made and a link from outside the
// store's citations.
func TestExtractiveAnswerQuotesNoFakeCitationOrLink(t *testing.T) {
	src := []Result{{ArticleID: 1, Title: "Doha talks",
		Text: "The envoy met Hamas negotiators in Doha on Sunday [12], see https://evil.example/x for the [statement](https://evil.example/s)."}}
	got := extractiveAnswer("Who did the envoy meet in Doha?", src)
	want := "The envoy met Hamas negotiators in Doha on Sunday, see for the statement. [1]"
	if got.Text != want {
		t.Errorf("extractiveAnswer text = %q, want %q", got.Text, want)
	}
}

func fuzzSources(passage string) []Result {
	return []Result{
		{ArticleID: 10, Title: "Envoy in Doha", URL: "https://a.example/doha", PublishedAt: time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC), Text: passage},
		{ArticleID: 11, Title: "Aid halted", URL: "https://b.example/aid", PublishedAt: time.Date(2025, 3, 2, 0, 0, 0, 0, time.UTC),
			Text: "Israel closed the crossings.   Hamas called it 'collective punishment'."},
		{ArticleID: 12, Title: "Phase one", Text: "The first phase began on 19 January."},
		{ArticleID: 10, Title: "Envoy in Doha", Text: "The envoy said the talks were “useful and frank” and would continue."},
	}
}

// FuzzImportLine checks Import's contract for any bytes: no error (bad
// lines are reported and skipped), every non-blank line counted once as
// added, duplicate, restored or skipped, one fatal report per skipped line,
// and a store that passes its integrity checks afterwards. Each input runs
// against a copy of a small store holding one active and one removed article,
// so duplicates and restores are reachable and failures reproduce.
func FuzzImportLine(f *testing.F) {
	ctx := context.Background()
	tmpl := filepath.Join(f.TempDir(), "template.db")
	s, err := Open(ctx, tmpl, fuzzClock)
	if err != nil {
		f.Fatalf("open template store: %v", err)
	}
	for i, a := range fuzzArticles {
		a.AddedBy = "fuzz"
		res, err := s.Add(ctx, a)
		if err != nil {
			f.Fatalf("add %q: %v", a.Title, err)
		}
		if i == 1 {
			if _, err := s.Remove(ctx, res.Article.ID, "fuzz"); err != nil {
				f.Fatalf("remove %q: %v", a.Title, err)
			}
		}
	}
	if err := s.Close(); err != nil {
		f.Fatalf("close template store: %v", err)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "parley.db")
		copyFile(t, tmpl, path)
		if _, err := os.Stat(tmpl + "-wal"); err == nil {
			copyFile(t, tmpl+"-wal", path+"-wal")
		}
		s := openFuzzStore(t, path)
		before, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}

		var issues []LineIssue
		sum, err := s.Import(ctx, bytes.NewReader(data), ImportOptions{
			AddedBy: "fuzz", BatchSize: 2,
			Report: func(li LineIssue) { issues = append(issues, li) },
		})
		if err != nil {
			t.Fatalf("Import(%.80q): got error %v, want bad lines skipped", data, err)
		}
		if n := sum.Added + sum.Duplicates + sum.Restored + sum.Skipped; n != sum.Lines {
			t.Errorf("Import(%.80q): %+v: added+duplicates+restored+skipped = %d, want lines %d", data, sum, n, sum.Lines)
		}
		lines := bytes.Split(data, []byte("\n"))
		nonBlank := 0
		for _, l := range lines {
			if len(bytes.TrimSpace(l)) > 0 {
				nonBlank++
			}
		}
		if sum.Lines != nonBlank {
			t.Errorf("Import(%.80q): lines = %d, want %d non-blank lines", data, sum.Lines, nonBlank)
		}
		fatal := 0
		for _, li := range issues {
			if li.Fatal {
				fatal++
			}
			if li.Line < 1 || li.Line > len(lines) {
				t.Errorf("Import(%.80q): issue %q on line %d, want 1..%d", data, li, li.Line, len(lines))
			}
		}
		if fatal != sum.Skipped {
			t.Errorf("Import(%.80q): %d fatal issues reported, want one per skipped line (%d)", data, fatal, sum.Skipped)
		}
		if err := s.IntegrityCheck(ctx); err != nil {
			t.Fatalf("Import(%.80q): integrity check after import: %v", data, err)
		}
		after, err := s.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := before.Articles + sum.Added + sum.Restored; after.Articles != want {
			t.Errorf("Import(%.80q): %+v: %d active articles after, want %d", data, sum, after.Articles, want)
		}
		if want := before.Passages + sum.Passages; sum.Restored == 0 && after.Passages != want {
			t.Errorf("Import(%.80q): %+v: %d passages after, want %d", data, sum, after.Passages, want)
		}
	})
}

// TestImportLineWithTwoObjects is a regression test: a line holding two
// objects used to import the first and drop the second without a word.
func TestImportLineWithTwoObjects(t *testing.T) {
	ctx := context.Background()
	s := openFuzzStore(t, filepath.Join(t.TempDir(), "parley.db"))
	line := `{"url": "https://a.example/1", "title": "One", "text": "First."} {"url": "https://a.example/2", "title": "Two", "text": "Second."}` + "\n"
	var issues []LineIssue
	sum, err := s.Import(ctx, strings.NewReader(line), ImportOptions{Report: func(li LineIssue) { issues = append(issues, li) }})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ImportSummary{Lines: 1, Skipped: 1}); sum != want {
		t.Errorf("summary = %+v, want %+v", sum, want)
	}
	if len(issues) != 1 || !issues[0].Fatal || !strings.Contains(issues[0].Message, "after top-level value") {
		t.Errorf("issues = %q, want one saying the line goes on after its object", issues)
	}
}

func copyFile(tb testing.TB, from, to string) {
	tb.Helper()
	in, err := os.Open(from)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(fmt.Errorf("copy %s: %w", from, err))
	}
}

// plainParagraphs is what Paragraphs means, written plainly: lines of
// text, blank lines between paragraphs (or, when no blank line stands
// between two lines of text, a paragraph a line), whitespace collapsed.
func plainParagraphs(text string) []string {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ToValidUTF8(strings.ReplaceAll(text, "\r", "\n"), "\uFFFD")
	lines := strings.Split(text, "\n")
	blank := func(l string) bool { return strings.TrimSpace(l) == "" }
	byBlank := false
	for i, seen := 0, false; i < len(lines); i++ {
		if !blank(lines[i]) {
			seen = true
		} else if seen && slices.ContainsFunc(lines[i+1:], func(l string) bool { return !blank(l) }) {
			byBlank = true
		}
	}
	var out, cur []string
	flush := func() {
		if len(cur) > 0 {
			out = append(out, strings.Join(cur, " "))
			cur = nil
		}
	}
	for _, l := range lines {
		if blank(l) || !byBlank {
			flush()
		}
		cur = append(cur, strings.Fields(l)...)
	}
	flush()
	return out
}
