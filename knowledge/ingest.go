package knowledge

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"parley/knowledge/webpage"
)

// PageFetcher fetches and extracts a web article. *webpage.Fetcher is the
// production implementation; it refuses private and loopback destinations.
type PageFetcher interface {
	Fetch(ctx context.Context, rawURL string) (*webpage.Page, error)
}

// AddURL fetches the article at rawURL with f and stores it. If the URL is
// already in the store the existing article is returned without fetching.
// Errors from the fetcher wrap the webpage package's sentinels
// (webpage.ErrForbiddenHost, webpage.ErrBadURL, ...).
func (s *Store) AddURL(ctx context.Context, f PageFetcher, rawURL, addedBy string) (AddResult, error) {
	canon, err := CanonicalURL(rawURL)
	if err != nil {
		return AddResult{}, fmt.Errorf("%w: %q is not an absolute http or https URL", webpage.ErrBadURL, rawURL)
	}
	if a, ok, err := s.byURL(ctx, canon); err != nil {
		return AddResult{}, err
	} else if ok && a.Status == StatusActive {
		return AddResult{Article: a}, nil
	}
	page, err := f.Fetch(ctx, rawURL)
	if err != nil {
		return AddResult{}, fmt.Errorf("fetch %s: %w", rawURL, err)
	}
	in := NewArticle{
		URL:         page.URL,
		Title:       page.Title,
		Outlet:      page.SiteName,
		Author:      page.Author,
		PublishedAt: page.Published,
		Language:    page.Language,
		Text:        page.Text,
		Origin:      OriginURL,
		AddedBy:     addedBy,
	}
	// A page's canonical link may name another site; trusting it would let
	// a page claim to be an article from an outlet it is not.
	if in.URL == "" || !sameSite(in.URL, canon) {
		in.URL = canon
	}
	if in.Title == "" {
		in.Title = firstLine(page.Text)
	}
	return s.Add(ctx, in)
}

func (s *Store) byURL(ctx context.Context, canon string) (Article, bool, error) {
	var id int64
	err := s.reader.QueryRowContext(ctx, `SELECT id FROM articles WHERE url = ?`, canon).Scan(&id)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return Article{}, false, nil
		}
		return Article{}, false, fmt.Errorf("look up %s: %w", canon, err)
	}
	a, err := s.Get(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Article{}, false, nil
	}
	return a, err == nil, err
}

// ArticleText turns an uploaded file's content into article text by its
// name's extension: HTML is run through the article extractor, Markdown has
// its markup removed, anything else is read as plain text. It also returns
// the title the document gives itself, if any.
func ArticleText(name string, data []byte) (text, title string, err error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".html", ".htm", ".xhtml":
		page, err := webpage.Extract(data, "")
		if err != nil {
			return "", "", fmt.Errorf("%w: %s: %v", ErrInvalid, filepath.Base(name), err)
		}
		return page.Text, page.Title, nil
	case ".md", ".markdown":
		return markdownText(string(data))
	}
	return string(data), "", nil
}

var (
	mdImage   = regexp.MustCompile(`!\[([^\]]*)\]\([^)]*\)`)
	mdLink    = regexp.MustCompile(`\[([^\]]+)\]\([^)]*\)`)
	mdEmph    = regexp.MustCompile(`(\*\*|__|\*|_|~~|` + "`" + `)([^*_~` + "`" + `]+)(\*\*|__|\*|_|~~|` + "`" + `)`)
	mdHeading = regexp.MustCompile(`^#{1,6}\s+`)
	mdBullet  = regexp.MustCompile(`^\s*([-*+]|\d+[.)])\s+`)
)

// markdownText strips the Markdown markup that would otherwise pollute the
// index and quotes: headings, emphasis, links (keeping their text), images,
// code fences and block quotes. The first heading becomes the title.
func markdownText(md string) (text, title string, err error) {
	var out []string
	for _, line := range strings.Split(strings.ReplaceAll(md, "\r\n", "\n"), "\n") {
		t := strings.TrimSpace(line)
		if strings.HasPrefix(t, "```") || strings.HasPrefix(t, "~~~") || t == "---" || t == "***" {
			continue
		}
		if mdHeading.MatchString(t) {
			t = mdHeading.ReplaceAllString(t, "")
			if title == "" {
				title = t
				continue
			}
			// A heading is a paragraph of its own.
			out = append(out, "", t, "")
			continue
		}
		t = strings.TrimLeft(t, "> ")
		t = mdBullet.ReplaceAllString(t, "")
		t = mdImage.ReplaceAllString(t, "$1")
		t = mdLink.ReplaceAllString(t, "$1")
		t = mdEmph.ReplaceAllString(t, "$2")
		out = append(out, t)
	}
	return strings.Join(out, "\n"), title, nil
}

func sameSite(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil {
		return false
	}
	ha := strings.TrimPrefix(strings.ToLower(ua.Hostname()), "www.")
	hb := strings.TrimPrefix(strings.ToLower(ub.Hostname()), "www.")
	return ha == hb
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return truncate(l, 200)
		}
	}
	return ""
}
