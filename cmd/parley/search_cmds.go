package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"parley/knowledge"
)

// searchJSON is one line of `parley search --json`.
type searchJSON struct {
	Query   string       `json:"query"`
	Results []resultJSON `json:"results"`
}

type resultJSON struct {
	ArticleID   int64   `json:"article_id"`
	URL         string  `json:"url"`
	Title       string  `json:"title"`
	Outlet      string  `json:"outlet"`
	PublishedAt string  `json:"published_at"`
	Score       float64 `json:"score"`
	Passage     string  `json:"passage"`
}

func cmdSearch(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("search", "[--json] [--limit N] [--as-of DATE] [QUERY...]",
		"Search the store for passages that answer QUERY. With no QUERY, read one\n"+
			"query a line from standard input. With --json, print one JSON object a line:\n"+
			`  {"query": ..., "results": [{"article_id", "url", "title", "outlet", "published_at", "score", "passage"}]}`)
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print JSON Lines")
	limit := fs.Int("limit", 10, fmt.Sprintf("passages per query (at most %d)", knowledge.MaxSearchLimit))
	asOfStr := fs.String("as-of", "", "rank as a reader on this date would: recent articles before it first (YYYY-MM-DD or RFC 3339)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *limit < 1 || *limit > knowledge.MaxSearchLimit {
		return usageErr("--limit must be between 1 and %d", knowledge.MaxSearchLimit)
	}
	asOf, err := knowledge.ParseDate(*asOfStr)
	if err != nil {
		return usageErr("--as-of: %v", err)
	}
	if *asOfStr != "" && !strings.Contains(*asOfStr, "T") {
		asOf = asOf.Add(24*time.Hour - time.Second) // the whole of that day
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()

	opt := knowledge.SearchOptions{Limit: *limit, AsOf: asOf}
	out := bufio.NewWriter(a.stdout)
	defer out.Flush()
	one := func(q string) error {
		res, err := store.Search(ctx, q, opt)
		if err != nil {
			return err
		}
		if *asJSON {
			return writeSearchJSON(out, q, res)
		}
		writeSearchText(out, q, res)
		return nil
	}
	if len(pos) > 0 {
		return one(strings.Join(pos, " "))
	}
	sc := bufio.NewScanner(a.stdin)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// Echo the line as given, so output lines match input lines.
		q := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(q) == "" && !*asJSON {
			continue
		}
		if err := one(q); err != nil {
			return err
		}
		out.Flush()
	}
	return sc.Err()
}

func writeSearchJSON(out *bufio.Writer, q string, res []knowledge.Result) error {
	line := searchJSON{Query: q, Results: make([]resultJSON, 0, len(res))}
	for _, r := range res {
		pub := ""
		if !r.PublishedAt.IsZero() {
			pub = r.PublishedAt.Format(time.RFC3339)
		}
		line.Results = append(line.Results, resultJSON{
			ArticleID: r.ArticleID, URL: r.URL, Title: r.Title, Outlet: r.Outlet,
			PublishedAt: pub, Score: r.Score, Passage: r.Text,
		})
	}
	b, err := json.Marshal(line)
	if err != nil {
		return err
	}
	out.Write(b)
	return out.WriteByte('\n')
}

func writeSearchText(out *bufio.Writer, q string, res []knowledge.Result) {
	if len(res) == 0 {
		fmt.Fprintf(out, "No passages match %q.\n", q)
		return
	}
	for i, r := range res {
		fmt.Fprintf(out, "%d. [#%d] %s — %s, %s (score %.3g)\n", i+1, r.ArticleID, r.Title, orDash(r.Outlet), formatDate(r.PublishedAt), r.Score)
		if r.URL != "" {
			fmt.Fprintf(out, "   %s\n", r.URL)
		}
		fmt.Fprintf(out, "   %s\n\n", clip(strings.ReplaceAll(r.Text, "\n\n", " ¶ "), 320))
	}
}
