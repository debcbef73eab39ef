package webpage

import (
	"bytes"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/markusmobius/go-trafilatura"
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
	// The extractors are large heuristic code run on hostile input; a panic
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

	opts := trafilatura.Options{
		OriginalURL:     base,
		ExcludeComments: true,
		// Extensive date search (the default once fallback is on) runs
		// hundreds of regexps; the publication date is nearly always in the
		// metadata that Fast reads.
		HtmlDateMode: trafilatura.Fast,
	}
	res, exErr := trafilatura.ExtractDocument(doc, opts)
	var text string
	if exErr == nil {
		text = nodeText(res.ContentNode)
	}
	if utf8.RuneCountInString(text) < minTextLen {
		// Readability and DOM Distiller are slower, so they only run when
		// trafilatura alone came up short.
		opts.EnableFallback = true
		if res2, err2 := trafilatura.ExtractDocument(doc, opts); err2 == nil {
			if t2 := nodeText(res2.ContentNode); utf8.RuneCountInString(t2) > utf8.RuneCountInString(text) {
				res, text, exErr = res2, t2, nil
			}
		}
	}
	if exErr != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoArticle, exErr)
	}

	meta := res.Metadata
	title := collapseSpace(meta.Title)
	text = dropLeadingTitle(text, title)
	if n := utf8.RuneCountInString(text); n < minTextLen {
		return nil, fmt.Errorf("%w: only %d characters of text", ErrNoArticle, n)
	}

	lang := declaredLanguage(doc)
	if lang == "" {
		// trafilatura reports the language it detected in the text.
		lang = meta.Language
	}
	return &Page{
		URL:       canonicalURL(doc, base, meta.URL),
		Title:     title,
		Author:    collapseSpace(meta.Author),
		SiteName:  collapseSpace(meta.Sitename),
		Language:  lang,
		Published: published(doc, meta.Date),
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
	out []string
	cur strings.Builder
}

// nodeText renders the text of n as paragraphs separated by one blank line,
// with whitespace inside each paragraph collapsed to single spaces (lines of
// a pre element are kept). Paragraphs without a letter or digit, such as the
// stray punctuation trafilatura leaves where it cut a byline, are dropped.
func nodeText(n *html.Node) string {
	if n == nil {
		return ""
	}
	var p paragraphs
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
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		switch {
		case n.Type == html.TextNode:
			b.WriteString(n.Data)
		case n.Type == html.ElementNode && tagAtom(n) == atom.Br:
			b.WriteByte('\n')
		case n.Type == html.ElementNode && skipTags[tagAtom(n)]:
		default:
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				rec(c)
			}
		}
	}
	rec(n)
	s := strings.ReplaceAll(b.String(), "\r\n", "\n")
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

// dropLeadingTitle removes a first paragraph that repeats the title, which
// trafilatura keeps from the article's h1.
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

// published returns the publication time from the page's meta elements when
// one parses, else the date trafilatura found. go-htmldate, which trafilatura
// uses, returns the date at midnight, and its ExtractTime option is marked
// work in progress and gave wrong times in testing, hence the own lookup.
func published(doc *html.Node, fallback time.Time) time.Time {
	values := map[string]string{}
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode && n.DataAtom == atom.Meta {
			for _, key := range []string{"property", "name", "itemprop"} {
				k := strings.ToLower(strings.TrimSpace(attr(n, key)))
				if _, seen := values[k]; k != "" && !seen {
					values[k] = strings.TrimSpace(attr(n, "content"))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(doc)
	for _, k := range publishedMeta {
		v := values[k]
		if v == "" {
			continue
		}
		for _, layout := range timeLayouts {
			if t, err := time.Parse(layout, v); err == nil {
				return t.UTC()
			}
		}
	}
	return fallback
}

// canonicalURL returns the page's <link rel="canonical">, resolved against
// base, if it is an absolute http or https URL without userinfo; otherwise
// fallback (trafilatura's idea of the URL, used when base is nil) if it
// qualifies, otherwise base, otherwise "".
func canonicalURL(doc *html.Node, base *url.URL, fallback string) string {
	if href := canonicalHref(doc); href != "" {
		if u := absHTTP(base, href); u != nil {
			return u.String()
		}
	}
	if base != nil {
		return base.String()
	}
	if u := absHTTP(nil, fallback); u != nil {
		return u.String()
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

// tagAtom returns the atom of an element. trafilatura builds its output with
// only Data set, leaving DataAtom zero, so fall back to looking the name up.
func tagAtom(n *html.Node) atom.Atom {
	if n.Type != html.ElementNode || n.DataAtom != 0 {
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
