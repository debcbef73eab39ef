package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"parley/knowledge/webpage"
)

// cli runs parley in-process against a store in a temporary directory.
type cli struct {
	t   *testing.T
	env map[string]string
	// fetcher replaces the production fetcher when set.
	fetcher *webpage.Fetcher
}

func newCLI(t *testing.T) *cli {
	dir := t.TempDir()
	return &cli{t: t, env: map[string]string{"PARLEY_DB": filepath.Join(dir, "parley.db"), "USER": "tester", "HOME": dir, "PARLEY_STARTER": "off"}}
}

type result struct {
	code           int
	stdout, stderr string
}

func (c *cli) run(stdin string, args ...string) result {
	c.t.Helper()
	var out, errb bytes.Buffer
	a := &app{
		getenv: func(k string) string { return c.env[k] }, stdin: strings.NewReader(stdin),
		stdout: &out, stderr: &errb, now: func() time.Time { return time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC) },
		fetcher: webpage.NewFetcher(webpage.Options{Timeout: 5 * time.Second}),
	}
	if c.fetcher != nil {
		a.fetcher = c.fetcher
	}
	code := a.main(context.Background(), args)
	return result{code, out.String(), errb.String()}
}

const articlesJSONL = `{"url": "https://news.example/doha", "title": "US envoy holds direct talks with Hamas in Doha", "text": "A US hostage envoy met Hamas officials in Doha.\n\nThe talks centred on an American-Israeli hostage.", "published_at": "2025-03-05", "outlet": "Example News"}
{"url": "https://news.example/aid", "title": "Israel stops aid to Gaza", "text": "Israel closed the crossings after the first phase ended.", "published_at": "2025-03-02", "outlet": "Wire"}
not json at all
{"url": "https://news.example/doha", "title": "US envoy holds direct talks with Hamas in Doha", "text": "A US hostage envoy met Hamas officials in Doha.\n\nThe talks centred on an American-Israeli hostage.", "published_at": "2025-03-05"}
`

func TestImportAndSearch(t *testing.T) {
	c := newCLI(t)
	file := filepath.Join(t.TempDir(), "a.jsonl")
	os.WriteFile(file, []byte(articlesJSONL), 0o600)
	r := c.run("", "import", file)
	if r.code != 0 {
		t.Fatalf("import: exit %d, stderr %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stderr, "line 3: skipped") {
		t.Errorf("import stderr %q does not name line 3", r.stderr)
	}
	if !strings.Contains(r.stdout, "imported 2 new articles") || !strings.Contains(r.stdout, "1 already stored") {
		t.Errorf("import summary = %q", r.stdout)
	}

	r = c.run("Who met Hamas in Doha?\n\"\n\nWhy was aid stopped?\n", "search", "--json", "--limit", "5")
	if r.code != 0 {
		t.Fatalf("search: exit %d, stderr %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("got %d JSON lines, want one per input line (4): %q", len(lines), r.stdout)
	}
	var first searchJSON
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Query != "Who met Hamas in Doha?" || len(first.Results) == 0 {
		t.Fatalf("first line = %+v", first)
	}
	top := first.Results[0]
	if top.URL != "https://news.example/doha" || top.Outlet != "Example News" || top.PublishedAt != "2025-03-05T00:00:00Z" || top.ArticleID == 0 || top.Passage == "" {
		t.Errorf("top result = %+v", top)
	}
	var quote searchJSON
	json.Unmarshal([]byte(lines[1]), &quote)
	if quote.Query != `"` || quote.Results == nil {
		t.Errorf("a lone quote: got %+v, want an empty results list", quote)
	}

	r = c.run("", "search", "aid", "crossings", "--as-of", "2025-03-03")
	if r.code != 0 || !strings.Contains(r.stdout, "Israel stops aid to Gaza") {
		t.Errorf("text search: exit %d, out %q", r.code, r.stdout)
	}
}

func TestSourceLifecycle(t *testing.T) {
	c := newCLI(t)
	file := filepath.Join(t.TempDir(), "brief.md")
	os.WriteFile(file, []byte("# Talks brief\n\nMediators in **Cairo** proposed [a plan](https://x.example).\n"), 0o600)
	r := c.run("", "source", "add", "--file", file, "--date", "2025-03-06", "--outlet", "Desk")
	if r.code != 0 || !strings.Contains(r.stdout, `added #1 "Talks brief"`) {
		t.Fatalf("add file: exit %d, out %q, err %q", r.code, r.stdout, r.stderr)
	}
	r = c.run("", "source", "add", "--file", file, "--title", "Again")
	if r.code != 0 || !strings.Contains(r.stdout, "already stored as #1") {
		t.Errorf("add duplicate: exit %d, out %q", r.code, r.stdout)
	}
	r = c.run("", "source", "show", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "Mediators in Cairo proposed a plan.") || !strings.Contains(r.stdout, "cli:tester") {
		t.Errorf("show: exit %d, out %q", r.code, r.stdout)
	}
	r = c.run("", "source", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "Talks brief") || !strings.Contains(r.stdout, "page 1 of 1") {
		t.Errorf("list: exit %d, out %q", r.code, r.stdout)
	}
	r = c.run("", "source", "remove", "1")
	if r.code != 0 || !strings.Contains(r.stdout, "removed #1") {
		t.Errorf("remove: exit %d, out %q", r.code, r.stdout)
	}
	r = c.run("", "source", "log")
	if r.code != 0 || !strings.Contains(r.stdout, "remove") || !strings.Contains(r.stdout, "add") {
		t.Errorf("log: exit %d, out %q", r.code, r.stdout)
	}
	r = c.run("", "source", "show", "99")
	if r.code != 1 || !strings.Contains(r.stderr, "no article #99") {
		t.Errorf("show missing: exit %d, err %q", r.code, r.stderr)
	}
	r = c.run("", "source", "remove", "99")
	if r.code != 1 || !strings.Contains(r.stderr, "no article #99") {
		t.Errorf("remove missing: exit %d, err %q", r.code, r.stderr)
	}
	r = c.run("", "source", "add", "--file", file+".missing", "--title", "x")
	if r.code != 1 || r.stderr == "" {
		t.Errorf("add missing file: exit %d, err %q", r.code, r.stderr)
	}
}

func TestSourceAddRefusesUnsafeURLs(t *testing.T) {
	c := newCLI(t)
	for _, u := range []string{
		"http://127.0.0.1/admin", "http://169.254.169.254/latest/meta-data/", "file:///etc/passwd",
		"http://localhost:8080/", "http://[::1]/", "http://10.1.2.3/", "http://2130706433/", "gopher://x.example/",
	} {
		r := c.run("", "source", "add", u)
		if r.code != 1 || !strings.Contains(r.stderr, "refused") {
			t.Errorf("source add %s: exit %d, stderr %q; want a refusal", u, r.code, r.stderr)
		}
	}
}

func TestSourceAddFetchesPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<html lang="en"><head><title>Envoy meets Hamas - Example</title>
<meta property="og:site_name" content="Example News"><meta property="article:published_time" content="2025-03-05T10:00:00Z">
<meta name="author" content="A. Writer"></head><body><nav>Home | World</nav><article><h1>Envoy meets Hamas</h1>
<p>A United States envoy for hostage affairs met senior Hamas officials in the Qatari capital this week, officials said, in a rare direct contact.</p>
<p>The discussions centred on the release of an American-Israeli soldier held in Gaza, and on the wider ceasefire, according to people briefed on them.</p>
<p>Israel was consulted before the meeting, the White House said, while Israeli officials voiced concern in private.</p>
</article><footer>Copyright Example</footer></body></html>`)
	}))
	defer srv.Close()
	c := newCLI(t)
	c.fetcher = webpage.NewFetcher(webpage.Options{AllowLoopback: true, Timeout: 5 * time.Second})
	r := c.run("", "source", "add", srv.URL+"/world/envoy")
	if r.code != 0 || !strings.Contains(r.stdout, "added #1") {
		t.Fatalf("add URL: exit %d, out %q, err %q", r.code, r.stdout, r.stderr)
	}
	r = c.run("", "source", "show", "1")
	for _, want := range []string{"Example News", "2025-03-05", "Writer", "Qatari capital", srv.URL + "/world/envoy"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "Copyright") {
		t.Errorf("boilerplate kept:\n%s", r.stdout)
	}
	r = c.run("", "source", "add", srv.URL+"/world/envoy")
	if r.code != 0 || !strings.Contains(r.stdout, "already stored") {
		t.Errorf("re-add URL: exit %d, out %q", r.code, r.stdout)
	}
}

func TestHelpAndUsageErrors(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{
		{"--help"}, {"help"}, {"import", "--help"}, {"search", "-h"}, {"source", "--help"},
		{"source", "add", "--help"}, {"source", "list", "--help"}, {"source", "show", "--help"},
		{"source", "remove", "--help"}, {"source", "log", "--help"}, {"eval", "rtqa", "--help"}, {"backup", "--help"},
	} {
		r := c.run("", args...)
		if r.code != 0 || !strings.Contains(r.stdout, "Usage") {
			t.Errorf("%v: exit %d, stdout %q", args, r.code, r.stdout)
		}
	}
	for _, args := range [][]string{
		{"frobnicate"}, {"search", "--limit", "0", "x"}, {"search", "--nope"}, {"import"},
		{"source", "show", "abc"}, {"source", "zap"}, {"search", "--as-of", "yesterday", "x"},
	} {
		r := c.run("", args...)
		if r.code != 2 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and a message", args, r.code, r.stderr)
		}
	}
}

func TestDBPath(t *testing.T) {
	a := &app{getenv: func(k string) string {
		return map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/home/u"}[k]
	}}
	if p, _ := a.dbPath(""); p != "/xdg/parley/parley.db" {
		t.Errorf("with XDG_DATA_HOME: %q", p)
	}
	a.getenv = func(k string) string { return map[string]string{"HOME": "/home/u"}[k] }
	if p, _ := a.dbPath(""); p != "/home/u/.local/share/parley/parley.db" {
		t.Errorf("with HOME: %q", p)
	}
	if p, _ := a.dbPath("/flag.db"); p != "/flag.db" {
		t.Errorf("flag: %q", p)
	}
}

func TestBackupCommand(t *testing.T) {
	c := newCLI(t)
	c.run(articlesJSONL, "import", "-")
	dst := filepath.Join(t.TempDir(), "copy.db")
	if r := c.run("", "backup", dst); r.code != 0 {
		t.Fatalf("backup: exit %d, %s", r.code, r.stderr)
	}
	c.env["PARLEY_DB"] = dst
	r := c.run("", "search", "--json", "envoy Doha")
	if r.code != 0 || !strings.Contains(r.stdout, "news.example/doha") {
		t.Errorf("search in backup: exit %d, out %q", r.code, r.stdout)
	}
}

func TestStarterBriefsSeededOnce(t *testing.T) {
	c := newCLI(t)
	delete(c.env, "PARLEY_STARTER")
	r := c.run("", "source", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "(5 articles)") {
		t.Fatalf("fresh store: exit %d, out %q", r.code, r.stdout)
	}
	if r := c.run("", "source", "remove", "1"); r.code != 0 {
		t.Fatalf("remove: %s", r.stderr)
	}
	r = c.run("", "source", "list")
	if !strings.Contains(r.stdout, "(4 articles)") {
		t.Errorf("after removing a brief: %q; want 4 articles, not a re-seed", r.stdout)
	}
	c.env["PARLEY_STARTER"] = "maybe"
	if r := c.run("", "source", "list"); r.code != 1 || !strings.Contains(r.stderr, "PARLEY_STARTER") {
		t.Errorf("bad PARLEY_STARTER: exit %d, err %q", r.code, r.stderr)
	}
}
