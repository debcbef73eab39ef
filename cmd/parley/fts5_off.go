//go:build !sqlite_fts5 && !fts5

package main

// fts5Built reports whether the SQLite driver was compiled with FTS5. This
// build lacks the tag, so run refuses to start.
const fts5Built = false
