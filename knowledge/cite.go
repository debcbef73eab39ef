package knowledge

import (
	"context"
	"database/sql"
	"encoding/json"
	"sync"
	"time"
)

// articleCite is what a search result needs of its article: the date that
// ranking weighs and the fields a citation shows. None of them changes once
// the article is added (removal changes only its status, and takes its
// passages out of the index), and article ids are never reused, since rows
// are never deleted. So they can be kept in memory across searches.
type articleCite struct {
	published          time.Time
	url, title, outlet string
	origin             Origin
}

// maxCachedCites bounds the cache: 3.6 MB of heap when full, with links of
// about 100 characters and titles of 75 (measured), and more articles than
// a curated store usually holds. In a larger store search is as
// correct; the articles it misses cost one more statement.
const maxCachedCites = 10_000

// citeCache keeps articleCite by article id. It is safe for concurrent use.
type citeCache struct {
	mu sync.RWMutex
	m  map[int64]articleCite
}

// cite fills the article fields of res from the cache, reading the
// articles it does not hold in one statement. Looking them up in memory
// rather than joining the articles table took a 50-passage search on the
// smallest quarter of the development weeks (1,386 passages) from 1.34-1.38
// to 1.21-1.27 times the bare query, and on all sixteen weeks from
// 1.11-1.12 to 1.09-1.10 (see "Small stores" in MEASUREMENTS.md).
func (s *Store) cite(ctx context.Context, res []Result) error {
	var missing []int64
	s.cites.mu.RLock()
	for i := range res {
		if c, ok := s.cites.m[res[i].ArticleID]; ok {
			c.fill(&res[i])
		} else {
			missing = append(missing, res[i].ArticleID)
		}
	}
	s.cites.mu.RUnlock()
	if len(missing) == 0 {
		return nil
	}
	found, err := s.readCites(ctx, missing)
	if err != nil {
		return err
	}
	for i := range res {
		if c, ok := found[res[i].ArticleID]; ok {
			c.fill(&res[i])
		}
	}
	s.cites.add(found)
	return nil
}

func (c articleCite) fill(r *Result) {
	r.PublishedAt, r.URL, r.Title, r.Outlet, r.Origin = c.published, c.url, c.title, c.outlet, c.origin
}

// readCites reads the citation fields of the articles ids.
func (s *Store) readCites(ctx context.Context, ids []int64) (map[int64]articleCite, error) {
	list, _ := json.Marshal(ids)
	rows, err := s.reader.QueryContext(ctx, `
		SELECT id, published_at, url, title, outlet, origin FROM articles
		WHERE id IN (SELECT value FROM json_each(?))`, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	found := make(map[int64]articleCite, len(ids))
	for rows.Next() {
		var id int64
		var published, url sql.NullString
		var origin string
		var c articleCite
		if err := rows.Scan(&id, &published, &url, &c.title, &c.outlet, &origin); err != nil {
			return nil, err
		}
		c.published, c.url, c.origin = parseTime(published), url.String, Origin(origin)
		found[id] = c
	}
	return found, rows.Err()
}

// add stores found, first making room by dropping a quarter of the cache
// (whichever entries map iteration yields) when it is full.
func (c *citeCache) add(found map[int64]articleCite) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64]articleCite, len(found))
	}
	if len(c.m)+len(found) > maxCachedCites {
		drop := len(c.m) - maxCachedCites*3/4 + len(found)
		for id := range c.m {
			if drop <= 0 {
				break
			}
			delete(c.m, id)
			drop--
		}
	}
	for id, a := range found {
		c.m[id] = a
	}
}
