-- Each article's opening words (see Lead in lead.go), indexed with its
-- passages after the first so that a passage deep in a story is found by
-- what the story is about. The view gives the index the same text the
-- insert path does; the Go step of this migration fills the leads of
-- existing articles and rebuilds the index.
ALTER TABLE articles ADD COLUMN lead TEXT NOT NULL DEFAULT '';

DROP VIEW passage_docs;
CREATE VIEW passage_docs (id, title, body) AS
	SELECT p.id,
		CASE WHEN p.seq = 0 OR a.lead = '' THEN a.title ELSE a.title || ' ' || a.lead END,
		p.body
	FROM passages p JOIN articles a ON a.id = p.article_id
	WHERE a.status = 'active';
