package knowledge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"parley/knowledge/llm"
	"parley/prompts"
)

// Model is the language model as the answer pipeline sees it.
// *llm.Client implements it.
type Model interface {
	Complete(ctx context.Context, msgs []prompts.Message, onDelta func(string)) (llm.Completion, error)
}

var _ Model = (*llm.Client)(nil)

// Question is one question to answer.
type Question struct {
	Text string
	// AsOf is the asking time; zero means now.
	AsOf time.Time
	// History holds the earlier turns of a conversation (a Discord
	// thread), oldest first; they give follow-ups their context.
	History []Turn
	// Asker and Place name who asked and where ("discord:123",
	// "discord:guild/channel", "cli:alice"), for the record of answers.
	Asker, Place string
	// OnDelta, when set and a model streams, receives the answer text so
	// far (raw, before checks) each time it grows.
	OnDelta func(textSoFar string)
}

// Turn is an earlier question and the answer given to it.
type Turn = prompts.Turn

// Citation is a source an answer cites or points to. N is the number used
// in the answer's text ("[N]").
type Citation struct {
	N           int
	ArticleID   int64
	Title       string
	Outlet      string
	URL         string // from the store, never from a model
	PublishedAt time.Time
	Passage     string
	Origin      Origin
}

// Answer is a checked answer.
type Answer struct {
	// ID identifies the recorded answer, for feedback; 0 if not recorded.
	ID       int64
	Question string
	// Text is the answer with [n] citations that all refer to Citations.
	// For a refusal it is a plain sentence saying the sources do not
	// cover the question.
	Text      string
	Citations []Citation
	// Closest lists the nearest sources found when refusing.
	Closest []Citation
	// AsOf is the publication date of the newest source cited.
	AsOf    time.Time
	Refusal bool
	// Extractive is true when the text was assembled from source
	// sentences because no model is configured (or it failed).
	Extractive bool
	// Unverified lists quotations that could not be found verbatim in the
	// cited sources; they are marked in Text.
	Unverified []string
	// Dropped counts citations the model made to sources it was not sent.
	Dropped int
	Model   string
	// PromptTokens and CompletionTokens report model usage, when known.
	PromptTokens, CompletionTokens int
}

// AnswererOptions configures an Answerer.
type AnswererOptions struct {
	// Model answers from sources; nil means extractive answers only.
	Model Model
	// ModelName is recorded with answers.
	ModelName string
	// Prompts are the templates; nil means the embedded ones.
	Prompts *prompts.Set
	// MaxSources caps the passages sent to the model; default 6.
	MaxSources int
	// SourceTokens is the token budget for the sources in a prompt;
	// default 3000. Passages are trimmed to fit, never the instructions.
	SourceTokens int
	// Timeout bounds one answer; default 2 minutes.
	Timeout time.Duration
	// FallbackToExtractive answers extractively when the model fails
	// instead of returning the error. Default false: callers decide.
	FallbackToExtractive bool
	Now                  func() time.Time
	Log                  *slog.Logger
	// Observe, when set, is called once after every Answer call, from the
	// calling goroutine, with what happened: for metrics.
	Observe func(AnswerEvent)
}

// AnswerEvent describes one Answer call.
type AnswerEvent struct {
	Duration   time.Duration
	Err        error // nil on success (a refusal is a success)
	Refusal    bool
	Extractive bool
	// Fallback is true when the model failed and the answer was made
	// extractively instead.
	Fallback                       bool
	PromptTokens, CompletionTokens int
}

// Answerer turns questions into checked, cited answers from a Store. It is
// safe for concurrent use.
type Answerer struct {
	store *Store
	opt   AnswererOptions
}

// NewAnswerer returns an Answerer over store.
func NewAnswerer(store *Store, opt AnswererOptions) *Answerer {
	if opt.Prompts == nil {
		opt.Prompts = prompts.Default()
	}
	if opt.MaxSources <= 0 {
		opt.MaxSources = 6
	}
	if opt.SourceTokens <= 0 {
		opt.SourceTokens = 3000
	}
	if opt.Timeout <= 0 {
		opt.Timeout = 2 * time.Minute
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Answerer{store: store, opt: opt}
}

// Extractive reports whether answers are assembled without a model.
func (a *Answerer) Extractive() bool { return a.opt.Model == nil }

// MaxQuestionRunes is the longest question Answer accepts.
const MaxQuestionRunes = 1000

// ErrModelTimeout is returned when the model did not answer within the
// answer deadline.
var ErrModelTimeout = errors.New("the language model did not answer in time")

// ErrQuestionTooLong is returned for questions over MaxQuestionRunes.
var ErrQuestionTooLong = fmt.Errorf("%w: the question is longer than %d characters", ErrInvalid, MaxQuestionRunes)

// Answer answers q from the store and records the answer (refusals become
// coverage gaps). Errors are the model's (after its retries) or the
// store's; an unanswerable question is not an error but a refusal.
func (a *Answerer) Answer(ctx context.Context, q Question) (ans Answer, err error) {
	if a.opt.Observe != nil {
		start := a.opt.Now()
		defer func() {
			a.opt.Observe(AnswerEvent{
				Duration: a.opt.Now().Sub(start), Err: err, Refusal: ans.Refusal, Extractive: ans.Extractive,
				Fallback: ans.Extractive && a.opt.Model != nil, PromptTokens: ans.PromptTokens, CompletionTokens: ans.CompletionTokens,
			})
		}()
	}
	q.Text = strings.TrimSpace(q.Text)
	if q.Text == "" {
		return Answer{}, fmt.Errorf("%w: the question is empty", ErrInvalid)
	}
	if utf8.RuneCountInString(q.Text) > MaxQuestionRunes {
		return Answer{}, ErrQuestionTooLong
	}
	ctx, cancel := context.WithTimeout(ctx, a.opt.Timeout)
	defer cancel()
	asOf := q.AsOf
	if asOf.IsZero() {
		asOf = a.opt.Now()
	}

	found, err := a.store.Search(ctx, retrievalQuery(q), SearchOptions{Limit: answerPassages, AsOf: asOf})
	if err != nil {
		return Answer{}, err
	}
	sources := pickSources(found, a.opt.MaxSources)

	switch {
	case len(sources) == 0:
		ans = refusal(q.Text, nil)
	case a.opt.Model == nil:
		ans = extractiveAnswer(q.Text, sources)
	default:
		ans, err = a.modelAnswer(ctx, q, asOf, sources)
		if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w: no answer within %v: %w", ErrModelTimeout, a.opt.Timeout, err)
		}
		if err != nil {
			if !a.opt.FallbackToExtractive || errors.Is(err, context.Canceled) {
				return Answer{}, err
			}
			a.opt.Log.Warn("model failed; answering extractively", slog.String("error", err.Error()))
			ans = extractiveAnswer(q.Text, sources)
		}
	}
	if ans.Refusal {
		ans.Closest = closest(sources, 3)
		if len(ans.Closest) == 0 {
			// Nothing matched at all: point to what the store does
			// cover, newest first, so the reader knows what to ask.
			ans.Closest = a.recentSources(ctx, 3)
		}
	}
	ans.Question = q.Text
	id, err := a.store.recordAnswer(context.WithoutCancel(ctx), q, ans, a.opt.Now())
	if err != nil {
		a.opt.Log.Error("record answer", slog.String("error", err.Error()))
	}
	ans.ID = id
	return ans, nil
}

// retrievalQuery is what to search for: the question, plus for a follow-up
// the previous question, so "and what did Israel say?" keeps its topic.
func retrievalQuery(q Question) string {
	if len(q.History) == 0 {
		return q.Text
	}
	return q.Text + " " + q.History[len(q.History)-1].Question
}

// pickSources keeps the best passage of each article first, then further
// passages, up to n, so one long article cannot fill every slot. A passage
// that repeats a better one of another article nearly word for word (the
// same wire story in two outlets) is left out, so it cannot crowd out a
// different source.
func pickSources(found []Result, n int) []Result {
	var out, rest []Result
	seen := make(map[int64]bool)
	var sigs []map[uint64]struct{}
	for _, r := range found {
		sig := shingles(r.Text)
		if nearDuplicateOf(sig, sigs) {
			continue
		}
		sigs = append(sigs, sig)
		if seen[r.ArticleID] {
			rest = append(rest, r)
			continue
		}
		seen[r.ArticleID] = true
		out = append(out, r)
	}
	out = append(out, rest...)
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// shingles hashes the overlapping runs of four words of s (FNV-1a).
func shingles(s string) map[uint64]struct{} {
	words := tokenize(s)
	out := make(map[uint64]struct{}, len(words))
	for i := 0; i+4 <= len(words); i++ {
		h := uint64(14695981039346656037)
		for _, w := range words[i : i+4] {
			for j := 0; j < len(w); j++ {
				h = (h ^ uint64(w[j])) * 1099511628211
			}
			h = (h ^ 0xff) * 1099511628211
		}
		out[h] = struct{}{}
	}
	return out
}

// nearDuplicateOf reports whether sig shares at least 60% of its shingles
// (Jaccard) with one of sigs. Passages of the same article never do, as
// they do not overlap.
func nearDuplicateOf(sig map[uint64]struct{}, sigs []map[uint64]struct{}) bool {
	for _, o := range sigs {
		if len(sig) == 0 || len(o) == 0 {
			continue
		}
		inter := 0
		for k := range sig {
			if _, ok := o[k]; ok {
				inter++
			}
		}
		if float64(inter)/float64(len(sig)+len(o)-inter) >= 0.6 {
			return true
		}
	}
	return false
}

func (a *Answerer) modelAnswer(ctx context.Context, q Question, asOf time.Time, sources []Result) (Answer, error) {
	in := prompts.AnswerInput{Question: q.Text, Today: asOf.Format("2006-01-02"), History: q.History}
	budget := a.opt.SourceTokens
	for i, r := range sources {
		text := r.Text
		if t := approxTokens(text); t > budget {
			text = trimToTokens(text, budget)
		}
		if text == "" {
			sources = sources[:i]
			break
		}
		budget -= approxTokens(text)
		in.Sources = append(in.Sources, prompts.Source{
			N: i + 1, Title: r.Title, Outlet: r.Outlet, Date: dateString(r.PublishedAt), URL: r.URL, Text: text,
		})
	}
	msgs, err := a.opt.Prompts.Answer(in)
	if err != nil {
		return Answer{}, fmt.Errorf("build prompt: %w", err)
	}
	var onDelta func(string)
	if q.OnDelta != nil {
		var sb strings.Builder
		onDelta = func(d string) {
			sb.WriteString(d)
			q.OnDelta(sb.String())
		}
	}
	c, err := a.opt.Model.Complete(ctx, msgs, onDelta)
	if err != nil {
		return Answer{}, err
	}
	ans := checkAnswer(c.Text, sources)
	ans.Model = a.opt.ModelName
	if c.Model != "" {
		ans.Model = c.Model
	}
	ans.PromptTokens, ans.CompletionTokens = c.PromptTokens, c.CompletionTokens
	return ans, nil
}

// refusal is the answer when the sources do not cover the question.
func refusal(question string, closest []Citation) Answer {
	return Answer{
		Question: question,
		Text:     "My sources don't cover that.",
		Refusal:  true,
		Closest:  closest,
	}
}

// recentSources lists the n most recently published active articles.
func (a *Answerer) recentSources(ctx context.Context, n int) []Citation {
	arts, err := a.store.recent(ctx, n)
	if err != nil {
		a.opt.Log.Error("list recent sources", slog.String("error", err.Error()))
		return nil
	}
	out := make([]Citation, 0, len(arts))
	for i, r := range arts {
		out = append(out, Citation{N: i + 1, ArticleID: r.ID, Title: r.Title, Outlet: r.Outlet, URL: r.URL,
			PublishedAt: r.PublishedAt, Origin: r.Origin})
	}
	return out
}

// closest lists up to n distinct articles among the sources, best first.
func closest(sources []Result, n int) []Citation {
	var out []Citation
	seen := make(map[int64]bool)
	for _, r := range sources {
		if seen[r.ArticleID] || len(out) == n {
			continue
		}
		seen[r.ArticleID] = true
		out = append(out, citationOf(len(out)+1, r))
	}
	return out
}

func citationOf(n int, r Result) Citation {
	return Citation{N: n, ArticleID: r.ArticleID, Title: r.Title, Outlet: r.Outlet, URL: r.URL,
		PublishedAt: r.PublishedAt, Passage: r.Text, Origin: r.Origin}
}

// approxTokens estimates tokens as one per four bytes, the usual rule of
// thumb for English with BPE tokenizers; it errs high for other scripts,
// which keeps prompts inside the budget.
func approxTokens(s string) int { return (len(s) + 3) / 4 }

// trimToTokens cuts s to about max tokens at a sentence or word boundary.
func trimToTokens(s string, max int) string {
	limit := max * 4
	if len(s) <= limit {
		return s
	}
	cut := s[:limit]
	for !utf8.ValidString(cut) {
		cut = cut[:len(cut)-1]
	}
	if i := strings.LastIndexAny(cut, ".!?"); i > limit/2 {
		return cut[:i+1]
	}
	if i := strings.LastIndexByte(cut, ' '); i > 0 {
		return cut[:i] + "…"
	}
	return ""
}

func dateString(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("2006-01-02")
}
