package bot

import (
	"context"
	"sync"
	"time"

	"parley/knowledge"
)

// limiter bounds the answers in flight: at most `slots` being answered and
// `queue` more waiting for a slot. A question that finds both full is
// refused at once, so a flood of questions can neither start unbounded
// model calls nor pile up answers that would outlive their tokens.
type limiter struct {
	admitted chan struct{} // cap slots+queue
	running  chan struct{} // cap slots
}

func newLimiter(slots, queue int) *limiter {
	return &limiter{admitted: make(chan struct{}, slots+queue), running: make(chan struct{}, slots)}
}

// admit reserves a place for one question, or reports that all are taken.
// An admitted question must call leave.
func (l *limiter) admit() bool {
	select {
	case l.admitted <- struct{}{}:
		return true
	default:
		return false
	}
}

func (l *limiter) leave() { <-l.admitted }

// start waits for a slot to answer in; release it with stop.
func (l *limiter) start(ctx context.Context) error {
	select {
	case l.running <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (l *limiter) stop() { <-l.running }

// cooldowns enforce a minimum time between one user's questions.
type cooldowns struct {
	every time.Duration
	mu    sync.Mutex
	last  map[string]time.Time
}

func newCooldowns(every time.Duration) *cooldowns {
	return &cooldowns{every: every, last: map[string]time.Time{}}
}

// take records a question by user at now and returns 0, or returns how
// long the user must still wait (and records nothing).
func (c *cooldowns) take(user string, now time.Time) time.Duration {
	if c.every <= 0 {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.last[user]; ok {
		if wait := t.Add(c.every).Sub(now); wait > 0 {
			return wait
		}
	}
	if len(c.last) > 10000 {
		for u, t := range c.last {
			if now.Sub(t) >= c.every {
				delete(c.last, u)
			}
		}
	}
	c.last[user] = now
	return 0
}

// give undoes a take at now, for a question refused for another reason.
func (c *cooldowns) give(user string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.last[user]; ok && t.Equal(now) {
		delete(c.last, user)
	}
}

// Bounds on the conversation memory.
const (
	maxConversations = 1000
	maxTurns         = 6
)

// conversation is the memory of one thread (or DM channel) the bot answers
// in: the earlier questions and answers, which follow-ups get as History.
type conversation struct {
	// turn serialises answers within the conversation, so a follow-up sees
	// the answer to the question before it.
	turn  chan struct{}
	mu    sync.Mutex
	turns []knowledge.Turn
	used  time.Time
}

// lock waits for the conversation's turn, or ctx.
func (c *conversation) lock(ctx context.Context) error {
	select {
	case c.turn <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *conversation) unlock() { <-c.turn }

func (c *conversation) history() []knowledge.Turn {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]knowledge.Turn(nil), c.turns...)
}

func (c *conversation) add(t knowledge.Turn, keep int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.turns = append(c.turns, t)
	if len(c.turns) > keep {
		c.turns = append([]knowledge.Turn(nil), c.turns[len(c.turns)-keep:]...)
	}
}

// conversations maps channel ids (threads the bot started, DM channels) to
// their memory. It is bounded: the least recently used is forgotten first,
// and only the last few turns of each are kept. It lives in memory, so a
// restart forgets it; mentions in old threads are still answered, without
// history.
type conversations struct {
	max, keep int
	mu        sync.Mutex
	byID      map[string]*conversation
}

func newConversations(max, keep int) *conversations {
	return &conversations{max: max, keep: keep, byID: map[string]*conversation{}}
}

// get returns the conversation of channelID, if the bot has one there.
func (cs *conversations) get(channelID string, now time.Time) *conversation {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c := cs.byID[channelID]
	if c != nil {
		c.used = now
	}
	return c
}

// open returns the conversation of channelID, starting one if needed.
func (cs *conversations) open(channelID string, now time.Time) *conversation {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if c := cs.byID[channelID]; c != nil {
		c.used = now
		return c
	}
	if len(cs.byID) >= cs.max {
		var oldest string
		var at time.Time
		for id, c := range cs.byID {
			if oldest == "" || c.used.Before(at) {
				oldest, at = id, c.used
			}
		}
		delete(cs.byID, oldest)
	}
	c := &conversation{turn: make(chan struct{}, 1), used: now}
	cs.byID[channelID] = c
	return c
}
