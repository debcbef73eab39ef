-- Small facts about the store itself, such as whether the starter briefs
-- were ever added (so that removing them does not bring them back).
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
