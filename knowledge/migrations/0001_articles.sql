-- Articles are the unit of curation. A removed article keeps its row (status
-- 'removed') so that removal is recorded, not silently lost.
CREATE TABLE articles (
	id           INTEGER PRIMARY KEY,
	url          TEXT UNIQUE,            -- canonical URL, NULL when unknown
	title        TEXT NOT NULL,
	outlet       TEXT NOT NULL DEFAULT '',
	author       TEXT NOT NULL DEFAULT '',
	published_at TEXT,                   -- RFC 3339 UTC, NULL when unknown
	language     TEXT NOT NULL DEFAULT '',
	added_by     TEXT NOT NULL,
	added_at     TEXT NOT NULL,
	content_hash TEXT NOT NULL UNIQUE,   -- the same text twice is one article
	status       TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
	removed_by   TEXT,
	removed_at   TEXT,
	origin       TEXT NOT NULL CHECK (origin IN ('url', 'text', 'import', 'starter')),
	body         TEXT NOT NULL
);

CREATE INDEX articles_status_published ON articles (status, published_at);

-- Passages are the unit of retrieval: an article's body cut at paragraph
-- boundaries into pieces of a few hundred words.
CREATE TABLE passages (
	id         INTEGER PRIMARY KEY,
	article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	body       TEXT NOT NULL,
	UNIQUE (article_id, seq)
);

-- The full-text index reads its columns from this view, so an article's
-- title is searchable in every one of its passages without storing it twice.
-- Only active articles are in the view, as in the index, so that FTS5's
-- integrity check compares like with like.
CREATE VIEW passage_docs (id, title, body) AS
	SELECT p.id, a.title, p.body
	FROM passages p JOIN articles a ON a.id = p.article_id
	WHERE a.status = 'active';

-- External-content FTS5 index: the text lives once, in passages and
-- articles; the index holds only postings. Only active articles are indexed.
-- Porter stemming so that "negotiate" finds "negotiations"; diacritics
-- folded so "Nicolas" finds "Nicolás".
CREATE VIRTUAL TABLE passages_fts USING fts5 (
	title,
	body,
	content = 'passage_docs',
	content_rowid = 'id',
	tokenize = 'porter unicode61 remove_diacritics 2'
);

-- Every change to the store, with who made it and when.
CREATE TABLE changes (
	id         INTEGER PRIMARY KEY,
	article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
	action     TEXT NOT NULL CHECK (action IN ('add', 'remove', 'restore')),
	actor      TEXT NOT NULL,
	at         TEXT NOT NULL
);

CREATE INDEX changes_at ON changes (at);
