package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"parley/knowledge"
	"parley/knowledge/llm"
	"parley/prompts"
)

// modelConfig is the language-model configuration read from the
// environment. An empty BaseURL and APIKey mean no model: answers are
// extractive.
type modelConfig struct {
	llm.Config
	PromptsDir string
}

func (m modelConfig) configured() bool { return m.BaseURL != "" || m.APIKey != "" }

// readModelConfig reads OPENAI_API_KEY, OPENAI_BASE_URL, PARLEY_MODEL,
// PARLEY_ANSWER_TIMEOUT and PARLEY_PROMPTS. Errors name the variable.
func (a *app) readModelConfig() (modelConfig, error) {
	m := modelConfig{Config: llm.Config{
		BaseURL: strings.TrimSpace(a.getenv("OPENAI_BASE_URL")),
		APIKey:  strings.TrimSpace(a.getenv("OPENAI_API_KEY")),
		Model:   strings.TrimSpace(a.getenv("PARLEY_MODEL")),
	}, PromptsDir: a.getenv("PARLEY_PROMPTS")}
	if m.Model == "" {
		m.Model = "gpt-4o-mini"
	}
	if v := a.getenv("PARLEY_ANSWER_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 14*time.Minute {
			return m, fmt.Errorf("PARLEY_ANSWER_TIMEOUT=%q: want a duration such as 90s, at most 14m (Discord's interaction tokens last 15 minutes)", v)
		}
		m.Timeout = d
	}
	if m.Timeout == 0 {
		m.Timeout = 2 * time.Minute
	}
	if m.BaseURL != "" && !strings.HasPrefix(m.BaseURL, "http://") && !strings.HasPrefix(m.BaseURL, "https://") {
		return m, fmt.Errorf("OPENAI_BASE_URL=%q: want an http:// or https:// URL, such as http://localhost:11434/v1 for Ollama", m.BaseURL)
	}
	return m, nil
}

// newAnswerer builds the answer pipeline over store from the environment:
// with a model when one is configured, extractive otherwise. promptsDir, if
// not empty, overrides PARLEY_PROMPTS. configure, if given, adjusts the
// options last (the bot adds its logger and metrics).
func (a *app) newAnswerer(store *knowledge.Store, promptsDir string, fallback bool, configure ...func(*knowledge.AnswererOptions)) (*knowledge.Answerer, error) {
	m, err := a.readModelConfig()
	if err != nil {
		return nil, err
	}
	if promptsDir == "" {
		promptsDir = m.PromptsDir
	}
	set, err := prompts.Load(promptsDir)
	if err != nil {
		return nil, fmt.Errorf("prompts (PARLEY_PROMPTS or --prompts): %w", err)
	}
	opt := knowledge.AnswererOptions{Prompts: set, Timeout: m.Timeout, Now: a.now, FallbackToExtractive: fallback}
	if m.configured() {
		opt.Model = llm.New(m.Config)
		opt.ModelName = m.Model
	}
	for _, f := range configure {
		f(&opt)
	}
	return knowledge.NewAnswerer(store, opt), nil
}

// answerJSON is `parley ask --json`.
type answerJSON struct {
	Question   string         `json:"question"`
	Answer     string         `json:"answer"`
	Refusal    bool           `json:"refusal"`
	Extractive bool           `json:"extractive"`
	AsOf       string         `json:"as_of,omitempty"`
	Citations  []citationJSON `json:"citations"`
	Closest    []citationJSON `json:"closest,omitempty"`
	Unverified []string       `json:"unverified_quotes,omitempty"`
	Model      string         `json:"model,omitempty"`
}

type citationJSON struct {
	N           int    `json:"n"`
	ArticleID   int64  `json:"article_id"`
	Title       string `json:"title"`
	Outlet      string `json:"outlet,omitempty"`
	PublishedAt string `json:"published_at,omitempty"`
	URL         string `json:"url,omitempty"`
}

func cmdAsk(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("ask", "[--json] [--as-of DATE] QUESTION",
		"Answer a question from the store, citing a source for every claim.\n"+
			"With OPENAI_BASE_URL or OPENAI_API_KEY set, a language model writes the answer;\n"+
			"otherwise Parley answers extractively, quoting the most relevant source sentences.")
	db := dbFlag(fs)
	asJSON := fs.Bool("json", false, "print the structured answer as JSON")
	asOfStr := fs.String("as-of", "", "answer as of this date (YYYY-MM-DD or RFC 3339); default now")
	promptsDir := fs.String("prompts", "", "directory of prompt templates overriding the embedded ones (default $PARLEY_PROMPTS)")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	question := strings.TrimSpace(strings.Join(pos, " "))
	if question == "" {
		return usageErr("want a QUESTION")
	}
	asOf, err := knowledge.ParseDate(*asOfStr)
	if err != nil {
		return usageErr("--as-of: %v", err)
	}
	if *asOfStr != "" && !strings.Contains(*asOfStr, "T") {
		asOf = asOf.Add(24*time.Hour - time.Second)
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	ans, err := a.newAnswerer(store, *promptsDir, false)
	if err != nil {
		return err
	}
	answer, err := ans.Answer(ctx, knowledge.Question{Text: question, AsOf: asOf, Asker: a.actor(), Place: "cli"})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(toAnswerJSON(answer))
	}
	printAnswer(a.stdout, answer)
	return nil
}

func toAnswerJSON(ans knowledge.Answer) answerJSON {
	out := answerJSON{
		Question: ans.Question, Answer: ans.Text, Refusal: ans.Refusal, Extractive: ans.Extractive,
		Citations: citationsJSON(ans.Citations), Closest: citationsJSON(ans.Closest),
		Unverified: ans.Unverified, Model: ans.Model,
	}
	if !ans.AsOf.IsZero() {
		out.AsOf = ans.AsOf.Format("2006-01-02")
	}
	return out
}

func citationsJSON(cs []knowledge.Citation) []citationJSON {
	out := make([]citationJSON, 0, len(cs))
	for _, c := range cs {
		j := citationJSON{N: c.N, ArticleID: c.ArticleID, Title: c.Title, Outlet: c.Outlet, URL: c.URL}
		if !c.PublishedAt.IsZero() {
			j.PublishedAt = c.PublishedAt.Format("2006-01-02")
		}
		out = append(out, j)
	}
	return out
}

// printAnswer writes an answer for a terminal: the text, then its sources,
// then how it was made.
func printAnswer(w io.Writer, ans knowledge.Answer) {
	fmt.Fprintln(w, ans.Text)
	if ans.Refusal {
		if len(ans.Closest) > 0 {
			fmt.Fprintln(w, "\nThe closest sources I have:")
			for _, c := range ans.Closest {
				fmt.Fprintf(w, "  - %s\n", sourceLine(c))
			}
		}
		return
	}
	fmt.Fprintln(w, "\nSources:")
	for _, c := range ans.Citations {
		fmt.Fprintf(w, "  [%d] %s\n", c.N, sourceLine(c))
	}
	var notes []string
	if !ans.AsOf.IsZero() {
		notes = append(notes, "as of "+ans.AsOf.Format("2 January 2006"))
	}
	if ans.Extractive {
		notes = append(notes, "extractive answer: sentences quoted from the sources, no language model configured")
	}
	if len(ans.Unverified) > 0 {
		notes = append(notes, fmt.Sprintf("%d quotation(s) could not be found in the sources", len(ans.Unverified)))
	}
	if len(notes) > 0 {
		fmt.Fprintf(w, "\n(%s)\n", strings.Join(notes, "; "))
	}
}

func sourceLine(c knowledge.Citation) string {
	parts := []string{c.Title}
	if c.Outlet != "" {
		parts = append(parts, c.Outlet)
	}
	parts = append(parts, formatDate(c.PublishedAt))
	s := strings.Join(parts, " — ")
	if c.URL != "" {
		s += " <" + c.URL + ">"
	}
	return s
}

func cmdGaps(ctx context.Context, a *app, args []string) error {
	about := "Recent questions Parley refused or that readers rated down:\nwhat the store does not cover yet."
	return a.listCommand(ctx, "gaps", about, "how many", args, func(store *knowledge.Store, limit int) error {
		gaps, err := store.Gaps(ctx, limit)
		if err != nil {
			return err
		}
		if len(gaps) == 0 {
			fmt.Fprintln(a.stdout, "No gaps recorded: every question so far was answered and none was rated down.")
			return nil
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tWHY\tWHO\tQUESTION")
		for _, g := range gaps {
			why := "refused"
			if !g.Refused {
				why = fmt.Sprintf("rated down (%d down, %d up)", g.Down, g.Up)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g.AskedAt.Format("2006-01-02 15:04"), why, g.Asker, clip(g.Question, 80))
		}
		return tw.Flush()
	})
}
