package knowledge

import (
	"context"
	"database/sql"
	"strings"
	"unicode"
)

// leadWords is how many of an article's first words are indexed with each
// of its passages after the first, beside the title. A passage deep in an
// article often never names what the story is about ("the agency said
// Tuesday it would..."); the opening words usually do. Measured on the
// RealTime QA development weeks (MRR@10 with --as-of, by lead length):
// none 0.737, 10 words 0.738, 15 0.753, 20 0.760, 25 0.755, 30 0.749,
// 40 0.741; it helped both halves of the weeks alike. The first passage
// already holds these words and gets no copy, so it is not counted twice.
const leadWords = 20

// Lead returns the opening words of an article's text: what passages after
// the first are indexed with, as context.
func Lead(text string) string {
	// Find where the leadWords-th word ends rather than split a whole
	// article into words to keep twenty.
	words, inWord := 0, false
	for i, r := range text {
		if unicode.IsSpace(r) {
			if inWord && words == leadWords {
				text = text[:i]
				break
			}
			inWord = false
		} else if !inWord {
			inWord = true
			words++
		}
	}
	return strings.Join(strings.Fields(text), " ")
}

// indexedTitle is what the title column of the full-text index holds for
// passage seq of an article: its title, and after the first passage its
// lead too. The passage_docs view computes the same (migration 0006).
func indexedTitle(title, lead string, seq int) string {
	if seq == 0 || lead == "" {
		return title
	}
	return title + " " + lead
}

// fillLeads is migration 0006's Go step: it stores every article's lead
// and rebuilds the full-text index, whose title column now holds leads,
// inside the migration's transaction.
func fillLeads(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, body FROM articles`)
	if err != nil {
		return err
	}
	type lead struct {
		id   int64
		text string
	}
	var leads []lead
	for rows.Next() {
		var id int64
		var body string
		if err := rows.Scan(&id, &body); err != nil {
			rows.Close()
			return err
		}
		leads = append(leads, lead{id, Lead(body)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, `UPDATE articles SET lead = ? WHERE id = ?`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, l := range leads {
		if _, err := stmt.ExecContext(ctx, l.text, l.id); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO passages_fts (passages_fts) VALUES ('rebuild')`)
	return err
}
