package knowledge

import "testing"

func TestCiteCacheStaysBounded(t *testing.T) {
	var c citeCache
	next := int64(0)
	for round := 0; round < 3*maxCachedCites/50; round++ {
		batch := make(map[int64]articleCite, 50)
		for range 50 {
			next++
			batch[next] = articleCite{title: "t"}
		}
		c.add(batch)
		if len(c.m) > maxCachedCites {
			t.Fatalf("after %d articles the cache holds %d, more than %d", next, len(c.m), maxCachedCites)
		}
		for id := range batch {
			if _, ok := c.m[id]; !ok {
				t.Fatalf("article %d, just added, is not in the cache", id)
			}
		}
	}
	if len(c.m) < maxCachedCites/2 {
		t.Errorf("the cache holds %d of %d articles: it drops too much", len(c.m), 3*maxCachedCites)
	}
}
