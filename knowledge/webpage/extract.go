package webpage

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"codeberg.org/readeck/go-readability/v2"
	"github.com/RadhiFadlillah/whatlanggo"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/net/html/charset"
	"golang.org/x/text/unicode/norm"
)

// minTextLen is the shortest body, in characters, accepted as an article.
// Below it the page is almost always a consent wall, a paywall stub or an
// index page.
const minTextLen = 200

// maxTitleLen bounds a title taken from the first line of a text/plain page.
const maxTitleLen = 200

// extractHTML decodes body (using contentType, a BOM or a meta charset) and
// extracts its article. base, which may be nil, is the URL the page came from.
func extractHTML(body []byte, contentType string, base *url.URL) (page *Page, err error) {
	// The extractor is large heuristic code run on hostile input; a panic
	// there must cost one page, not the bot.
	defer func() {
		if r := recover(); r != nil {
			page, err = nil, fmt.Errorf("%w: extractor failed: %v", ErrNoArticle, r)
		}
	}()

	doc, err := html.Parse(bytes.NewReader(toUTF8(body, contentType)))
	if err != nil {
		return nil, fmt.Errorf("%w: parse HTML: %v", ErrNoArticle, err)
	}

	// Our own metadata is read first: readability rewrites the tree.
	meta := readMeta(doc)
	pageURL := canonicalURL(doc, base, meta.url)
	lang := declaredLanguage(doc)
	pub := published(meta)

	parser := readability.NewParser()
	// Below this many (non-space) characters readability retries with its
	// boilerplate rules relaxed and keeps the longest attempt, which on a
	// short news item is the page with its comments and footer; its default
	// is 500. With our own threshold a strict result that is long enough to
	// be an article is kept. (The value also bounds the "share" elements
	// readability removes; share bars are much shorter.)
	parser.CharThresholds = minTextLen
	// Classes stay on the article's elements so that author boxes can be
	// recognised and dropped (see boilerplate.go).
	parser.KeepClasses = true
	art, err := parser.ParseAndMutate(doc, base)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoArticle, err)
	}

	title := chooseTitle(collapseSpace(art.Title()), meta)
	author := cleanByline(art.Byline())
	text := dropLeadingTitle(articleText(art.Node, author), title)
	if n := utf8.RuneCountInString(text); n < minTextLen {
		return nil, fmt.Errorf("%w: only %d characters of text", ErrNoArticle, n)
	}

	if lang == "" {
		lang = primaryLanguage(art.Language())
	}
	if lang == "" {
		// No declaration: guess from the text, as trafilatura used to.
		lang = whatlanggo.DetectLang(text).Iso6391()
	}
	if pub.IsZero() {
		// readability also reads JSON-LD datePublished.
		if t, err := art.PublishedTime(); err == nil {
			pub = t.UTC()
		}
	}
	if pub.IsZero() {
		pub = meta.itemPublished
	}
	site := collapseSpace(art.SiteName())
	if site == "" {
		site = siteName(meta, pageURL)
	}
	return &Page{
		URL:       pageURL,
		Title:     title,
		Author:    author,
		SiteName:  site,
		Language:  lang,
		Published: pub,
		Text:      text,
	}, nil
}

// extractPlain turns a text/plain body into a Page: line breaks normalised,
// runs of blank lines reduced to one, the first non-empty line as title.
func extractPlain(body []byte, contentType string) (*Page, error) {
	s := string(toUTF8(body, contentType))
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")

	var paras []string
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, "\n"))
			cur = cur[:0]
		}
	}
	for line := range strings.SplitSeq(s, "\n") {
		line = strings.TrimRightFunc(line, unicode.IsSpace)
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		cur = append(cur, line)
	}
	flush()

	text := strings.TrimSpace(strings.Join(paras, "\n\n"))
	if n := utf8.RuneCountInString(text); n < minTextLen {
		return nil, fmt.Errorf("%w: only %d characters of text", ErrNoArticle, n)
	}
	title, _, _ := strings.Cut(text, "\n")
	title = strings.TrimSpace(title)
	if utf8.RuneCountInString(title) > maxTitleLen {
		title = string([]rune(title)[:maxTitleLen])
	}
	return &Page{Title: title, Text: text}, nil
}

// toUTF8 decodes b using the charset named by contentType, a BOM or a meta
// element, falling back to UTF-8 when b is valid UTF-8 and windows-1252
// otherwise (the HTML standard's rule), and normalises the result to NFC.
func toUTF8(b []byte, contentType string) []byte {
	enc, _, _ := charset.DetermineEncoding(b, contentType)
	if out, err := enc.NewDecoder().Bytes(b); err == nil {
		b = out
	}
	return norm.NFC.Bytes(b)
}

// blockTags start a new paragraph when entered and end it when left.
var blockTags = map[atom.Atom]bool{
	atom.Address: true, atom.Article: true, atom.Aside: true, atom.Blockquote: true,
	atom.Body: true, atom.Caption: true, atom.Dd: true, atom.Details: true,
	atom.Div: true, atom.Dl: true, atom.Dt: true, atom.Figcaption: true,
	atom.Figure: true, atom.Footer: true, atom.Form: true, atom.H1: true,
	atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Header: true, atom.Hr: true, atom.Li: true, atom.Main: true,
	atom.Nav: true, atom.Ol: true, atom.P: true, atom.Section: true,
	atom.Summary: true, atom.Table: true, atom.Tbody: true, atom.Tfoot: true,
	atom.Thead: true, atom.Tr: true, atom.Ul: true,
}

// skipTags never hold article text.
var skipTags = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Noscript: true, atom.Template: true,
	atom.Svg: true, atom.Math: true, atom.Iframe: true, atom.Object: true,
}

// paragraphs collects text from a node tree, one entry per block element.
type paragraphs struct {
	out    []string
	cur    strings.Builder
	root   *html.Node
	stats  map[*html.Node]blockStats
	author string // the article's author, to recognise its byline
}

// articleText renders the text of n, readability's article, as paragraphs
// separated by one blank line, with whitespace inside each paragraph
// collapsed to single spaces (lines of a pre element are kept). Blocks that
// look like boilerplate (see boilerplate.go) are left out, and so are
// paragraphs without a letter or digit, such as separators left between
// links.
func articleText(n *html.Node, author string) string {
	if n == nil {
		return ""
	}
	p := paragraphs{root: n, stats: map[*html.Node]blockStats{}, author: author}
	countStats(n, p.stats)
	p.walk(n)
	p.flush()
	return strings.Join(p.out, "\n\n")
}

func (p *paragraphs) add(s string) {
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 {
		p.out = append(p.out, s)
	}
}

func (p *paragraphs) flush() {
	s := collapseSpace(p.cur.String())
	p.cur.Reset()
	p.add(s)
}

func (p *paragraphs) walk(n *html.Node) {
	tag := tagAtom(n)
	switch n.Type {
	case html.TextNode:
		p.cur.WriteString(n.Data)
		return
	case html.ElementNode:
		switch {
		case skipTags[tag]:
			return
		case tag == atom.Br:
			p.cur.WriteByte(' ')
			return
		case tag == atom.Pre:
			p.flush()
			p.add(preText(n))
			return
		case tag == atom.Td || tag == atom.Th:
			if strings.TrimSpace(p.cur.String()) != "" {
				p.cur.WriteString(" | ")
			}
		}
	case html.CommentNode, html.DoctypeNode:
		return
	}
	block := n.Type == html.ElementNode && blockTags[tag]
	if block && n != p.root && p.boilerplate(n) {
		return
	}
	if block {
		p.flush()
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		p.walk(c)
	}
	if block {
		p.flush()
	}
}

// preText returns the text of a pre element line by line, without blank
// lines so that it cannot break the one-blank-line paragraph rule.
func preText(n *html.Node) string {
	s := strings.ReplaceAll(collectText(n, true), "\r\n", "\n")
	var lines []string
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimRightFunc(line, unicode.IsSpace); strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	return strings.Join(lines, "\n")
}

// collapseSpace trims s and replaces each run of white space with one space.
func collapseSpace(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// dropLeadingTitle removes a first paragraph that repeats the title, as an
// h1 that readability did not recognise as the title would.
func dropLeadingTitle(text, title string) string {
	if title == "" {
		return text
	}
	first, rest, _ := strings.Cut(text, "\n\n")
	if strings.EqualFold(first, title) {
		return rest
	}
	return text
}

// declaredLanguage returns the primary language subtag the page declares in
// <html lang> or a Content-Language meta element, lower-cased ("en-GB" ->
// "en"), or "" if none is usable.
func declaredLanguage(doc *html.Node) string {
	var lang string
	var rec func(*html.Node) bool
	rec = func(n *html.Node) bool {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Html:
				if v := attr(n, "lang"); v != "" {
					lang = v
					return true
				}
			case atom.Meta:
				if strings.EqualFold(attr(n, "http-equiv"), "content-language") {
					lang = attr(n, "content")
					return true
				}
			case atom.Body:
				return true // declarations live in html and head only
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if rec(c) {
				return true
			}
		}
		return false
	}
	rec(doc)
	return primaryLanguage(lang)
}

// primaryLanguage returns the primary subtag of a language tag or list,
// lower-cased ("en-GB" -> "en"), or "" if it is not 2 or 3 letters.
func primaryLanguage(lang string) string {
	primary, _, _ := strings.Cut(strings.TrimSpace(lang), ",")
	primary, _, _ = strings.Cut(primary, "-")
	primary, _, _ = strings.Cut(primary, "_")
	primary = strings.ToLower(strings.TrimSpace(primary))
	if len(primary) < 2 || len(primary) > 3 {
		return ""
	}
	for _, r := range primary {
		if r < 'a' || r > 'z' {
			return ""
		}
	}
	return primary
}

// publishedMeta lists meta elements (name, property or itemprop, lower case)
// that carry a publication timestamp, best first.
var publishedMeta = []string{
	"article:published_time", "og:article:published_time", "datepublished",
	"parsely-pub-date", "sailthru.date", "pubdate", "publishdate",
	"dcterms.issued", "dc.date.issued", "dcterms.created", "dc.date",
}

// timeLayouts are the timestamp forms accepted in publishedMeta values.
var timeLayouts = []string{
	time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02",
}

// pageMeta is what a page says about itself outside the article text, read
// before the extractor rewrites the tree.
type pageMeta struct {
	// values maps the lower-cased property, name and itemprop of each meta
	// element to its trimmed content; the first element with a key wins.
	values map[string]string
	// url is og:url or twitter:url, when absolute.
	url string
	// itemPublished is the first parsable datetime or content attribute of
	// an element (not a meta) with itemprop datePublished, such as
	// <time itemprop="datePublished" datetime="...">.
	itemPublished time.Time
	// title is the text of the title element; h1 the text of the page's h1
	// if it has exactly one.
	title, h1 string
}

func readMeta(doc *html.Node) pageMeta {
	m := pageMeta{values: map[string]string{}}
	h1s := 0
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Title && m.title == "" {
			m.title = collapseSpace(textOf(n))
		} else if n.Type == html.ElementNode && n.DataAtom == atom.H1 {
			if h1s++; h1s == 1 {
				m.h1 = collapseSpace(textOf(n))
			}
		} else if n.Type == html.ElementNode && n.DataAtom == atom.Meta {
			for _, key := range []string{"property", "name", "itemprop"} {
				k := strings.ToLower(strings.TrimSpace(attr(n, key)))
				if _, seen := m.values[k]; k != "" && !seen {
					m.values[k] = strings.TrimSpace(attr(n, "content"))
				}
			}
		} else if n.Type == html.ElementNode && m.itemPublished.IsZero() && hasToken(attr(n, "itemprop"), "datepublished") {
			for _, key := range []string{"datetime", "content"} {
				if t, ok := parseTime(attr(n, key)); ok {
					m.itemPublished = t
					break
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(doc)
	if h1s != 1 {
		m.h1 = ""
	}
	for _, k := range []string{"og:url", "twitter:url"} {
		if u := absHTTP(nil, m.values[k]); u != nil {
			m.url = u.String()
			break
		}
	}
	return m
}

// textOf returns the text under n, script and style excluded.
func textOf(n *html.Node) string { return collectText(n, false) }

// collectText returns the text under n, leaving out the elements in
// skipTags; with lineBreaks, each <br> becomes a newline.
func collectText(n *html.Node, lineBreaks bool) string {
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case lineBreaks && n.Type == html.ElementNode && tagAtom(n) == atom.Br:
			b.WriteByte('\n')
		case n.Type == html.ElementNode && skipTags[tagAtom(n)]:
		default:
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				rec(c)
			}
		}
	}
	rec(n)
	return b.String()
}

// titleMeta lists the meta elements readability takes a title from.
var titleMeta = []string{
	"og:title", "twitter:title", "dc.title", "dc:title", "dcterms.title", "dcterm:title",
	"parsely-title", "title", "weibo:article:title", "weibo:webpage:title",
}

// chooseTitle returns readability's title t, unless the page has no title
// metadata, t comes from the title element ("Headline | Section | Site"
// cut down) and the page has a single h1: then the h1, which trafilatura
// preferred in that case.
func chooseTitle(t string, m pageMeta) string {
	if m.h1 == "" || t == m.h1 {
		return t
	}
	for _, k := range titleMeta {
		if m.values[k] != "" {
			return t
		}
	}
	if t == "" || strings.Contains(m.title, t) {
		return m.h1
	}
	return t
}

// hasToken reports whether the space-separated list s holds tok, ignoring
// case.
func hasToken(s, tok string) bool {
	for _, f := range strings.Fields(s) {
		if strings.EqualFold(f, tok) {
			return true
		}
	}
	return false
}

func parseTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// published returns the publication time from the page's meta elements when
// one parses, else the zero time; extractHTML then falls back to
// readability's date (JSON-LD datePublished, dcterms), then to an element
// with itemprop datePublished.
func published(m pageMeta) time.Time {
	for _, k := range publishedMeta {
		if t, ok := parseTime(m.values[k]); ok {
			return t
		}
	}
	return time.Time{}
}

// siteNameMeta lists meta elements, besides og:site_name which readability
// reads, that name the site, best first.
var siteNameMeta = []string{"publisher", "article:publisher", "application-name", "twitter:site"}

// siteName returns the site's name from meta elements readability does not
// read, else the host name of pageURL without a leading "www.", else "".
func siteName(m pageMeta, pageURL string) string {
	for _, k := range siteNameMeta {
		v := collapseSpace(strings.TrimPrefix(m.values[k], "@"))
		if v != "" && absHTTP(nil, v) == nil { // article:publisher is often a URL
			return v
		}
	}
	if u, err := url.Parse(pageURL); err == nil && u.Hostname() != "" {
		host := u.Hostname()
		if h, ok := strings.CutPrefix(host, "www."); ok && strings.Contains(h, ".") {
			host = h
		}
		return host
	}
	return ""
}

// canonicalURL returns the page's <link rel="canonical">, resolved against
// base, if it is an absolute http or https URL without userinfo; otherwise
// base, otherwise "". When base is nil (a page in hand), fallback (the
// page's og:url or twitter:url) takes its place if it qualifies.
func canonicalURL(doc *html.Node, base *url.URL, fallback string) string {
	if base == nil {
		base = absHTTP(nil, fallback)
	}
	if href := canonicalHref(doc); href != "" {
		if u := absHTTP(base, href); u != nil {
			return u.String()
		}
	}
	if base != nil {
		return base.String()
	}
	return ""
}

func canonicalHref(doc *html.Node) string {
	var href string
	var rec func(*html.Node) bool
	rec = func(n *html.Node) bool {
		if n.Type == html.ElementNode && n.DataAtom == atom.Link {
			for _, rel := range strings.Fields(attr(n, "rel")) {
				if strings.EqualFold(rel, "canonical") {
					href = strings.TrimSpace(attr(n, "href"))
					return href != ""
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if rec(c) {
				return true
			}
		}
		return false
	}
	rec(doc)
	return href
}

// absHTTP parses ref relative to base (which may be nil) and returns it if
// the result is an absolute http or https URL with a host and no userinfo.
func absHTTP(base *url.URL, ref string) *url.URL {
	if ref == "" {
		return nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil
	}
	u.Fragment, u.RawFragment = "", ""
	return u
}

// tagAtom returns the atom of an element. readability renames elements (a
// div holding only text becomes a p) by changing Data alone, and creates
// elements with DataAtom zero, so Data is the authority.
func tagAtom(n *html.Node) atom.Atom {
	if n.Type != html.ElementNode || (n.DataAtom != 0 && n.DataAtom.String() == n.Data) {
		return n.DataAtom
	}
	return atom.Lookup([]byte(strings.ToLower(n.Data)))
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, key) {
			return a.Val
		}
	}
	return ""
}
