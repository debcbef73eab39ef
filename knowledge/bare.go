package knowledge

import (
	"context"
	"database/sql"
	"time"
)

// BareInsert indexes articles the plainest way FTS5 allows, for comparing
// an import with the engine's own cost: their passages, cut as the store
// cuts them before the clock starts, go into one FTS5 table (title and
// body, the store's tokenizer) in a new database at path, in one
// transaction, with nothing else stored. Passages are of about words words,
// as WithPassageWords sets (DefaultPassageWords when zero). It returns the
// passages inserted and the time the inserts and the commit took.
func BareInsert(ctx context.Context, path string, articles []ImportRecord, words int) (passages int, took time.Duration, err error) {
	db, err := sql.Open("sqlite3", dsn(path, "_journal_mode=WAL&_synchronous=NORMAL"))
	if err != nil {
		return 0, 0, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, `CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='porter unicode61 remove_diacritics 2')`); err != nil {
		return 0, 0, err
	}
	type row struct{ title, body string }
	var rows []row
	for _, a := range articles {
		for _, p := range Chunk(a.Text, words) {
			rows = append(rows, row{a.Title, p})
		}
	}
	start := time.Now()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO t (title, body) VALUES (?, ?)`)
	if err != nil {
		return 0, 0, err
	}
	defer stmt.Close()
	for _, r := range rows {
		if _, err := stmt.ExecContext(ctx, r.title, r.body); err != nil {
			return 0, 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return len(rows), time.Since(start), nil
}
