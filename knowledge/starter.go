package knowledge

import (
	"bufio"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// The starter briefs: a few short articles the project wrote in its own
// words from the reporting the project started from, so that a new store can
// answer questions about the talks before any moderator has added a source.
//
//go:embed starter/*.md
var starterFS embed.FS

// StarterActor is the AddedBy of the starter briefs.
const StarterActor = "parley:starter"

// StarterBriefs returns the embedded starter briefs. Each file holds
// "Title:", "Outlet:" and "Date:" header lines, a blank line, then the text.
func StarterBriefs() ([]NewArticle, error) {
	names, err := fs.Glob(starterFS, "starter/*.md")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []NewArticle
	for _, name := range names {
		b, err := starterFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		a, err := parseBrief(string(b))
		if err != nil {
			return nil, fmt.Errorf("starter brief %s: %w", name, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func parseBrief(s string) (NewArticle, error) {
	a := NewArticle{Origin: OriginStarter, AddedBy: StarterActor, Language: "en"}
	sc := bufio.NewScanner(strings.NewReader(s))
	var body strings.Builder
	inBody := false
	for sc.Scan() {
		line := sc.Text()
		if inBody {
			body.WriteString(line + "\n")
			continue
		}
		if strings.TrimSpace(line) == "" {
			inBody = true
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			return a, fmt.Errorf("header line %q has no colon", line)
		}
		value = strings.TrimSpace(value)
		switch strings.ToLower(key) {
		case "title":
			a.Title = value
		case "outlet":
			a.Outlet = value
		case "url":
			a.URL = value
		case "date":
			t, err := ParseDate(value)
			if err != nil {
				return a, err
			}
			a.PublishedAt = t
		default:
			return a, fmt.Errorf("unknown header %q", key)
		}
	}
	a.Text = body.String()
	if a.Title == "" || strings.TrimSpace(a.Text) == "" {
		return a, errors.New("a brief needs a title and a text")
	}
	return a, nil
}

// SeedStarter adds the starter briefs to a store that has never had them,
// and records that it did, so that a moderator who removes them does not see
// them come back. It returns how many briefs it added.
func (s *Store) SeedStarter(ctx context.Context) (int, error) {
	briefs, err := StarterBriefs()
	if err != nil {
		return 0, err
	}
	tx, err := s.beginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("seed starter briefs: %w", err)
	}
	defer tx.Rollback()
	var done string
	err = tx.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'starter_seeded'`).Scan(&done)
	if err == nil {
		return 0, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("seed starter briefs: %w", err)
	}
	n := 0
	for _, b := range briefs {
		a, passages, err := s.prepare(b)
		if err != nil {
			return 0, fmt.Errorf("seed starter briefs: %w", err)
		}
		res, err := s.addTx(ctx, tx, a, passages)
		if err != nil {
			return 0, fmt.Errorf("seed starter briefs: %w", err)
		}
		if res.Created {
			n++
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('starter_seeded', ?)`, formatTime(s.now())); err != nil {
		return 0, fmt.Errorf("seed starter briefs: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("seed starter briefs: commit: %w", err)
	}
	s.syncArticles(ctx)
	return n, nil
}
