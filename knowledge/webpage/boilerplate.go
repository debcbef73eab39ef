package webpage

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Readability picks the article's container well but keeps some small blocks
// inside it that trafilatura dropped and that are not article text: bylines
// and datelines (it removes a byline only when the page's metadata named no
// author), share bars whose class is not exactly "share", "Read more" links,
// author boxes and newsletter sign-up boxes. The rules below drop them from
// its output; they only look at blocks with little text, so that article
// paragraphs are not at risk.
const (
	// shortBlock is the most non-space characters a byline, dateline or
	// share bar may have (readability's own byline limit is 100 with spaces).
	shortBlock = 90
	// linkBlock is the most non-space characters a block may have and still
	// be dropped for being mostly link text.
	linkBlock = 300
	// boxBlock is the most non-space characters of a block dropped for its
	// class, id or itemprop (see rxBoxAttr).
	boxBlock = 400
)

// rxBoxAttr matches the class, id or itemprop of bylines, author boxes and
// newsletter or subscription boxes. "subscriber" and "paywall" are left out:
// some sites mark the subscribers' part of the article text with them.
var rxBoxAttr = regexp.MustCompile(`(?i)author|byline|dateline|writtenby|newsletter|subscribe([^r]|$)|sign-?up|promo`)

// bylinePrefixes are the words before an author's name in a byline, lower
// case with their trailing space.
var bylinePrefixes = []string{"posted by ", "written by ", "words by ", "by ", "par ", "von ", "por ", "door ", "di "}

// shareWords are the words of share bars ("Share on Facebook", "Tweet",
// "Email", "Print", "Partager sur X").
var shareWords = map[string]bool{
	"share": true, "sharing": true, "this": true, "article": true, "story": true, "page": true,
	"on": true, "via": true, "by": true, "copy": true, "link": true, "copied": true,
	"facebook": true, "twitter": true, "x": true, "tweet": true, "email": true, "e": true,
	"mail": true, "print": true, "whatsapp": true, "linkedin": true, "pinterest": true,
	"reddit": true, "telegram": true, "messenger": true, "bluesky": true, "threads": true,
	"mastodon": true, "flipboard": true, "sms": true,
	"partager": true, "sur": true, "par": true, "envoyer": true, "imprimer": true,
	"copier": true, "le": true, "lien": true, "teilen": true, "drucken": true,
	"compartir": true, "en": true, "correo": true, "condividi": true, "delen": true,
}

// blockStats describes the text under a node, counted in non-space
// characters: all of it, the part inside links and the part inside time
// elements. short is the text itself, white space collapsed, when text is
// under shortBlock.
type blockStats struct {
	text, link, time int
	short            string
}

// countStats fills stats for every block element under n and returns n's.
func countStats(n *html.Node, stats map[*html.Node]blockStats) blockStats {
	var s blockStats
	switch n.Type {
	case html.TextNode:
		for _, r := range n.Data {
			if !unicode.IsSpace(r) {
				s.text++
			}
		}
		if s.text < shortBlock {
			s.short = squeezeSpace(n.Data)
		}
		return s
	case html.ElementNode, html.DocumentNode:
	default:
		return s
	}
	tag := tagAtom(n)
	if skipTags[tag] {
		return s
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		cs := countStats(c, stats)
		s.text += cs.text
		s.link += cs.link
		s.time += cs.time
		if s.text < shortBlock {
			// Blocks and br separate words; inline elements do not.
			sep := c.Type == html.ElementNode && (blockTags[tagAtom(c)] || tagAtom(c) == atom.Br)
			if sep {
				b.WriteByte(' ')
			}
			b.WriteString(cs.short)
			if sep {
				b.WriteByte(' ')
			}
		}
	}
	if s.text < shortBlock {
		s.short = collapseSpace(b.String())
	}
	switch tag {
	case atom.A:
		s.link = s.text
	case atom.Time:
		s.time = s.text
	}
	if blockTags[tag] {
		stats[n] = s
	}
	return s
}

// boilerplate reports whether block element n is not article text.
func (p *paragraphs) boilerplate(n *html.Node) bool {
	s, ok := p.stats[n]
	if !ok || s.text == 0 {
		return false
	}
	switch tagAtom(n) {
	case atom.Table, atom.Tr, atom.Tbody, atom.Thead, atom.Tfoot:
		// readability keeps only data tables, whose cells are often links.
		return false
	}
	switch {
	case s.text < linkBlock && 2*s.link >= s.text:
		// "Read more" and "See also" boxes, lists of links, tag lists.
		return true
	case s.text < shortBlock && 2*s.time >= s.text:
		// Datelines: "Thu 2 May 2024 06.15 BST", "on 19 February | 7 comments".
		return true
	case s.text < boxBlock && rxBoxAttr.MatchString(attr(n, "class")+" "+attr(n, "id")+" "+attr(n, "itemprop")):
		return true
	case s.text < shortBlock:
		return isShareBar(s.short) || isByline(s.short, p.author)
	}
	return false
}

// isShareBar reports whether every word of s is a share-bar word.
func isShareBar(s string) bool {
	words := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if !shareWords[w] {
			return false
		}
	}
	return len(words) > 0
}

// isByline reports whether s is a byline: a byline word followed by the
// (first) author's name, as in "By Jane Doe, political correspondent" or
// "Par Jeanne Dupont, publié le 11 juin".
func isByline(s, author string) bool {
	first, _, _ := strings.Cut(author, ",")
	first, _, _ = strings.Cut(first, " and ")
	if first = strings.TrimSpace(first); first == "" {
		return false
	}
	for _, pre := range bylinePrefixes {
		if len(s) > len(pre) && strings.EqualFold(s[:len(pre)], pre) {
			rest := strings.TrimSpace(s[len(pre):])
			return len(rest) >= len(first) && strings.EqualFold(rest[:len(first)], first)
		}
	}
	return false
}

// cleanByline collapses white space in an author byline and removes a leading
// "By" (readability keeps it when the byline comes from the article text).
func cleanByline(s string) string {
	s = collapseSpace(s)
	for _, pre := range bylinePrefixes {
		if len(s) > len(pre) && strings.EqualFold(s[:len(pre)], pre) {
			return strings.TrimSpace(s[len(pre):])
		}
	}
	return s
}

// squeezeSpace replaces each run of white space in s with one space, keeping
// a leading or trailing one: the text of a node that is joined to its
// neighbours'.
func squeezeSpace(s string) string {
	t := collapseSpace(s)
	if t == "" {
		if s == "" {
			return ""
		}
		return " "
	}
	if r, _ := utf8.DecodeRuneInString(s); unicode.IsSpace(r) {
		t = " " + t
	}
	if r, _ := utf8.DecodeLastRuneInString(s); unicode.IsSpace(r) {
		t += " "
	}
	return t
}
