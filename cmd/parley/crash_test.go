package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"parley/knowledge"
)

// crashSeed makes the synthetic articles and the kill delays reproducible;
// where in the import each kill lands still depends on the machine.
const crashSeed = 6

// TestImportSurvivesKill imports a few thousand generated articles with the
// real binary, kills it with SIGKILL at random moments, and after each kill
// checks that the store opens, passes SQLite's and FTS5's integrity checks,
// and holds only whole articles: each stored article has exactly the
// passages Chunk cuts from its text, all of them in the full-text index. A
// last import run to completion must then leave every distinct article
// stored once.
func TestImportSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the parley binary and kills real imports")
	}
	ctx := context.Background()
	began := time.Now()
	bin := buildParley(t)
	t.Logf("built %s in %v", filepath.Base(bin), time.Since(began).Round(time.Millisecond))

	dir := t.TempDir()
	file := filepath.Join(dir, "articles.jsonl")
	distinct := writeSyntheticArticles(t, file, 3000, crashSeed)
	db := filepath.Join(dir, "parley.db")

	rng := rand.New(rand.NewPCG(crashSeed, 1))
	const rounds = 10
	killed := 0
	for round := range rounds {
		// Two rounds in three start from an empty store, so that most kills
		// land while new articles are written; the third resumes over what
		// the last kill left, as an operator re-running the import would.
		if round%3 != 2 {
			removeStore(t, db)
		}
		delay := time.Duration(50+rng.IntN(1451)) * time.Millisecond
		before := countArticles(t, db)
		cmd := importCmd(bin, db, file)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("start import: %v", err)
		}
		time.Sleep(delay)
		kerr := cmd.Process.Kill()
		werr := cmd.Wait()
		var wal int64
		if fi, err := os.Stat(db + "-wal"); err == nil {
			wal = fi.Size()
		}
		switch {
		case kerr == nil && werr != nil && cmd.ProcessState.ExitCode() == -1:
			killed++
		case werr != nil:
			t.Fatalf("round %d: import failed on its own: %v\n%s", round, werr, stderr.String())
		}
		after := verifyStore(ctx, t, db, distinct)
		t.Logf("round %d: stopped after %v (%v) leaving a %d KiB WAL: %d articles before, %d after; store whole",
			round, delay, cmd.ProcessState, wal>>10, before, after)
	}
	if killed == 0 {
		t.Errorf("no import was killed before it finished: got 0 kills in %d rounds, want some", rounds)
	}

	// A last import, left to finish, completes the store.
	cmd := importCmd(bin, db, file)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("final import: %v\n%s", err, out)
	}
	if got := verifyStore(ctx, t, db, distinct); got != len(distinct) {
		t.Errorf("after a complete import: got %d articles, want %d distinct", got, len(distinct))
	}
	t.Logf("%d of %d imports killed; total %v", killed, rounds, time.Since(began).Round(time.Millisecond))
}

// buildParley builds the real binary into a temporary directory.
func buildParley(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("no go tool to build parley with: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "parley")
	cmd := exec.Command(goTool, "build", "-tags", "sqlite_fts5", "-o", bin, "./cmd/parley")
	cmd.Dir = moduleRoot(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// moduleRoot finds the directory holding go.mod, above the test's working
// directory.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's working directory")
		}
		dir = parent
	}
}

// importCmd runs `parley import --quiet FILE` on the store at db, with none
// of the caller's PARLEY_ settings.
func importCmd(bin, db, file string) *exec.Cmd {
	cmd := exec.Command(bin, "import", "--quiet", file)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PARLEY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PARLEY_DB="+db, "PARLEY_STARTER=off", "USER=crash-test")
	return cmd
}

func removeStore(t *testing.T, db string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(db + suffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// countArticles returns how many articles the store at db holds, 0 if there
// is no store yet.
func countArticles(t *testing.T, db string) int {
	t.Helper()
	if _, err := os.Stat(db); errors.Is(err, os.ErrNotExist) {
		return 0
	}
	s, err := knowledge.Open(context.Background(), db)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	defer s.Close()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Articles
}

var tokenRe = regexp.MustCompile(`\bkq\d{5}z\b`)

// verifyStore opens the store at db and checks it: both integrity checks
// pass; every article is one of the generated ones, with exactly the
// passages Chunk cuts from its text, each found in the full-text index by the
// article's unique token. It returns the number of articles.
func verifyStore(ctx context.Context, t *testing.T, db string, distinct map[string]string) int {
	t.Helper()
	s, err := knowledge.Open(ctx, db)
	if err != nil {
		t.Fatalf("open store after kill: %v", err)
	}
	defer s.Close()
	if err := s.IntegrityCheck(ctx); err != nil {
		t.Fatalf("integrity after kill: %v", err)
	}
	list, total, err := s.List(ctx, knowledge.ListOptions{IncludeRemoved: true, Limit: len(distinct) + 1})
	if err != nil {
		t.Fatal(err)
	}
	if total > len(distinct) {
		t.Errorf("got %d articles, want at most the %d distinct ones", total, len(distinct))
	}
	passages := 0
	for _, l := range list {
		a, err := s.Get(ctx, l.ID)
		if err != nil {
			t.Fatal(err)
		}
		token := tokenRe.FindString(a.Text)
		if want, ok := distinct[token]; !ok || a.URL != want {
			t.Errorf("article %d (%s, token %q): got an article the file does not hold, want %q", a.ID, a.URL, token, want)
			continue
		}
		want := knowledge.Chunk(a.Text, knowledge.DefaultPassageWords)
		if a.Passages != len(want) {
			t.Errorf("article %d (%s): got %d passages, want %d", a.ID, a.URL, a.Passages, len(want))
		}
		passages += a.Passages
		res, err := s.Search(ctx, token, knowledge.SearchOptions{Limit: knowledge.MaxSearchLimit})
		if err != nil {
			t.Fatal(err)
		}
		seen := make([]bool, len(want))
		for _, r := range res {
			if r.ArticleID != a.ID {
				t.Errorf("search %q: got article %d, want only %d", token, r.ArticleID, a.ID)
				continue
			}
			if r.Seq < 0 || r.Seq >= len(want) || seen[r.Seq] || r.Text != want[r.Seq] {
				t.Errorf("article %d (%s): indexed passage %d does not match Chunk's cut:\n got %.100q", a.ID, a.URL, r.Seq, r.Text)
				continue
			}
			seen[r.Seq] = true
		}
		for seq, ok := range seen {
			if !ok {
				t.Errorf("article %d (%s): passage %d missing from the full-text index", a.ID, a.URL, seq)
			}
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Passages != passages {
		t.Errorf("got %d passages in the store, want %d from its articles", st.Passages, passages)
	}
	if t.Failed() {
		t.FailNow()
	}
	return total
}

// writeSyntheticArticles writes n generated articles to path as JSON Lines,
// with repeated lines, same-text and same-URL duplicates and bad lines mixed
// in. It returns the distinct articles, their unique token mapped to their
// URL as the store canonicalises it.
func writeSyntheticArticles(t *testing.T, path string, n int, seed uint64) map[string]string {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 2))
	distinct := make(map[string]string, n)
	var lines []string
	var recs []knowledge.ImportRecord
	line := func(r knowledge.ImportRecord) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for i := range n {
		token := fmt.Sprintf("kq%05dz", i)
		r := knowledge.ImportRecord{
			URL:         fmt.Sprintf("https://synthetic.example/%d/%s?utm_source=feed", 2024+i%2, token),
			Title:       strings.TrimSuffix(sentence(rng, 4+rng.IntN(8)), "."),
			Text:        articleText(rng, token, 1+rng.IntN(8)),
			PublishedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(500)).Format("2006-01-02"),
			Outlet:      outlets[rng.IntN(len(outlets))],
			Language:    "en",
		}
		distinct[token] = fmt.Sprintf("https://synthetic.example/%d/%s", 2024+i%2, token)
		recs = append(recs, r)
		lines = append(lines, line(r))

		switch k := rng.IntN(100); {
		case k < 3 && i > 0: // a line seen before, repeated
			lines = append(lines, line(recs[rng.IntN(i)]))
		case k < 5 && i > 0: // the same text under another URL
			d := recs[rng.IntN(i)]
			d.URL = fmt.Sprintf("https://mirror.example/copy/%d", i)
			lines = append(lines, line(d))
		case k < 7 && i > 0: // another text under a URL already used
			d := recs[rng.IntN(i)]
			d.Text = articleText(rng, "", 1+rng.IntN(3))
			lines = append(lines, line(d))
		case k < 8: // bad lines, reported and skipped
			lines = append(lines, `{"url": "https://synthetic.example/broken", "title": "cut off`, `{"title": "no text"}`)
		}
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return distinct
}

var outlets = []string{"Wire", "Example News", "Daily Record", "Al Example", "Times of Example"}

var vocabulary = strings.Fields(`ceasefire hostage hostages talks negotiators envoy mediators Qatar Egypt
	Doha Cairo Gaza Israel Hamas phase agreement proposal release prisoners exchange aid crossings
	truck trucks humanitarian officials said statement delegation framework withdrawal corridor
	Rafah Philadelphi security cabinet minister prime government families protest Tel Aviv
	Jerusalem talks resumed stalled collapsed sources familiar matter week Tuesday Wednesday
	Thursday senior official spokesman spokeswoman negotiations round indirect direct guarantees
	United States Washington administration bodies returned captives remaining list names
	sequencing timetable border reconstruction governance fighters strikes killed wounded
	hospital ministry health displaced north south return residents fuel electricity water`)

// sentence makes a capitalised sentence of n words ending in a full stop,
// now and then with an abbreviation, a number or a quotation.
func sentence(rng *rand.Rand, n int) string {
	words := make([]string, n)
	for i := range words {
		words[i] = vocabulary[rng.IntN(len(vocabulary))]
		switch rng.IntN(40) {
		case 0:
			words[i] = "Mr."
		case 1:
			words[i] = fmt.Sprint(rng.IntN(2000))
		case 2:
			words[i] = "U.S."
		case 3:
			words[i] = `"` + words[i] + `"`
		}
	}
	words[0] = strings.ToUpper(words[0][:1]) + words[0][1:]
	end := []string{".", ".", ".", "?", "!"}[rng.IntN(5)]
	return strings.Join(words, " ") + end
}

// articleText makes paras paragraphs of varied length, each carrying token
// (when set) so that every passage of the article can be found by it. About
// one paragraph in ten is long enough that Chunk must cut it at sentences.
func articleText(rng *rand.Rand, token string, paras int) string {
	var ps []string
	for range paras {
		sentences := 1 + rng.IntN(8)
		if rng.IntN(10) == 0 {
			sentences = 25 + rng.IntN(20)
		}
		var ss []string
		for range sentences {
			s := sentence(rng, 5+rng.IntN(20))
			if token != "" {
				s = strings.TrimRight(s, ".?!") + " " + token + "."
			}
			ss = append(ss, s)
		}
		ps = append(ps, strings.Join(ss, " "))
	}
	return strings.Join(ps, "\n\n")
}
