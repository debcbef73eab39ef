-- Every answer given, so that refusals and answers rated down can be listed
-- as coverage gaps for moderators, and feedback has something to point at.
CREATE TABLE answers (
	id          INTEGER PRIMARY KEY,
	asked_at    TEXT NOT NULL,
	asker       TEXT NOT NULL DEFAULT '',
	place       TEXT NOT NULL DEFAULT '',
	question    TEXT NOT NULL,
	answer      TEXT NOT NULL,
	refusal     INTEGER NOT NULL DEFAULT 0,
	extractive  INTEGER NOT NULL DEFAULT 0,
	model       TEXT NOT NULL DEFAULT '',
	sources     TEXT NOT NULL DEFAULT '[]' -- JSON array of cited article ids
);

CREATE INDEX answers_asked_at ON answers (asked_at);

-- One vote per person per answer; voting again replaces the vote.
CREATE TABLE feedback (
	answer_id INTEGER NOT NULL REFERENCES answers (id) ON DELETE CASCADE,
	voter     TEXT NOT NULL,
	vote      INTEGER NOT NULL CHECK (vote IN (-1, 1)),
	at        TEXT NOT NULL,
	PRIMARY KEY (answer_id, voter)
);
