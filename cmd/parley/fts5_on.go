//go:build sqlite_fts5 || fts5

package main

// fts5Built reports whether the SQLite driver was compiled with FTS5, which
// go-sqlite3 does only under the sqlite_fts5 (or fts5) build tag.
const fts5Built = true
