-- Search no longer reads each candidate's article from the table: the
-- date and citation fields come from an in-memory cache (cite.go), and the
-- index holds only active articles' passages, so status needs no check.
-- The covering index that served those lookups (0005) is left unused.
DROP INDEX IF EXISTS articles_search;
