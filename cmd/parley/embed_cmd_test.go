package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"parley/knowledge/llm/llmtest"
	"parley/knowledge/rtqa"
)

func TestEmbedConfiguration(t *testing.T) {
	c := newCLI(t)
	r := c.run("", "embed")
	if r.code != 1 || !strings.Contains(r.stderr, "PARLEY_EMBED_MODEL") {
		t.Errorf("embed without a model: exit %d, stderr %q; want 1 and the variable named", r.code, r.stderr)
	}
	c.env["PARLEY_EMBED_MODEL"] = "nomic-embed-text"
	r = c.run("", "search", "Doha")
	if r.code != 1 || !strings.Contains(r.stderr, "PARLEY_EMBED_BASE_URL or OPENAI_BASE_URL") {
		t.Errorf("a model without an endpoint: exit %d, stderr %q; want the endpoint variables named", r.code, r.stderr)
	}
	c.env["PARLEY_EMBED_BASE_URL"] = "localhost:11434"
	r = c.run("", "search", "Doha")
	if r.code != 1 || !strings.Contains(r.stderr, "PARLEY_EMBED_BASE_URL=") {
		t.Errorf("a URL without a scheme: exit %d, stderr %q", r.code, r.stderr)
	}
	c.env["PARLEY_EMBED_BASE_URL"] = "http://127.0.0.1:1/v1"
	for _, w := range []string{"half", "0", "-1", "50", "NaN"} {
		c.env["PARLEY_EMBED_WEIGHT"] = w
		r = c.run("", "search", "Doha")
		if r.code != 1 || !strings.Contains(r.stderr, "PARLEY_EMBED_WEIGHT=") {
			t.Errorf("PARLEY_EMBED_WEIGHT=%s: exit %d, stderr %q; want the variable named", w, r.code, r.stderr)
		}
	}
	// A good weight is taken; the endpoint being down only costs the
	// search its reranking.
	c.env["PARLEY_EMBED_WEIGHT"] = "0.25"
	if r = c.run("", "search", "Doha"); r.code != 0 {
		t.Errorf("PARLEY_EMBED_WEIGHT=0.25: exit %d, stderr %q", r.code, r.stderr)
	}
}

func TestEmbedCommandsEndToEnd(t *testing.T) {
	srv := llmtest.New(t)
	c := newCLI(t)
	delete(c.env, "PARLEY_STARTER") // the starter briefs are embedded too
	c.env["PARLEY_EMBED_MODEL"] = "fake-embed"
	c.env["PARLEY_EMBED_BASE_URL"] = srv.URL
	c.env["PARLEY_EMBED_DOC_PREFIX"] = "search_document: "

	r := c.run("", "embed")
	if r.code != 0 || !strings.Contains(r.stdout, "with fake-embed") || !strings.Contains(r.stdout, "; 0 without a vector") {
		t.Fatalf("embed: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.HasPrefix(r.stdout, "embedded 0 ") {
		t.Errorf("embed made no vectors for the starter briefs: %q", r.stdout)
	}

	file := filepath.Join(t.TempDir(), "a.jsonl")
	os.WriteFile(file, []byte(articlesJSONL), 0o600)
	r = c.run("", "import", "--quiet", file)
	if r.code != 0 || !strings.Contains(r.stderr, "embedded 2 passages with fake-embed") {
		t.Errorf("import: exit %d, stderr %q; want the new passages embedded", r.code, r.stderr)
	}
	r = c.run("", "embed")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "embedded 0 passages") {
		t.Errorf("embed after import: %q, want nothing left to do", r.stdout)
	}
	for _, text := range srv.Embedded() {
		if !strings.HasPrefix(text, "search_document: ") {
			t.Errorf("a passage was sent without the document prefix: %q", text)
		}
	}

	sent := len(srv.Embedded())
	r = c.run("", "search", "--json", "Who met Hamas in Doha?")
	if r.code != 0 || !strings.Contains(r.stdout, "US envoy holds direct talks") {
		t.Fatalf("search with embeddings: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if got := srv.Embedded()[sent:]; len(got) != 1 || got[0] != "Who met Hamas in Doha?" {
		t.Errorf("search embedded %q, want the question once", got)
	}

	// The endpoint fails: the article is stored, the failure reported,
	// and search goes on with full text.
	srv.EmbedStatus = 503
	c.env["PARLEY_EMBED_API_KEY"] = "sk-embed-secret"
	note := filepath.Join(t.TempDir(), "note.txt")
	os.WriteFile(note, []byte("Mediators in Cairo proposed a new timetable for the second phase."), 0o600)
	r = c.run("", "source", "add", "--file", note, "--title", "Cairo timetable")
	if r.code != 0 || !strings.Contains(r.stdout, "added #") || !strings.Contains(r.stderr, "run 'parley embed' later") {
		t.Errorf("source add with a failing endpoint: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = c.run("", "search", "Cairo timetable for the second phase")
	if r.code != 0 || !strings.Contains(r.stdout, "Cairo timetable") || !strings.Contains(r.stderr, "search without embeddings") {
		t.Errorf("search with a failing endpoint: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if strings.Contains(r.stderr, "sk-embed-secret") {
		t.Errorf("the embedding key leaked into stderr: %q", r.stderr)
	}
}

// writeTestWeek writes a tiny RealTime QA week, made up for this test, in
// the format of EVAL.md.
func writeTestWeek(t *testing.T, dir string) {
	t.Helper()
	qa := []rtqa.QARecord{
		{ID: "q1", Date: "2026/03/06", Sentence: "Where did the envoys meet this week?", Choices: []string{"Doha", "Oslo", "Cairo", "Paris"}, Answer: []string{"0"}},
		{ID: "q2", Date: "2026/03/06", Sentence: "Which crossing reopened for aid trucks?", Choices: []string{"Rafah", "Erez", "Allenby", "Taba"}, Answer: []string{"0"}},
	}
	gcs := []rtqa.GCSRecord{
		{ID: "q1", Results: []rtqa.SearchResult{
			{URL: "https://news.example/envoys", Title: "Envoys meet", Text: "The envoys met in Doha on Tuesday for a second round.", Authors: []string{"A. Writer"}, Published: "2026/03/04"},
			{URL: "https://news.example/weather", Title: "Weather", Text: "Rain is expected across the coast this week.", Published: "2026/03/05"},
		}},
		{ID: "q2", Results: []rtqa.SearchResult{
			{URL: "https://news.example/rafah", Title: "Aid resumes", Text: "Aid trucks crossed at Rafah after the crossing reopened.", Published: "2026/03/03"},
		}},
	}
	if err := rtqa.WriteWeek(dir, "20260306", qa, gcs); err != nil {
		t.Fatal(err)
	}
}

// embeddingEval returns the folder of writeTestWeek's week and a CLI whose
// embeddings come from the fake endpoint it also returns.
func embeddingEval(t *testing.T) (dir string, srv *llmtest.Server, c *cli) {
	t.Helper()
	dir = t.TempDir()
	writeTestWeek(t, dir)
	srv = llmtest.New(t)
	c = newCLI(t)
	c.env["PARLEY_EMBED_MODEL"] = "fake-embed"
	c.env["OPENAI_BASE_URL"] = srv.URL
	return dir, srv, c
}

func TestEvalRTQAWithEmbeddings(t *testing.T) {
	dir, srv, c := embeddingEval(t)
	r := c.run("", "eval", "rtqa", "--json", dir)
	if r.code != 0 {
		t.Fatalf("eval: exit %d, stderr %s", r.code, r.stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, r.stdout)
	}
	if rep.EmbedModel != "fake-embed" || len(rep.Rows) != 7 {
		t.Fatalf("want the embedding model and 7 rows, got %q and %d rows", rep.EmbedModel, len(rep.Rows))
	}
	if same := rep.Rows[5]; !strings.Contains(same.Name, "Parley's query terms") || same.Metrics.Questions != 2 {
		t.Errorf("row 5 should be the reference with Parley's terms over both questions: %+v", same)
	}
	for _, i := range []int{1, 2, 3, 4} {
		if row := rep.Rows[i]; row.Metrics.Questions != 2 || row.Metrics.Hits1 != 1 {
			t.Errorf("row %q: %+v, want both questions answered at rank 1", row.Name, row.Metrics)
		}
		// The reference ranks both first too, so every resample's ratio is 1.
		if row := rep.Rows[i]; row.RatioLow != 1 || row.RatioHigh != 1 {
			t.Errorf("row %q: ratio interval [%v, %v], want [1, 1]", row.Name, row.RatioLow, row.RatioHigh)
		}
	}
	if !strings.Contains(rep.Rows[3].Name, "embeddings") || !strings.Contains(rep.Rows[4].Name, "embeddings") {
		t.Errorf("rows 3 and 4 should be the embedding rows: %q, %q", rep.Rows[3].Name, rep.Rows[4].Name)
	}
	if srv.EmbedCalls() == 0 {
		t.Error("no embedding requests were made")
	}
	// Both made-up answers sit next to their question's words, so strict
	// judging keeps both questions, scored the same.
	if len(rep.Strict) != 5 {
		t.Fatalf("strict judgements: %d rows, want the reference and the four Parley rows", len(rep.Strict))
	}
	for i, row := range rep.Strict {
		if row.Name != rep.Rows[i].Name || row.Metrics != rep.Rows[i].Metrics || row.MedianMS != 0 {
			t.Errorf("strict row %d = %+v, want %q with the same metrics and no latency", i, row, rep.Rows[i].Name)
		}
	}
	if rep.BarePassages != 3 || rep.BareInsertS <= 0 || rep.ImportOverBare <= 0 || rep.PeakRSSMB <= 0 {
		t.Errorf("speed and memory: %d bare passages in %vs, import/bare %v, peak %v MB; want all measured",
			rep.BarePassages, rep.BareInsertS, rep.ImportOverBare, rep.PeakRSSMB)
	}
}

// TestBotEmbedsInTheBackground runs `parley bot` with only an embedding
// endpoint: answers stay extractive, the starter briefs are embedded in the
// background, and questions are embedded for search.
func TestBotEmbedsInTheBackground(t *testing.T) {
	srv := llmtest.New(t)
	br := startBotCmd(t, map[string]string{"PARLEY_EMBED_MODEL": "fake-embed", "PARLEY_EMBED_BASE_URL": srv.URL})
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(br.stderr.String(), "embedded passages") {
		if time.Now().After(deadline) {
			t.Fatalf("the starter briefs were not embedded:\n%s", br.stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	const q = "Who is talking to Hamas, and where?"
	tok := br.ask(t, q, "700000000000000001")
	br.waitAnswered(t, tok)
	br.stop(t)
	if !slices.Contains(srv.Embedded(), q) {
		t.Errorf("the question was not embedded for search; sent %d texts", len(srv.Embedded()))
	}
	if logs := br.stderr.String(); !strings.Contains(logs, "embeddings on") || strings.Contains(logs, "search without embeddings") {
		t.Errorf("log:\n%s", logs)
	}
}

// An article the store refuses is one only the reference can find: eval
// rtqa must say so rather than report figures over a smaller pool.
func TestEvalRTQAWarnsOfArticlesNotImported(t *testing.T) {
	dir := t.TempDir()
	qa := []rtqa.QARecord{
		{ID: "q1", Date: "2026/03/06", Sentence: "Where did the envoys meet this week?", Choices: []string{"Doha", "Oslo"}, Answer: []string{"0"}},
	}
	gcs := []rtqa.GCSRecord{{ID: "q1", Results: []rtqa.SearchResult{
		{URL: "https://news.example/envoys", Title: "Envoys meet", Text: "The envoys met in Doha on Tuesday.", Published: "2026/03/04"},
		{URL: "ftp://news.example/envoys.txt", Title: "Envoys, again", Text: "Doha hosted the envoys again.", Published: "2026/03/05"},
	}}}
	if err := rtqa.WriteWeek(dir, "20260306", qa, gcs); err != nil {
		t.Fatal(err)
	}
	r := newCLI(t).run("", "eval", "rtqa", "--json", dir)
	if r.code != 0 {
		t.Fatalf("eval: exit %d, stderr %s", r.code, r.stderr)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("eval --json: %v\n%s", err, r.stdout)
	}
	if rep.Articles != 1 || rep.NotImported != 1 {
		t.Errorf("articles: %d imported, %d not; want 1 and 1", rep.Articles, rep.NotImported)
	}
	if !strings.Contains(r.stderr, "1 of 2 articles were not imported") {
		t.Errorf("stderr does not warn of the article left out: %q", r.stderr)
	}
}

// A store kept by --keep can be measured again, with another embedding
// weight say, without importing or embedding it again; a kept store with
// other articles in it is refused, since the reference would not see them.
func TestEvalRTQAReusesAKeptStore(t *testing.T) {
	dir, srv, c := embeddingEval(t)
	kept := filepath.Join(t.TempDir(), "kept.db")
	passagesEmbedded := func() int {
		n := 0
		for _, text := range srv.Embedded() {
			if strings.Contains(text, "Aid trucks crossed") {
				n++
			}
		}
		return n
	}
	var reps [2]evalReport
	for i := range reps {
		r := c.run("", "eval", "rtqa", "--json", "--keep", kept, dir)
		if r.code != 0 {
			t.Fatalf("eval %d: exit %d, stderr %s", i+1, r.code, r.stderr)
		}
		if err := json.Unmarshal([]byte(r.stdout), &reps[i]); err != nil {
			t.Fatalf("eval %d --json: %v\n%s", i+1, err, r.stdout)
		}
	}
	if first, again := reps[0], reps[1]; first.Reused || !again.Reused {
		t.Errorf("reused: %v on the first run, %v on the second; want false, true", first.Reused, again.Reused)
	}
	if again := reps[1]; again.Articles != 3 || again.Passages != 3 || again.ImportOverBare != 0 {
		t.Errorf("second run: %d articles, %d passages, import/bare %v; want the kept store's 3 and 3, and no import figure",
			again.Articles, again.Passages, again.ImportOverBare)
	}
	if n := passagesEmbedded(); n != 1 {
		t.Errorf("the passage was embedded %d times over two runs, want once", n)
	}
	for i := range reps[0].Rows {
		if reps[0].Rows[i].Metrics != reps[1].Rows[i].Metrics {
			t.Errorf("row %q: %+v, then %+v on the kept store", reps[0].Rows[i].Name, reps[0].Rows[i].Metrics, reps[1].Rows[i].Metrics)
		}
	}
	if r := c.run("", "eval", "rtqa", "--json", "--keep", kept, writeOtherWeek(t)); r.code == 0 || !strings.Contains(r.stderr, "give --keep a new path") {
		t.Errorf("eval of other weeks on the kept store: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
}

// writeOtherWeek writes another made-up week, with articles the test week
// does not have, and returns its folder.
func writeOtherWeek(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	qa := []rtqa.QARecord{{ID: "o1", Date: "2026/03/13", Sentence: "Which city hosted the reconstruction conference?", Choices: []string{"Cairo", "Amman"}, Answer: []string{"0"}}}
	gcs := []rtqa.GCSRecord{{ID: "o1", Results: []rtqa.SearchResult{
		{URL: "https://news.example/conference", Title: "Donors meet", Text: "Cairo hosted the donors' conference on rebuilding Gaza.", Published: "2026/03/12"},
	}}}
	if err := rtqa.WriteWeek(dir, "20260313", qa, gcs); err != nil {
		t.Fatal(err)
	}
	return dir
}
