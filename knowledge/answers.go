package knowledge

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// recordAnswer stores an answer given and returns its id.
func (s *Store) recordAnswer(ctx context.Context, q Question, a Answer, at time.Time) (int64, error) {
	ids := make([]int64, 0, len(a.Citations))
	for _, c := range a.Citations {
		ids = append(ids, c.ArticleID)
	}
	src, _ := json.Marshal(ids)
	r, err := s.writer.ExecContext(ctx, `INSERT INTO answers
		(asked_at, asker, place, question, answer, refusal, extractive, model, sources)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		formatTime(at), q.Asker, q.Place, q.Text, a.Text, a.Refusal, a.Extractive, a.Model, string(src))
	if err != nil {
		return 0, fmt.Errorf("record answer: %w", err)
	}
	return r.LastInsertId()
}

// Vote is a reader's rating of an answer.
type Vote int

// Votes.
const (
	VoteDown Vote = -1
	VoteUp   Vote = 1
)

// RecordFeedback stores voter's vote on the answer with the given id,
// replacing an earlier vote by the same voter. It returns ErrNotFound for
// an unknown answer and ErrInvalid for a vote other than VoteUp or VoteDown.
func (s *Store) RecordFeedback(ctx context.Context, answerID int64, voter string, v Vote) error {
	if v != VoteUp && v != VoteDown {
		return fmt.Errorf("%w: vote %d", ErrInvalid, v)
	}
	var n int
	if err := s.writer.QueryRowContext(ctx, `SELECT count(*) FROM answers WHERE id = ?`, answerID).Scan(&n); err != nil {
		return fmt.Errorf("record feedback: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("record feedback on answer %d: %w", answerID, ErrNotFound)
	}
	_, err := s.writer.ExecContext(ctx, `INSERT INTO feedback (answer_id, voter, vote, at) VALUES (?, ?, ?, ?)
		ON CONFLICT (answer_id, voter) DO UPDATE SET vote = excluded.vote, at = excluded.at`,
		answerID, voter, int(v), formatTime(s.now()))
	if err != nil {
		return fmt.Errorf("record feedback: %w", err)
	}
	return nil
}

// Gap is a question Parley could not answer well: refused, or rated down.
type Gap struct {
	AnswerID int64
	AskedAt  time.Time
	Asker    string
	Question string
	Answer   string
	Refused  bool
	Down     int // number of down votes
	Up       int
}

// Gaps returns the most recent questions that were refused or that got
// more down votes than up votes, newest first.
func (s *Store) Gaps(ctx context.Context, limit int) ([]Gap, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := s.reader.QueryContext(ctx, `
		SELECT a.id, a.asked_at, a.asker, a.question, a.answer, a.refusal,
			coalesce(sum(f.vote = -1), 0), coalesce(sum(f.vote = 1), 0)
		FROM answers a LEFT JOIN feedback f ON f.answer_id = a.id
		GROUP BY a.id
		HAVING a.refusal OR coalesce(sum(f.vote), 0) < 0
		ORDER BY a.id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("list gaps: %w", err)
	}
	defer rows.Close()
	var out []Gap
	for rows.Next() {
		var g Gap
		var at string
		if err := rows.Scan(&g.AnswerID, &at, &g.Asker, &g.Question, &g.Answer, &g.Refused, &g.Down, &g.Up); err != nil {
			return nil, fmt.Errorf("list gaps: %w", err)
		}
		g.AskedAt = parseTime(sql.NullString{String: at, Valid: true})
		out = append(out, g)
	}
	return out, rows.Err()
}
