package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"parley/knowledge"
	"parley/knowledge/llm"
)

// maxEmbedWeight bounds PARLEY_EMBED_WEIGHT: past it, full text's order
// no longer matters and a typo such as 50 for 0.5 would go unnoticed.
const maxEmbedWeight = 10

// readEmbedding reads the optional embedding configuration. Embeddings are
// on only when PARLEY_EMBED_MODEL names a model; the endpoint is
// PARLEY_EMBED_BASE_URL (default OPENAI_BASE_URL) with PARLEY_EMBED_API_KEY
// (default OPENAI_API_KEY), so that answers and embeddings may come from
// different servers. ok is false when embeddings are off. Errors name the
// variable.
func (a *app) readEmbedding() (e knowledge.Embedding, ok bool, err error) {
	model := strings.TrimSpace(a.getenv("PARLEY_EMBED_MODEL"))
	if model == "" {
		return e, false, nil
	}
	base := strings.TrimSpace(a.getenv("PARLEY_EMBED_BASE_URL"))
	baseVar := "PARLEY_EMBED_BASE_URL"
	if base == "" {
		base, baseVar = strings.TrimSpace(a.getenv("OPENAI_BASE_URL")), "OPENAI_BASE_URL"
	}
	key := strings.TrimSpace(a.getenv("PARLEY_EMBED_API_KEY"))
	if key == "" {
		key = strings.TrimSpace(a.getenv("OPENAI_API_KEY"))
	}
	if base == "" && key == "" {
		return e, false, fmt.Errorf("PARLEY_EMBED_MODEL=%q needs an endpoint: set PARLEY_EMBED_BASE_URL or OPENAI_BASE_URL (such as http://localhost:11434/v1 for Ollama), or OPENAI_API_KEY for OpenAI", model)
	}
	if base != "" && !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return e, false, fmt.Errorf("%s=%q: want an http:// or https:// URL", baseVar, base)
	}
	weight := 1.0
	if w := strings.TrimSpace(a.getenv("PARLEY_EMBED_WEIGHT")); w != "" {
		if weight, err = strconv.ParseFloat(w, 64); err != nil || !(weight > 0 && weight <= maxEmbedWeight) {
			return e, false, fmt.Errorf("PARLEY_EMBED_WEIGHT=%q: want a number above 0 and at most %g (1 is the default)", w, float64(maxEmbedWeight))
		}
	}
	client := llm.New(llm.Config{BaseURL: base, APIKey: key, EmbedModel: model, Timeout: time.Minute})
	return knowledge.Embedding{
		Embedder:       client,
		Model:          model,
		QueryPrefix:    a.getenv("PARLEY_EMBED_QUERY_PREFIX"),
		DocumentPrefix: a.getenv("PARLEY_EMBED_DOC_PREFIX"),
		Weight:         weight,
	}, true, nil
}

func cmdEmbed(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("embed", "[--db PATH]",
		"Embed every active passage that has no vector from the configured embedding model\n"+
			"(PARLEY_EMBED_MODEL at PARLEY_EMBED_BASE_URL or OPENAI_BASE_URL). Search then reranks its\n"+
			"full-text candidates by similarity to the question. The bot, import and source add embed\n"+
			"new passages themselves; this backfills a store made before embeddings were configured,\n"+
			"or after the model changed. Interrupted, it keeps what it finished.")
	db := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("embed takes no arguments")
	}
	if _, ok, err := a.readEmbedding(); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("no embedding model is configured: set PARLEY_EMBED_MODEL (and PARLEY_EMBED_BASE_URL or OPENAI_BASE_URL)")
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	start := time.Now()
	sum, err := a.embedPending(ctx, store)
	fmt.Fprintf(a.stdout, "embedded %d passages with %s in %s; %d without a vector\n",
		sum.Embedded, sum.Model, time.Since(start).Round(time.Millisecond), sum.Left)
	return err
}

// embedNew embeds the passages a command has just added, when embeddings
// are configured. A failure does not undo the addition: it is reported, and
// search uses full text for those passages until `parley embed` or the bot
// embeds them.
func (a *app) embedNew(ctx context.Context, store *knowledge.Store) {
	if store.EmbeddingModel() == "" {
		return
	}
	sum, err := a.embedPending(ctx, store)
	if err != nil {
		fmt.Fprintf(a.stderr, "warning: stored, but embedding failed (%v); run 'parley embed' later\n", err)
		return
	}
	if sum.Embedded > 0 {
		fmt.Fprintf(a.stderr, "embedded %d passages with %s\n", sum.Embedded, sum.Model)
	}
}

// embedPending runs store.EmbedPending, saying every few seconds how far it
// has got: a large import can take a while to embed.
func (a *app) embedPending(ctx context.Context, store *knowledge.Store) (knowledge.EmbedSummary, error) {
	last := time.Now()
	return store.EmbedPending(ctx, func(done, left int) {
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			fmt.Fprintf(a.stderr, "embedded %d passages, %d left\n", done, left)
		}
	})
}
