-- Optional passage embeddings from an OpenAI-compatible /embeddings
-- endpoint, used to rerank full-text candidates when one is configured.
-- One vector per passage: the model that made it is recorded, so that
-- vectors from a model no longer configured are ignored by search and
-- replaced by the next backfill. Vectors are L2-normalised little-endian
-- float32s, so a dot product is their cosine similarity.
CREATE TABLE passage_vectors (
	passage_id INTEGER PRIMARY KEY REFERENCES passages (id) ON DELETE CASCADE,
	model      TEXT NOT NULL,
	dims       INTEGER NOT NULL,
	vec        BLOB NOT NULL
);

CREATE INDEX passage_vectors_model ON passage_vectors (model);
