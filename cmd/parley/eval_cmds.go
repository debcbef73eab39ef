package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"parley/knowledge"
	"parley/knowledge/rgb"
	"parley/knowledge/rtqa"
)

type evalRow struct {
	Name    string       `json:"name"`
	Metrics rtqa.Metrics `json:"metrics"`
	// RatioMRR is MRR@10 over the reference's, in the same run.
	RatioMRR float64 `json:"mrr_ratio"`
	// RatioLow and RatioHigh bound RatioMRR at 95% by the paired bootstrap
	// over questions (rtqa.Set.RatioInterval).
	RatioLow  float64 `json:"mrr_ratio_low,omitempty"`
	RatioHigh float64 `json:"mrr_ratio_high,omitempty"`
	MedianMS  float64 `json:"latency_median_ms,omitempty"`
	P99MS     float64 `json:"latency_p99_ms,omitempty"`
}

type evalReport struct {
	Dir      string   `json:"dir"`
	Weeks    []string `json:"weeks"`
	Articles int      `json:"articles"`
	Passages int      `json:"passages"`
	ImportS  float64  `json:"import_seconds"`
	// BareInsertS is the time plain FTS5 inserts of the same passages
	// took in the same run (rtqa.Set.BareInsert), and ImportOverBare the
	// ratio of the two throughputs.
	BarePassages   int     `json:"bare_insert_passages"`
	BareInsertS    float64 `json:"bare_insert_seconds"`
	ImportOverBare float64 `json:"import_over_bare_throughput"`
	// PeakRSSMB is this process's peak resident memory at the end: the
	// import, every search and the reference together.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// NotImported counts the articles the import skipped as bad lines.
	NotImported int `json:"articles_not_imported"`
	// Reused is set when --keep named a store that already held these
	// articles: the rankings are measured on it, the import is not.
	Reused bool      `json:"store_reused,omitempty"`
	Rows   []evalRow `json:"rows"`
	// SearchOverBare is Parley's median full-text search latency over the
	// bare FTS5 query's, on the same store, the two interleaved over
	// three passes (Set.Latency).
	SearchOverBare float64 `json:"search_over_bare_median"`
	// Support measures extractive answers (no model): how often the cited
	// sentences contain the right answer.
	Support rtqa.Support `json:"extractive_answer_support"`
	// EmbedModel, when set, is the embedding model of the "+ embeddings"
	// rows, and EmbedS the time it took to embed the store.
	EmbedModel string `json:"embedding_model,omitempty"`
	// Strict scores the same rankings with only topical relevant articles
	// (rtqa.Set.Topical): the benchmark's rule also counts an article
	// that names the answer in passing.
	Strict []evalRow `json:"strict_judgements"`
	// Misses, with --misses, audits the questions missed in the top 10.
	Misses []rtqa.Miss `json:"misses,omitempty"`
	EmbedS float64     `json:"embed_seconds,omitempty"`
}

func cmdEval(ctx context.Context, a *app, args []string) error {
	if len(args) > 0 && args[0] == "rgb" {
		return evalRGB(ctx, a, args[1:])
	}
	if len(args) == 0 || args[0] != "rtqa" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(a.stdout, "Usage: parley eval rtqa [--json] [--limit N] [--passage-words N] [--misses] DIR\n       parley eval rgb [--json] FILE\n\n"+
				"Measure search on RealTime QA weeks, or answers on RGB's English counterfactual split.\nSee 'parley eval rtqa --help' and 'parley eval rgb --help'.")
			return nil
		}
		return usageErr("want 'parley eval rtqa DIR' or 'parley eval rgb FILE'")
	}
	fs := a.newFlags("eval rtqa", "[--json] [--limit N] [--passage-words N] [--misses] DIR",
		"Load the RealTime QA weeks in DIR and the folders below it (YYYYMMDD_qa.jsonl, each with\n"+
			"YYYYMMDD_gcs.jsonl beside it) into a fresh temporary store through the normal import, ask\n"+
			"every question through the normal search, and print Hits@1/5/10, MRR@10 and nDCG@10 with\n"+
			"and without --as-of the question date, beside a plain SQLite FTS5 BM25 reference over\n"+
			"whole articles computed in the same run, and the ratio of MRR@10 to the reference's with a\n"+
			"95% bootstrap interval over questions. The reference searches with the question's words\n"+
			"less Lucene's English stop words; a second row searches it with Parley's query terms.\n"+
			"The same rankings are scored again judged strictly, counting an article only where the\n"+
			"answer appears near the question's words, not anywhere in passing.\n"+
			"With an embedding model configured (PARLEY_EMBED_MODEL), the store is embedded too and\n"+
			"two more rows show search reranked by embeddings.")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	limit := fs.Int("limit", 50, "passages asked of each search")
	keep := fs.String("keep", "", "keep the evaluation store at this path instead of a temporary one; a store kept\nbefore is measured again without importing or embedding it again")
	words := fs.Int("passage-words", knowledge.DefaultPassageWords, "cut articles into passages of about this many words, to see how much\nthe figures rest on the passage size")
	misses := fs.Bool("misses", false, "list the questions with no relevant article in the top 10 (with --as-of), and whether\neach relevant article is topical or mentions the answer only in passing")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one DIR")
	}
	if *words < 20 || *words > 5000 {
		return usageErr("--passage-words wants 20 to 5000")
	}
	set, err := rtqa.Load(pos[0])
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "parley-eval-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	dbPath := filepath.Join(tmp, "eval.db")
	if *keep != "" {
		dbPath = *keep
	}
	emb, dense, err := a.readEmbedding()
	if err != nil {
		return err
	}
	opts := []knowledge.Option{knowledge.WithClock(a.now), knowledge.WithPassageWords(*words)}
	if dense {
		opts = append(opts, knowledge.WithEmbedding(emb))
	}
	store, err := knowledge.Open(ctx, dbPath, opts...)
	if err != nil {
		return err
	}
	defer store.Close()
	// A store kept before can be measured again (with another embedding
	// weight, say) without importing and embedding it again; its import
	// is then not measured.
	before, err := store.Stats(ctx)
	if err != nil {
		return err
	}

	var jsonl bytes.Buffer
	if err := set.WriteJSONL(&jsonl); err != nil {
		return err
	}
	start := time.Now()
	var firstDrop string // why the first article left out was
	sum, err := store.Import(ctx, &jsonl, knowledge.ImportOptions{AddedBy: "eval", Report: func(is knowledge.LineIssue) {
		if is.Fatal && firstDrop == "" {
			firstDrop = is.Message
		}
	}})
	if err != nil {
		return err
	}
	rep := evalReport{Dir: pos[0], Weeks: set.Weeks, Articles: sum.Added, Passages: sum.Passages, ImportS: time.Since(start).Seconds(), NotImported: sum.Skipped}
	if before.Articles > 0 {
		if n, err := foreignArticles(ctx, store, set); err != nil {
			return err
		} else if n > 0 {
			return fmt.Errorf("the store kept at %s holds %d articles that are not in %s, which the reference would not see: give --keep a new path", *keep, n, pos[0])
		}
		st, err := store.Stats(ctx)
		if err != nil {
			return err
		}
		rep.Reused, rep.Articles, rep.Passages, rep.ImportS = true, st.Articles, st.Passages, 0
	}
	if sum.Skipped > 0 {
		// The reference searches every article; one Parley could not
		// store is one it can never find, and the figures should say so.
		fmt.Fprintf(a.stderr, "warning: %d of %d articles were not imported, so only the reference can find them (the first: %s)\n",
			sum.Skipped, len(set.Articles), firstDrop)
	}
	if dense {
		fmt.Fprintf(a.stderr, "embedding %d passages with %s...\n", sum.Passages, emb.Model)
		start := time.Now()
		if _, err := store.EmbedPending(ctx, nil); err != nil {
			return err
		}
		rep.EmbedModel, rep.EmbedS = emb.Model, time.Since(start).Seconds()
	}

	barePassages, bareTook, err := set.BareInsert(ctx, tmp, *words)
	if err != nil {
		return err
	}
	rep.BarePassages, rep.BareInsertS = barePassages, bareTook.Seconds()
	if !rep.Reused && rep.ImportS > 0 && barePassages > 0 {
		rep.ImportOverBare = (float64(rep.Passages) / rep.ImportS) / (float64(barePassages) / rep.BareInsertS)
	}

	refIndex, err := set.BuildReference(ctx, tmp)
	if err != nil {
		return err
	}
	defer refIndex.Close()
	refRanked, refLat, err := refIndex.Rank(ctx, set, rtqa.ReferenceMatch)
	if err != nil {
		return err
	}
	// The same baseline searched with Parley's query terms, so that what
	// Parley gains by ranking shows apart from what it gains by choosing
	// its terms.
	sameTerms, sameTermsLat, err := refIndex.Rank(ctx, set, knowledge.MatchQuery)
	if err != nil {
		return err
	}
	ref := set.Score(refRanked)
	rep.Rows = append(rep.Rows, row("reference: FTS5 BM25, whole articles", ref, ref, refLat))
	strict := set.Topical()
	strictRef := strict.Score(refRanked)
	rep.Strict = append(rep.Strict, row(rep.Rows[0].Name, strictRef, strictRef, nil))
	type variant struct {
		name        string
		asOf, dense bool
	}
	variants := []variant{{"parley", false, false}, {"parley --as-of question date", true, false}}
	if dense {
		variants = append(variants, variant{"parley + embeddings", false, true},
			variant{"parley + embeddings, --as-of", true, true})
	}
	for _, v := range variants {
		ranked, lat, err := set.Run(ctx, store, v.asOf, knowledge.SearchOptions{Limit: *limit, FullTextOnly: !v.dense})
		if err != nil {
			return err
		}
		r := row(v.name, set.Score(ranked), ref, lat)
		r.RatioLow, r.RatioHigh = set.RatioInterval(ranked, refRanked, resamples)
		rep.Rows = append(rep.Rows, r)
		r = row(v.name, strict.Score(ranked), strictRef, nil)
		r.RatioLow, r.RatioHigh = strict.RatioInterval(ranked, refRanked, resamples)
		rep.Strict = append(rep.Strict, r)
		if *misses && v.asOf && !v.dense {
			rep.Misses = set.Misses(ranked, 10)
		}
	}

	r := row("reference with Parley's query terms", set.Score(sameTerms), ref, sameTermsLat)
	r.RatioLow, r.RatioHigh = set.RatioInterval(sameTerms, refRanked, resamples)
	rep.Rows = append(rep.Rows, r)

	// The ratio to the engine's own cost is timed apart, the two queries
	// interleaved over three passes: the rows above ran one after another
	// and a noisy machine can favour either.
	searchLat, bareLat, err := set.Latency(ctx, store, knowledge.SearchOptions{Limit: *limit, FullTextOnly: true}, 3)
	if err != nil {
		return err
	}
	bare := row("bare FTS5 query, same store (latency only)", rtqa.Metrics{}, ref, bareLat)
	bare.RatioMRR = 0
	rep.Rows = append(rep.Rows, bare)
	rep.SearchOverBare = rtqa.Percentile(searchLat, 50).Seconds() / rtqa.Percentile(bareLat, 50).Seconds()

	rep.Support, err = set.AnswerSupport(ctx, knowledge.NewAnswerer(store, knowledge.AnswererOptions{Now: a.now}))
	if err != nil {
		return err
	}

	rep.PeakRSSMB = peakRSSMB()

	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	weeks := "weeks"
	if len(set.Weeks) == 1 {
		weeks = "week"
	}
	if rep.Reused {
		fmt.Fprintf(a.stdout, "RealTime QA: %d %s (%s .. %s), %d questions, %d articles, %d passages, in the store kept at %s\n\n",
			len(set.Weeks), weeks, set.Weeks[0], set.Weeks[len(set.Weeks)-1], len(set.Questions), rep.Articles, rep.Passages, *keep)
		fmt.Fprintln(a.stdout, "import: not measured, the store was kept from an earlier run")
	} else {
		fmt.Fprintf(a.stdout, "RealTime QA: %d %s (%s .. %s), %d questions, %d articles, %d passages, imported in %.1fs\n\n",
			len(set.Weeks), weeks, set.Weeks[0], set.Weeks[len(set.Weeks)-1], len(set.Questions), rep.Articles, rep.Passages, rep.ImportS)
		fmt.Fprintf(a.stdout, "import: %.0f articles/s, %.0f passages/s; bare FTS5 inserts of the same passages: %.0f passages/s; ratio %.2f\n",
			float64(rep.Articles)/rep.ImportS, float64(rep.Passages)/rep.ImportS, float64(rep.BarePassages)/rep.BareInsertS, rep.ImportOverBare)
	}
	if rep.EmbedModel != "" {
		fmt.Fprintf(a.stdout, "embedded with %s in %.1fs\n", rep.EmbedModel, rep.EmbedS)
	}
	if err := printRankings(a.stdout, rep.Rows, true); err != nil {
		return err
	}
	if len(rep.Strict) > 0 {
		fmt.Fprintf(a.stdout, "\nthe same rankings judged strictly: an article counts only where the answer is near two of the question's words (%d questions):\n",
			rep.Strict[0].Metrics.Questions)
		if err := printRankings(a.stdout, rep.Strict, false); err != nil {
			return err
		}
	}
	fmt.Fprintf(a.stdout, "\nsearch median / bare FTS5 median on the same store, interleaved over 3 passes: %.2f\n", rep.SearchOverBare)
	fmt.Fprintf(a.stdout, "extractive answers (no model), as of the question date: %d of %d cite the right answer (%.1f%%), %d refused\n",
		rep.Support.Supported, rep.Support.Questions, 100*rep.Support.Share, rep.Support.Refused)
	fmt.Fprintf(a.stdout, "  of the other answers, %d cite a passage that holds the right answer in a sentence they did not quote\n",
		rep.Support.InCited)
	if rep.PeakRSSMB > 0 {
		fmt.Fprintf(a.stdout, "peak resident memory of this evaluation (import, searches and reference): %.0f MB\n", rep.PeakRSSMB)
	}
	if *misses {
		printMisses(a.stdout, rep.Misses)
	}
	return nil
}

// printRankings prints rows as a table of ranking figures, with each row's
// latency when withLatency; a row with no questions is a latency-only row.
func printRankings(w io.Writer, rows []evalRow, withLatency bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := "\tHits@1\tHits@5\tHits@10\tMRR@10\tnDCG@10\tMRR ratio\t95% interval\t"
	if withLatency {
		header += "median ms\tp99 ms\t"
	}
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		m := r.Metrics
		if m.Questions == 0 {
			fmt.Fprintf(tw, "%s\t-\t-\t-\t-\t-\t-\t-\t", r.Name)
		} else {
			fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%s\t",
				r.Name, m.Hits1, m.Hits5, m.Hits10, m.MRR10, m.NDCG10, r.RatioMRR, interval(r))
		}
		if withLatency {
			fmt.Fprintf(tw, "%.2f\t%.2f\t", r.MedianMS, r.P99MS)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// printMisses prints the audit of --misses.
func printMisses(w io.Writer, misses []rtqa.Miss) {
	topical := 0
	fmt.Fprintf(w, "\nquestions with no relevant article in the top 10 (--as-of): %d\n", len(misses))
	for _, m := range misses {
		if m.Topical() {
			topical++
		}
		rank := "not retrieved"
		if m.Rank > 0 {
			rank = fmt.Sprintf("first relevant article at %d", m.Rank)
		}
		fmt.Fprintf(w, "\n%s %s\n  answer %q; %s\n", m.Date, m.Question, m.Answer, rank)
		for _, e := range m.Articles {
			kind := "in passing"
			if e.Topical {
				kind = "topical"
			}
			fmt.Fprintf(w, "  - [%s] %s %s (%d words)\n", kind, e.Published, e.Title, e.Words)
			if e.Snippet != "" {
				fmt.Fprintf(w, "      ... %s ...\n", e.Snippet)
			}
		}
	}
	fmt.Fprintf(w, "\n%d of %d missed questions have a topical relevant article; the rest are relevant only by the answer's text appearing in passing\n",
		topical, len(misses))
}

// resamples is how many bootstrap resamples of the questions bound each
// MRR ratio; 2,000 steadies the 95% interval to the second decimal.
const resamples = 2000

// interval formats a row's bootstrap interval, or "-" for the reference.
func interval(r evalRow) string {
	if r.RatioHigh == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f-%.2f", r.RatioLow, r.RatioHigh)
}

func row(name string, m, ref rtqa.Metrics, lat []time.Duration) evalRow {
	r := evalRow{Name: name, Metrics: m,
		MedianMS: ms(rtqa.Percentile(lat, 50)), P99MS: ms(rtqa.Percentile(lat, 99))}
	if ref.MRR10 > 0 {
		r.RatioMRR = m.MRR10 / ref.MRR10
	}
	return r
}

// foreignArticles counts the store's active articles whose link is not
// one of the set's.
func foreignArticles(ctx context.Context, store *knowledge.Store, set *rtqa.Set) (int, error) {
	ours := make(map[string]bool, len(set.Articles))
	for _, a := range set.Articles {
		if u, err := knowledge.CanonicalURL(a.URL); err == nil {
			ours[u] = true
		}
	}
	const page = 500
	foreign := 0
	for offset := 0; ; offset += page {
		list, total, err := store.List(ctx, knowledge.ListOptions{Limit: page, Offset: offset})
		if err != nil {
			return 0, err
		}
		for _, a := range list {
			if !ours[a.URL] {
				foreign++
			}
		}
		if offset+page >= total {
			return foreign, nil
		}
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func evalRGB(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("eval rgb", "[--json] FILE",
		"Answer RGB's English counterfactual questions (en_fact.json), each over a fresh store holding\n"+
			"only its passages, in three conditions: negative passages only (the right answer is a\n"+
			"refusal), positive and negative passages (the right answer, cited), and counterfactual\n"+
			"passages (not fooled into the planted false answer). Uses the configured model\n"+
			"(OPENAI_BASE_URL / OPENAI_API_KEY), or extractive answers without one.")
	asJSON := fs.Bool("json", false, "print the results as JSON")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one FILE")
	}
	items, err := rgb.Load(pos[0])
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "parley-rgb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	mode := "extractive (no model configured)"
	var cfgErr error
	results, err := rgb.Run(ctx, items, tmp, func(store *knowledge.Store) *knowledge.Answerer {
		ans, err := a.newAnswerer(store, "", false)
		if err != nil {
			cfgErr = err
			return knowledge.NewAnswerer(store, knowledge.AnswererOptions{})
		}
		if !ans.Extractive() {
			mode = "model"
		}
		return ans
	})
	if cfgErr != nil {
		return cfgErr
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"file": pos[0], "mode": mode, "results": results})
	}
	fmt.Fprintf(a.stdout, "RGB English counterfactual split: %d questions, answers: %s\n\n", len(items), mode)
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "condition\tcorrect\trefused\tfooled\tfigure\t")
	for _, r := range results {
		what := map[string]string{"negative only": "refusal rate", "positive + negative": "accuracy", "counterfactual + negative": "not fooled"}[r.Condition]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s %.2f\t\n", r.Condition, r.Correct, r.Refused, r.Fooled, what, r.Rate)
	}
	return tw.Flush()
}
