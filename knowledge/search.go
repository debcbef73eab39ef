package knowledge

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"
)

// SearchOptions tunes one search.
type SearchOptions struct {
	// Limit is the number of passages to return; default 10, at most
	// MaxSearchLimit.
	Limit int
	// AsOf, when set, ranks articles published shortly before it ahead of
	// older ones and pushes articles published after it down, as a reader
	// on that date would have seen the news. Zero means "now": a gentler
	// preference for recent reporting, measured from the store's newest
	// article so that a store that stopped growing is not penalised.
	AsOf time.Time
	// FullTextOnly skips reranking by embeddings even when the store has
	// them, for comparisons.
	FullTextOnly bool
}

// MaxSearchLimit caps SearchOptions.Limit.
const MaxSearchLimit = 200

// Ranking settings, chosen on the RealTime QA development weeks (see
// MEASUREMENTS.md). Things tried there and left out because they did not
// pay: summing an article's other matching passages into a passage's score
// (it rewards long articles and cost 5 points of MRR), a bonus for an
// article's first passage, a heavier title weight, whole-article BM25 in
// the store's own file (too slow to write; it lives in a file of its own,
// see articleIndex), adjacent-word phrase terms, dropping question-focus
// words ("which country"), counting the question's names and numbers
// twice, a bonus for passages covering more of the question's words,
// pseudo-relevance feedback over the candidates, and collapsing
// near-duplicate passages (which moved to the answer pipeline, where it
// helps the reader).
const (
	// titleWeight multiplies BM25 weights of terms found in the title
	// column. The title is indexed with every passage of its article, so
	// it already counts in each.
	titleWeight = 1.0
	// minCandidates: date weighting reorders at least this many of the
	// index's best passages, or the requested limit if that is more. It is
	// the answer pipeline's passage count, so that its searches rank only
	// what they return and read the texts with the candidates.
	//
	// On the development weeks, reading twice the limit (once the rule)
	// ranked every week identically at article level, at each passage size
	// from 160 to 300 words and on each half alone, and gave the same
	// extractive answers, while the extra rows' joins and scans made a
	// 50-passage search on four weeks 1.48 times the bare query instead of
	// 1.32. At the default limit of 10, 20 to 40 candidates ranked
	// identically (24 averaged 0.732 over passage sizes against 0.731 for
	// 40); 10 lost (MRR@10 with --as-of 0.764 -> 0.755).
	minCandidates = answerPassages
	// answerPassages is how many passages the answer pipeline searches for.
	answerPassages = 24
)

// Search returns the passages that best answer question, best first. Any
// input is safe: the question is reduced to quoted terms (see Terms) and
// never reaches FTS5 syntax, so a question with no usable words returns an
// empty slice, not an error.
func (s *Store) Search(ctx context.Context, question string, opt SearchOptions) ([]Result, error) {
	if opt.Limit <= 0 {
		opt.Limit = 10
	}
	opt.Limit = min(opt.Limit, MaxSearchLimit)
	terms := Terms(question)
	if len(terms) == 0 {
		return nil, nil
	}
	pool := max(opt.Limit, minCandidates)
	dense := s.embed != nil && !opt.FullTextOnly
	if dense {
		pool = max(pool, vectorPool)
	}
	// When every candidate is a result, their texts come with them in one
	// statement; otherwise only the survivors' texts are read, after
	// ranking.
	withText := pool == opt.Limit
	match := matchExpr(terms)
	// The article index is asked on another goroutine while the passage
	// index is: the two queries share the cores, and a search costs about
	// the longer of the two rather than their sum (which it did while
	// SQLite kept memory statistics; see sqlite_config.go).
	type articleHits struct {
		res []Result
		err error
	}
	articles := make(chan articleHits, 1)
	go func() {
		res, err := s.articles.search(ctx, match)
		articles <- articleHits{res, err}
	}()
	cands, err := s.candidates(ctx, match, pool, withText)
	arts := <-articles
	if err != nil {
		return nil, fmt.Errorf("search %q: %w", truncate(question, 80), err)
	}
	prior := asOfPrior
	if opt.AsOf.IsZero() {
		prior = freshnessPrior
		if opt.AsOf, err = s.newest(ctx); err != nil {
			return nil, fmt.Errorf("search %q: %w", truncate(question, 80), err)
		}
	} else {
		// A question whose best matches are old is about background, not
		// this week's news: ease the preference for recent articles.
		sortByScore(cands)
		prior = prior.eased(recentShare(cands, opt.AsOf) / profileShare)
	}
	weight := func(r Result) float64 { return prior.factor(r.PublishedAt, opt.AsOf) }
	for i := range cands {
		cands[i].Score *= weight(cands[i])
	}
	sortByScore(cands)
	ferr := arts.err
	if ferr == nil {
		ferr = s.fuseArticles(ctx, cands, arts.res, weight)
	}
	if ferr != nil && ctx.Err() == nil {
		// The passages alone still rank well; a damaged or locked article
		// index should not stop the bot answering.
		s.log.Warn("search without the article index this time", "err", ferr)
	}
	if dense {
		if cands, err = s.rerank(ctx, question, cands, weight); err != nil && ctx.Err() == nil {
			s.embed.fallbacks.Add(1)
			s.log.Warn("search without embeddings this time", "err", err)
		}
	}
	if len(cands) > opt.Limit {
		cands = cands[:opt.Limit]
	}
	if !withText {
		if err := s.fillResults(ctx, cands); err != nil {
			return nil, fmt.Errorf("search %q: %w", truncate(question, 80), err)
		}
	}
	return cands, nil
}

// BareSearch runs only the full-text query Search starts from: the same
// MATCH expression in BM25 order, limit rows of passage ids, with no joins
// and no date weighting. It exists so that benchmarks and `parley eval` can
// report Search's cost beside the engine's own.
func (s *Store) BareSearch(ctx context.Context, question string, limit int) ([]int64, error) {
	terms := Terms(question)
	if len(terms) == 0 {
		return nil, nil
	}
	// The same ranking expression as candidates uses, so the comparison
	// measures only what Search adds.
	rows, err := s.reader.QueryContext(ctx, `SELECT rowid FROM passages_fts WHERE passages_fts MATCH ?
		ORDER BY bm25(passages_fts, ?, 1.0) LIMIT ?`, matchExpr(terms), titleWeight, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// candidates reads the top n passages by BM25 with what ranking needs: ids,
// position and the article's date. The passages come from a narrow
// covering index (migration 0005) rather than the text-laden rows; the
// article fields from the citation cache (cite). Texts are read by
// fillResults for the few that survive ranking, or here, withText, when all
// of them will: one statement instead of two took a 50-passage search on
// one week of the development data from 1.90 to 1.70 times the bare query,
// and on four weeks from 1.39 to 1.29 (the fastest of eight benchmark runs
// of every question).
//
// Only active articles' passages are in the index (setStatus keeps it so,
// in the same transaction), so the hits need no check of the article's
// status.
func (s *Store) candidates(ctx context.Context, match string, n int, withText bool) ([]Result, error) {
	query := candidatesQuery
	if withText {
		query = candidatesWithTextQuery
	}
	rows, err := s.reader.QueryContext(ctx, query, titleWeight, match, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Result
	var r Result
	dest := []any{&r.PassageID, &r.ArticleID, &r.Seq, &r.Score}
	if withText {
		dest = append(dest, &r.Text)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.cite(ctx, out)
}

// The queries candidates runs: the full-text hits, then their passages,
// through the covering index or, with the texts, through the rows
// themselves.
const (
	candidateHits = `
		WITH hits AS (
			SELECT rowid AS id, bm25(passages_fts, ?, 1.0) AS score
			FROM passages_fts WHERE passages_fts MATCH ?
			ORDER BY score LIMIT ?
		)`
	candidatesQuery = candidateHits + `
		SELECT p.id, p.article_id, p.seq, -h.score
		FROM hits h JOIN passages p INDEXED BY passages_search ON p.id = h.id`
	candidatesWithTextQuery = candidateHits + `
		SELECT p.id, p.article_id, p.seq, -h.score, p.body
		FROM hits h JOIN passages p ON p.id = h.id`
)

// fillResults reads the passage texts of res.
func (s *Store) fillResults(ctx context.Context, res []Result) error {
	if len(res) == 0 {
		return nil
	}
	ids := make([]int64, len(res))
	at := make(map[int64]int, len(res))
	for i, r := range res {
		ids[i] = r.PassageID
		at[r.PassageID] = i
	}
	list, _ := json.Marshal(ids)
	rows, err := s.reader.QueryContext(ctx, `
		SELECT id, body FROM passages WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var text string
		if err := rows.Scan(&id, &text); err != nil {
			return err
		}
		res[at[id]].Text = text
	}
	return rows.Err()
}

// datePrior weighs an article by its age at the asking time: news from
// just before counts fully, older background counts less but still counts,
// and articles dated after the asking time were not yet written.
type datePrior struct {
	floor   float64 // the weight of very old articles
	tauDays float64 // days over which the recency bonus decays by 1/e
	future  float64 // the weight of articles dated after the asking time
	undated float64 // the weight of articles with no date
}

var (
	// asOfPrior is used when the caller asks as of a date: the reader
	// wants what was news then.
	asOfPrior = datePrior{floor: 0.7, tauDays: 20, future: 0.3, undated: 0.8}
	// freshnessPrior is used otherwise, relative to the store's newest
	// article: a gentle preference for recent reporting that leaves old
	// background findable. Its bonus fades over about four months: on
	// the RealTime QA development weeks, 90 to 180 days all did better
	// without --as-of than the year it first had (MRR@10 0.731 -> 0.737
	// at 120 days; higher on both halves and three of the four quarters,
	// 0.002 lower on the other).
	freshnessPrior = datePrior{floor: 0.85, tauDays: 120, future: 1, undated: 0.9}
)

// A temporal profile: the publication dates of a question's best matches
// tell whether it asks about recent news ("What did the negotiators agree
// in Cairo?") or about background ("When was the Rafah crossing built?"),
// with no list of words such as "this week". Searching as of a
// date, Search gives the date prior its full weight when at least
// profileShare of the profileMatches best passages (by full-text score)
// were published in the profileDays before that date, and proportionally
// less below, down to none. On the RealTime QA development weeks it raised
// MRR@10 with --as-of from 0.760 to 0.764, and on average over passage
// sizes from 160 to 300 words from 0.732 to 0.735 on all the weeks, 0.718
// to 0.733 and 0.757 to 0.762 on each half alone; 10 to 25 matches and
// 21 to 45 days all gained on average, a share of 0.4 lost in one half.
const (
	profileMatches = 20
	profileDays    = 30
	profileShare   = 0.3
)

// sortByScore orders results best first. Passage ids break ties, so equal
// scores come out in the same order every time.
func sortByScore(rs []Result) {
	sort.Slice(rs, func(i, j int) bool {
		if rs[i].Score != rs[j].Score {
			return rs[i].Score > rs[j].Score
		}
		return rs[i].PassageID < rs[j].PassageID
	})
}

// recentShare returns the share of the first profileMatches of cands,
// which are sorted best first, published from profileDays before asOf to a
// day after it.
func recentShare(cands []Result, asOf time.Time) float64 {
	if len(cands) == 0 {
		return 0
	}
	best := cands[:min(len(cands), profileMatches)]
	recent := 0
	for _, r := range best {
		days := asOf.Sub(r.PublishedAt).Hours() / 24
		if !r.PublishedAt.IsZero() && days >= -1 && days <= profileDays {
			recent++
		}
	}
	return float64(recent) / float64(len(best))
}

// eased returns p with its preference for recent articles scaled by
// strength, clamped to [0, 1]: at 1 it is p, at 0 an old article weighs as
// much as a new one. Articles from after the asking time still count less.
func (p datePrior) eased(strength float64) datePrior {
	strength = max(0, min(1, strength))
	p.floor = 1 - strength*(1-p.floor)
	return p
}

func (p datePrior) factor(published, asOf time.Time) float64 {
	if asOf.IsZero() {
		return 1
	}
	if published.IsZero() {
		return p.undated
	}
	days := asOf.Sub(published).Hours() / 24
	switch {
	case days < -1:
		return p.future
	case days < 0:
		return 1
	}
	return p.floor + (1-p.floor)*math.Exp(-days/p.tauDays)
}

// newest returns the publication date of the newest active article, or the
// zero time for an empty or undated store.
func (s *Store) newest(ctx context.Context) (time.Time, error) {
	var t sql.NullString
	err := s.reader.QueryRowContext(ctx, `SELECT max(published_at) FROM articles WHERE status = 'active'`).Scan(&t)
	return parseTime(t), err
}

// truncate is clip with an ellipsis when something was cut.
func truncate(s string, n int) string {
	if c := clip(s, n); len(c) < len(s) {
		return c + "…"
	}
	return s
}
