package knowledge

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// Synthetic news for benchmarks: words drawn from a Zipf distribution over
// a 60,000-word vocabulary (as in English news, a few words are everywhere
// and most are rare), sentences of 8-35 words, paragraphs of 1-5
// sentences, articles of 150-1,600 words. Nothing here is real reporting.

// synthCorpus generates articles deterministically from a seed.
type synthCorpus struct {
	rng   *rand.Rand
	zipf  *rand.Zipf
	vocab []string
	day   time.Time
}

func newSynthCorpus(seed uint64) *synthCorpus {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	c := &synthCorpus{rng: rng, day: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	c.zipf = rand.NewZipf(rng, 1.07, 2, 59_999)
	// One vocabulary for every seed, so that questions drawn with one seed
	// meet articles written with another.
	vrng := rand.New(rand.NewPCG(1, 1^0x9e3779b97f4a7c15))
	common := strings.Fields(`the of and to a in that said for on is was with he it as at by from his
		has have be are an were not but they who their been had which will its after would this talks
		ceasefire hostages Hamas Israel Gaza Doha Cairo envoy officials mediators aid release phase deal`)
	c.vocab = append(c.vocab, common...)
	syll := []string{"ka", "ro", "mi", "sel", "tan", "vor", "el", "us", "bri", "dan", "ko", "li", "ma", "ther", "on", "ra", "zi", "pe", "gol", "ash"}
	for len(c.vocab) < 60_000 {
		n := 2 + vrng.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteString(syll[vrng.IntN(len(syll))])
		}
		c.vocab = append(c.vocab, b.String())
	}
	return c
}

func (c *synthCorpus) word() string { return c.vocab[c.zipf.Uint64()] }

func (c *synthCorpus) sentence() string {
	n := 8 + c.rng.IntN(28)
	w := make([]string, n)
	for i := range w {
		w[i] = c.word()
	}
	w[0] = strings.ToUpper(w[0][:1]) + w[0][1:]
	return strings.Join(w, " ") + "."
}

// article returns one import record of about words words.
func (c *synthCorpus) article(i, words int) ImportRecord {
	var paras []string
	n := 0
	for n < words {
		var sents []string
		for range 1 + c.rng.IntN(5) {
			s := c.sentence()
			sents = append(sents, s)
			n += strings.Count(s, " ") + 1
		}
		paras = append(paras, strings.Join(sents, " "))
	}
	title := c.sentence()
	return ImportRecord{
		URL:         fmt.Sprintf("https://synthetic.example/%d", i),
		Title:       strings.TrimSuffix(title[:min(len(title), 90)], "."),
		Text:        strings.Join(paras, "\n\n"),
		PublishedAt: c.day.Add(time.Duration(i) * 17 * time.Minute).Format(time.RFC3339),
		Outlet:      "Synthetic Wire",
	}
}

// articleWords draws an article length: most news runs 300-900 words.
func (c *synthCorpus) articleWords() int {
	return int(math.Min(1600, math.Max(150, c.rng.NormFloat64()*280+700)))
}

// question returns a question-like query of 6-14 words.
func (c *synthCorpus) question() string {
	w := []string{"What", "did"}
	for range 6 + c.rng.IntN(9) {
		w = append(w, c.word())
	}
	return strings.Join(w, " ") + "?"
}

// writeJSONL writes articles until about passages passages (at
// DefaultPassageWords words each) have been written.
func (c *synthCorpus) writeJSONL(f *os.File, passages int) (articles int, err error) {
	w := bufio.NewWriterSize(f, 1<<20)
	enc := json.NewEncoder(w)
	total := 0
	for i := 0; total < passages*DefaultPassageWords; i++ {
		n := c.articleWords()
		if err := enc.Encode(c.article(i, n)); err != nil {
			return i, err
		}
		total += n
		articles++
	}
	return articles, w.Flush()
}

var synthOut = flag.String("synth.out", "", "TestWriteSynthetic: write a synthetic JSON Lines corpus to this file")
var synthPassages = flag.Int("synth.passages", 100_000, "TestWriteSynthetic: about how many passages the corpus should make")

// TestWriteSynthetic writes the benchmark corpus for measuring `parley
// import` from outside (peak memory, throughput):
//
//	go test -tags sqlite_fts5 -run TestWriteSynthetic ./knowledge/ -synth.out /tmp/synth.jsonl -synth.passages 1000000
func TestWriteSynthetic(t *testing.T) {
	if *synthOut == "" {
		t.Skip("no -synth.out")
	}
	f, err := os.Create(*synthOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := newSynthCorpus(1).writeJSONL(f, *synthPassages)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %d articles to %s", n, *synthOut)
}
