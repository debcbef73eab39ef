package bot

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bwmarrin/discordgo"
	"go.uber.org/goleak"

	"parley/bot/discordtest"
	"parley/knowledge"
)

// Load test settings. The issue asks for 200 questions over a minute; CI
// spreads them over loadSpread to keep its time budget, and
// PARLEY_LOAD_SECONDS=60 runs the full minute. A shorter spread is the
// harder test: more questions arrive while the slots are full.
const (
	loadQuestions  = 200
	loadSpread     = 20 * time.Second
	loadSecondsEnv = "PARLEY_LOAD_SECONDS"
	// loadHeapSlack bounds the heap left over once the bot, its store and
	// the fake are gone: generous, since the runtime, SQLite and the HTTP
	// stack keep caches of their own.
	loadHeapSlack = 16 << 20
)

// loadOutcome is what became of one question.
type loadOutcome int

const (
	pending  loadOutcome = iota
	answered             // the answer, with its feedback buttons
	busy                 // the private "busy" note instead of an acknowledgement
	apology              // acknowledged, then a short apology
)

// TestLoad sends 200 /ask questions from distinct users, at random moments
// over loadSpread, to a bot whose answerer takes 200–800 ms (a third of the
// answers streamed, a few long enough for follow-ups, one in twenty
// failing), on a fake Discord that enforces the 3 s acknowledgement
// deadline and answers REST calls after 50–80 ms. Every question must be
// acknowledged in time and end as an answer, a busy note or an apology;
// afterwards no goroutine may be left and the heap must be back near where
// it started.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("load test: skipped with -short")
	}
	spread := loadSpread
	if v := os.Getenv(loadSecondsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 600 {
			t.Fatalf("%s=%q: want whole seconds from 1 to 600", loadSecondsEnv, v)
		}
		spread = time.Duration(n) * time.Second
	}
	// Not parallel: goroutine and heap counts are for the whole process.
	ignore := goleak.IgnoreCurrent()
	g0, h0 := goroutinesAndHeap()

	var peakG int
	var peakH uint64
	t.Run("questions", func(t *testing.T) {
		peakG, peakH = runLoad(t, spread)
	})
	// The subtest's cleanups have stopped the bot and closed the session,
	// the store and the fake: nothing of theirs may still run.
	goleak.VerifyNone(t, ignore)
	g1, h1 := goroutinesAndHeap()
	t.Logf("goroutines: %d before, %d at peak, %d after", g0, peakG, g1)
	t.Logf("heap: %.1f MiB before, %.1f MiB at peak, %.1f MiB after", mib(h0), mib(peakH), mib(h1))
	if h1 > h0+loadHeapSlack {
		t.Errorf("heap after the load %.1f MiB, want at most %.1f MiB (%.1f MiB before)", mib(h1), mib(h0+loadHeapSlack), mib(h0))
	}
}

// runLoad runs the load against a new bot and fake Discord, checks every
// question's fate and returns the peak goroutine count and heap seen.
func runLoad(t *testing.T, spread time.Duration) (peakGoroutines int, peakHeap uint64) {
	ans := newFakeAnswerer(slowAnswer)
	ans.extractive = false // so the bot streams
	tb := startBot(t, withAnswerer(ans), withConfig(func(c *Config) {
		// The production limits, not the test defaults.
		c.Cooldown = DefaultCooldown
		c.MaxConcurrent, c.MaxQueued = DefaultMaxConcurrent, DefaultMaxQueued
		c.StreamInterval = 250 * time.Millisecond
	}))
	tb.fake.SetLatency("/interactions/", 50*time.Millisecond)
	tb.fake.SetLatency("/webhooks/", 80*time.Millisecond)

	stopSampling := sampleProcess(&peakGoroutines, &peakHeap)
	defer stopSampling()

	// Arrival times: uniform over the spread, so they bunch at random as
	// real questions do.
	rng := rand.New(rand.NewPCG(6, 200))
	at := make([]time.Duration, loadQuestions)
	for k := range at {
		at[k] = time.Duration(rng.Int64N(int64(spread)))
	}
	slices.Sort(at)
	// The questions go out from their own goroutine, so that this one
	// sees each question end when it ends.
	var mu sync.Mutex
	tokens := make([]string, 0, loadQuestions)
	sent := make([]time.Time, 0, loadQuestions)
	sending := make(chan struct{})
	go func() {
		defer close(sending)
		start := time.Now()
		for k := range loadQuestions {
			time.Sleep(time.Until(start.Add(at[k])))
			now := time.Now()
			tok := tb.fake.SendInteraction(ask(loadQuestion(k), byUser(strconv.Itoa(100000+k), 0)))
			mu.Lock()
			tokens, sent = append(tokens, tok), append(sent, now)
			mu.Unlock()
		}
	}()

	// Wait for every question to reach its end.
	outcomes := make([]loadOutcome, loadQuestions)
	finished := make([]time.Time, loadQuestions)
	var deadline time.Time
	for left := loadQuestions; left > 0; time.Sleep(20 * time.Millisecond) {
		mu.Lock()
		toks := tokens[:len(tokens):len(tokens)]
		mu.Unlock()
		left = loadQuestions - len(toks)
		for k, tok := range toks {
			if outcomes[k] != pending {
				continue
			}
			if outcomes[k] = tb.loadOutcome(tok); outcomes[k] == pending {
				left++
			} else {
				finished[k] = time.Now()
			}
		}
		if len(toks) == loadQuestions && deadline.IsZero() {
			deadline = time.Now().Add(2 * time.Minute)
		}
		if left > 0 && !deadline.IsZero() && time.Now().After(deadline) {
			t.Fatalf("%d of %d questions neither answered nor refused 2 minutes after the last was sent", left, loadQuestions)
		}
	}
	<-sending

	var acks, answerTimes []time.Duration
	counts := map[loadOutcome]int{}
	for k, tok := range tokens {
		cbs := tb.fake.Callbacks(tok)
		if len(cbs) != 1 {
			t.Errorf("question %d: %d callbacks, want exactly 1", k, len(cbs))
			continue
		}
		cb := cbs[0]
		ack := cb.Request.Time.Sub(sent[k])
		acks = append(acks, ack)
		if cb.Request.Status != http.StatusNoContent || ack > discordtest.DefaultAckDeadline {
			t.Errorf("question %d: acknowledged after %v with status %d, want 204 within 3s", k, ack, cb.Request.Status)
		}
		counts[outcomes[k]]++
		switch failing := loadFails(k); {
		case outcomes[k] == answered:
			if failing {
				t.Errorf("question %d: answered, want an apology (its answer failed)", k)
			}
			answerTimes = append(answerTimes, finished[k].Sub(sent[k]))
			if m, _ := tb.fake.Original(tok); !strings.Contains(m.Content, "You asked: "+loadQuestion(k)) {
				t.Errorf("question %d: answer %.80q is not its own", k, m.Content)
			}
		case outcomes[k] == apology && !failing:
			t.Errorf("question %d: apology, want an answer", k)
		}
	}
	for _, r := range tb.fake.Requests() {
		if r.Status == http.StatusNotFound && strings.HasPrefix(r.Path, "/interactions/") {
			t.Errorf("a callback came too late (Unknown interaction, 10062): %v", r)
		}
	}
	total := counts[answered] + counts[busy] + counts[apology]
	if total != loadQuestions {
		t.Errorf("%d questions accounted for, want %d", total, loadQuestions)
	}
	// The slots and the queue admit at least 20 at once, and more as
	// answers finish.
	if counts[answered]+counts[apology] < DefaultMaxConcurrent+DefaultMaxQueued {
		t.Errorf("%d questions admitted, want at least %d", counts[answered]+counts[apology], DefaultMaxConcurrent+DefaultMaxQueued)
	}
	if got, want := len(ans.questions()), counts[answered]+counts[apology]; got != want {
		t.Errorf("answerer called %d times, want %d (once per admitted question)", got, want)
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		if len(ds) == 0 {
			return 0
		}
		slices.Sort(ds)
		return ds[min(len(ds)-1, int(q*float64(len(ds))))].Round(time.Millisecond)
	}
	t.Logf("%d questions over %v: %d answered, %d told busy, %d apologies; %d REST requests",
		loadQuestions, spread, counts[answered], counts[busy], counts[apology], len(tb.fake.Requests()))
	t.Logf("acknowledged: p50 %v, p99 %v, max %v", p(acks, 0.5), p(acks, 0.99), p(acks, 1))
	t.Logf("answered: p50 %v, p99 %v, max %v after the question", p(answerTimes, 0.5), p(answerTimes, 0.99), p(answerTimes, 1))
	return peakGoroutines, peakHeap
}

// loadOutcome classifies the question behind token: pending until it has
// its final answer or has been told it cannot have one.
func (tb *testBot) loadOutcome(token string) loadOutcome {
	cbs := tb.fake.Callbacks(token)
	if len(cbs) == 0 {
		return pending
	}
	if cbs[0].Type == discordgo.InteractionResponseChannelMessageWithSource {
		if cbs[0].Content == msgBusy {
			return busy
		}
		return apology // some other private note: counted, and reported as wrong
	}
	for _, f := range tb.fake.Followups(token) {
		if f.Ephemeral() && (f.Content == msgApology || f.Content == msgTooSlow || f.Content == msgNoPost) {
			return apology
		}
		if len(f.Components) > 0 {
			return answered
		}
	}
	if m, ok := tb.fake.Original(token); ok {
		switch {
		case len(m.Components) > 0:
			return answered
		case m.Content == msgApology || m.Content == msgTooSlow || m.Content == msgNoPost:
			return apology
		}
	}
	return pending
}

func loadQuestion(k int) string { return fmt.Sprintf("Load question %d?", k) }

// loadFails says which questions' answers fail: one in twenty.
func loadFails(k int) bool { return k%20 == 7 }

// slowAnswer is a slow model: 200–800 ms a question, chosen from the
// question's number; every third streams its text as it goes, every
// twenty-fifth is long enough to need follow-ups, and one in twenty fails.
func slowAnswer(ctx context.Context, q knowledge.Question) (knowledge.Answer, error) {
	var k int
	fmt.Sscanf(q.Text, "Load question %d?", &k)
	rng := rand.New(rand.NewPCG(uint64(k), 7))
	took := 200*time.Millisecond + time.Duration(rng.Int64N(int64(600*time.Millisecond)))
	deadline := time.NewTimer(took)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	var text strings.Builder
	for done := false; !done; {
		select {
		case <-ctx.Done():
			return knowledge.Answer{}, ctx.Err()
		case <-deadline.C:
			done = true
		case <-tick.C:
			if k%3 == 0 && q.OnDelta != nil {
				text.WriteString("streaming words ")
				q.OnDelta(text.String())
			}
		}
	}
	if loadFails(k) {
		return knowledge.Answer{}, errors.New("model failed")
	}
	a, err := echoAnswer(ctx, q)
	if k%25 == 3 {
		a.Text += strings.Repeat("\n\nThe mediators met again in Doha to discuss the next phase of the exchange [1].", 60)
	}
	a.ID = int64(1000 + k)
	return a, err
}

// sampleProcess records the largest goroutine count and heap seen, every
// 250 ms, until the returned function is called.
func sampleProcess(peakG *int, peakH *uint64) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			*peakG = max(*peakG, runtime.NumGoroutine())
			runtime.ReadMemStats(&ms)
			*peakH = max(*peakH, ms.HeapAlloc)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// goroutinesAndHeap returns the goroutine count and the live heap after a
// collection.
func goroutinesAndHeap() (int, uint64) {
	runtime.GC()
	runtime.GC() // the second frees what finalizers released in the first
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return runtime.NumGoroutine(), ms.HeapAlloc
}

func mib(n uint64) float64 { return float64(n) / (1 << 20) }
