package bot

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bwmarrin/discordgo"

	"parley/knowledge"
)

// Marks shown under answers.
const (
	markExtractive  = "Extractive answer — quoted from sources, no language model"
	markRefusal     = "Not answered — the curated sources don't cover this question"
	markInterrupted = "⚠️ Interrupted: Parley was restarting and could not finish this answer. Please ask again in a minute."
	markWriting     = "✍️ writing… (not yet checked against the sources)"
)

// Limits on the parts of a source line, so one line always fits a message
// whatever the store holds.
const (
	maxTitle  = 150
	maxOutlet = 60
	maxURL    = 400
)

// renderAnswer lays out a checked answer as Discord text: the answer with
// its [n] citations, the sources as compact lines (title, outlet, date and
// link in <...> so Discord shows no previews), then one small line with the
// "as of" date and the marks for extractive answers, refusals and
// unverified quotations. A refusal lists the closest sources instead. The
// text may be longer than a message; splitMessage cuts it.
func renderAnswer(a knowledge.Answer) string {
	var b strings.Builder
	b.WriteString(safeText(a.Text))
	if a.Refusal {
		if len(a.Closest) > 0 {
			b.WriteString("\n\n**The closest sources I have:**")
			for _, c := range a.Closest {
				b.WriteString("\n• " + sourceLine(c))
			}
		}
	} else if len(a.Citations) > 0 {
		b.WriteString("\n\n**Sources**")
		for _, c := range a.Citations {
			b.WriteString(fmt.Sprintf("\n[%d] %s", c.N, sourceLine(c)))
		}
	}
	var notes []string
	if !a.Refusal && !a.AsOf.IsZero() {
		notes = append(notes, "As of "+longDate(a.AsOf))
	}
	if a.Refusal {
		notes = append(notes, markRefusal)
	}
	if a.Extractive && !a.Refusal {
		notes = append(notes, markExtractive)
	}
	if n := len(a.Unverified); n > 0 {
		notes = append(notes, fmt.Sprintf("⚠️ %d quotation(s) could not be found word for word in the sources", n))
	}
	if len(notes) > 0 {
		b.WriteString("\n-# " + strings.Join(notes, " · "))
	}
	return b.String()
}

// renderPreview is the text of a streaming answer so far: raw model output,
// not yet checked, so it is marked as such and cut to fit one message.
func renderPreview(raw string) string {
	trailer := "\n-# " + markWriting
	return clip(safeText(raw), maxMessage-textLen(trailer)) + trailer
}

// sourceLine is one source: "Title — Outlet · 8 Mar 2025 · <link>". Store
// fields are escaped so a title cannot carry markdown links or formatting.
func sourceLine(c knowledge.Citation) string {
	parts := []string{escapeMarkdown(clip(oneLine(c.Title), maxTitle))}
	if c.Outlet != "" {
		parts[0] += " — " + escapeMarkdown(clip(oneLine(c.Outlet), maxOutlet))
	}
	if !c.PublishedAt.IsZero() {
		parts = append(parts, shortDate(c.PublishedAt))
	} else {
		parts = append(parts, "undated")
	}
	if link := safeLink(c.URL); link != "" {
		parts = append(parts, link)
	}
	return strings.Join(parts, " · ")
}

// safeLink wraps an http(s) URL from the store in <...>, which stops
// Discord's preview, or returns "" for anything else or an overlong URL.
func safeLink(u string) string {
	if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
		return ""
	}
	if len(u) > maxURL || strings.ContainsAny(u, "<> \t\r\n") {
		return ""
	}
	return "<" + u + ">"
}

var (
	// maskedLink is markdown's [text](url), which would let text disguise
	// where a link goes.
	maskedLink = regexp.MustCompile(`\[([^\[\]\n]{0,300})\]\(\s*<?(https?://[^)\s>]+)>?\s*\)`)
	// bareURL is a URL not already inside <...>.
	bareURL = regexp.MustCompile(`(^|[^<])(https?://[^\s<>]+[^\s<>.,;:!?)\]'"])`)
)

// safeText prepares answer text written by a model: masked links are shown
// as text plus their real address, and bare links are wrapped in <...> so
// they raise no previews. Mentions in it are harmless (allowed_mentions).
func safeText(s string) string {
	s = maskedLink.ReplaceAllString(s, "$1 (<$2>)")
	return bareURL.ReplaceAllString(s, "$1<$2>")
}

var markdownSpecial = strings.NewReplacer(
	`\`, `\\`, `*`, `\*`, `_`, `\_`, "`", "\\`", `~`, `\~`, `|`, `\|`,
	`[`, `\[`, `]`, `\]`, `(`, `\(`, `)`, `\)`, `<`, `\<`, `>`, `\>`, `#`, `\#`,
)

// escapeMarkdown makes store text (titles, outlets, questions) display as
// written instead of as markdown.
func escapeMarkdown(s string) string { return markdownSpecial.Replace(s) }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func shortDate(t time.Time) string { return t.Format("2 Jan 2006") }
func longDate(t time.Time) string  { return t.Format("2 January 2006") }

// Feedback buttons carry the answer id in their custom id.
const (
	feedbackPrefix = "fb:"
	feedbackUp     = "up"
	feedbackDown   = "down"
)

// feedbackButtons are the 👍/👎 buttons under an answer; none when the
// answer was not recorded.
func feedbackButtons(answerID int64) []discordgo.MessageComponent {
	if answerID <= 0 {
		return nil
	}
	id := strconv.FormatInt(answerID, 10)
	return []discordgo.MessageComponent{discordgo.ActionsRow{Components: []discordgo.MessageComponent{
		discordgo.Button{Style: discordgo.SecondaryButton, Emoji: &discordgo.ComponentEmoji{Name: "👍"},
			CustomID: feedbackPrefix + feedbackUp + ":" + id},
		discordgo.Button{Style: discordgo.SecondaryButton, Emoji: &discordgo.ComponentEmoji{Name: "👎"},
			CustomID: feedbackPrefix + feedbackDown + ":" + id},
	}}}
}

// parseFeedback reads a feedback button's custom id.
func parseFeedback(customID string) (int64, knowledge.Vote, bool) {
	rest, ok := strings.CutPrefix(customID, feedbackPrefix)
	if !ok {
		return 0, 0, false
	}
	dir, idStr, ok := strings.Cut(rest, ":")
	if !ok {
		return 0, 0, false
	}
	id, err := strconv.ParseInt(idStr, 10, 64)
	if err != nil || id <= 0 {
		return 0, 0, false
	}
	switch dir {
	case feedbackUp:
		return id, knowledge.VoteUp, true
	case feedbackDown:
		return id, knowledge.VoteDown, true
	}
	return 0, 0, false
}
