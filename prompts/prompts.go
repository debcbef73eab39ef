// Package prompts renders the messages Parley sends to the language model
// from plain input types. Templates are embedded, parsed once, and may be
// replaced file by file from an override directory.
//
// Everything that comes from users or articles is treated as data: it is
// neutralised in Go before any template sees it, so an override template
// cannot forget to do so and an article cannot close its own block.
package prompts

import (
	"bytes"
	"embed"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"
	"unicode"
)

// NoAnswerMarker is the line the model is told to reply with, and nothing
// else, when the sources do not answer the question.
const NoAnswerMarker = "NO_ANSWER"

// Message roles, as the chat completion API names them.
const (
	RoleSystem    = "system"
	RoleUser      = "user"
	RoleAssistant = "assistant"
)

// dateLayout is the only date format accepted in inputs.
const dateLayout = "2006-01-02"

// Template file names. Override files must use the same names.
const (
	answerSystemFile = "answer_system.tmpl"
	answerUserFile   = "answer_user.tmpl"
)

//go:embed templates/*.tmpl
var embedded embed.FS

// Source is one numbered source shown to the model.
type Source struct {
	N      int    // the citation number, [N]; positive and unique within one input
	Title  string // headline
	Outlet string // publisher, e.g. "Reuters"
	Date   string // publication date "2006-01-02", or "" if unknown
	URL    string // kept for override templates; the default prompt leaves it out
	Text   string // the passage or article text
}

// Turn is an earlier question and answer in the same thread.
type Turn struct {
	Question, Answer string
}

// AnswerInput is everything needed to render an answer prompt.
type AnswerInput struct {
	Question string
	Today    string // the asking date, "2006-01-02"
	Sources  []Source
	History  []Turn // oldest first
}

// Message is one chat message.
type Message struct {
	Role    string // RoleSystem, RoleUser or RoleAssistant
	Content string
}

// Set is a parsed set of templates. It is immutable and safe for concurrent use.
type Set struct {
	tmpl   map[string]*template.Template
	origin map[string]string // template name -> where it came from, for errors
}

// answerView is what the answer templates see. All strings in it are
// neutralised; the templates print them as they are.
type answerView struct {
	NoAnswer string
	Question string
	Today    string
	Sources  []Source
	History  []Turn
}

// Load parses the embedded templates, replacing each with the file of the
// same name in dir, if any. dir == "" means embedded only. A *.tmpl file in
// dir that matches no embedded template is an error, since it is most likely
// a misspelling that would otherwise be silently ignored. Every template is
// also rendered once with sample input, so that errors surface here rather
// than on the first question. Errors name the offending file.
func Load(dir string) (*Set, error) {
	texts := map[string]string{}
	origin := map[string]string{}
	names, err := fs.Glob(embedded, "templates/*.tmpl")
	if err != nil {
		return nil, fmt.Errorf("prompts: list embedded templates: %w", err)
	}
	for _, p := range names {
		b, err := embedded.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("prompts: read embedded %s: %w", p, err)
		}
		name := path.Base(p)
		texts[name] = string(b)
		origin[name] = "embedded " + p
	}

	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("prompts: read override directory: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".tmpl") {
				continue
			}
			file := filepath.Join(dir, name)
			if _, ok := texts[name]; !ok {
				known := slices.Sorted(maps.Keys(texts))
				return nil, fmt.Errorf("prompts: %s: no template has this name (want one of %s)", file, strings.Join(known, ", "))
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("prompts: read %s: %w", file, err)
			}
			texts[name] = string(b)
			origin[name] = file
		}
	}

	s := &Set{tmpl: map[string]*template.Template{}, origin: origin}
	for name, text := range texts {
		t, err := template.New(name).Option("missingkey=error").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("prompts: parse %s: %w", origin[name], err)
		}
		s.tmpl[name] = t
	}
	for _, in := range sampleInputs {
		if _, err := s.Answer(in); err != nil {
			return nil, fmt.Errorf("prompts: check templates: %w", err)
		}
	}
	return s, nil
}

var defaultSet = sync.OnceValue(func() *Set {
	s, err := Load("")
	if err != nil {
		panic(err)
	}
	return s
})

// Default returns the embedded set, parsed on first use. It panics only if
// the embedded templates are broken, which the package tests rule out.
func Default() *Set { return defaultSet() }

// Answer renders the messages for answering in.Question from in.Sources: a
// system message with the rules and a user message with the sources, earlier
// turns, the asking date and the question. It returns an error if the
// question is empty, a date is not "2006-01-02", or source numbers are not
// positive and unique.
func (s *Set) Answer(in AnswerInput) ([]Message, error) {
	if strings.TrimSpace(in.Question) == "" {
		return nil, fmt.Errorf("prompts: answer: empty question")
	}
	if _, err := time.Parse(dateLayout, in.Today); err != nil {
		return nil, fmt.Errorf("prompts: answer: today %q is not a date like 2006-01-02", in.Today)
	}
	v := answerView{
		NoAnswer: NoAnswerMarker,
		Question: neutralText(in.Question),
		Today:    in.Today,
	}
	seen := map[int]bool{}
	for _, src := range in.Sources {
		if src.N <= 0 || seen[src.N] {
			return nil, fmt.Errorf("prompts: answer: source number %d is not positive and unique", src.N)
		}
		seen[src.N] = true
		if src.Date != "" {
			if _, err := time.Parse(dateLayout, src.Date); err != nil {
				return nil, fmt.Errorf("prompts: answer: source %d date %q is not a date like 2006-01-02", src.N, src.Date)
			}
		}
		v.Sources = append(v.Sources, Source{
			N:      src.N,
			Title:  neutralAttr(src.Title),
			Outlet: neutralAttr(src.Outlet),
			Date:   src.Date,
			URL:    neutralAttr(src.URL),
			Text:   neutralText(src.Text),
		})
	}
	for _, t := range in.History {
		v.History = append(v.History, Turn{
			Question: neutralText(t.Question),
			// Earlier answers cite an earlier set of sources; their numbers
			// would point at the wrong sources now.
			Answer: neutralText(citation.ReplaceAllString(t.Answer, "")),
		})
	}

	system, err := s.render(answerSystemFile, v)
	if err != nil {
		return nil, err
	}
	user, err := s.render(answerUserFile, v)
	if err != nil {
		return nil, err
	}
	return []Message{
		{Role: RoleSystem, Content: system},
		{Role: RoleUser, Content: user},
	}, nil
}

func (s *Set) render(name string, data any) (string, error) {
	t, ok := s.tmpl[name]
	if !ok {
		return "", fmt.Errorf("prompts: no template %s", name)
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("prompts: render %s: %w", s.origin[name], err)
	}
	out := strings.TrimSpace(b.String())
	if out == "" {
		return "", fmt.Errorf("prompts: render %s: empty message", s.origin[name])
	}
	return out + "\n", nil
}

var (
	// tagLike matches a '<' that starts something a reader could take for
	// a tag or a closing tag, such as "<source", "</ source" or "<question".
	tagLike = regexp.MustCompile(`<(\s*/?\s*[\p{L}!?])`)
	// citation matches a citation marker such as [3] and the space before it.
	citation = regexp.MustCompile(`\s*\[\d+\]`)
)

// neutralText makes untrusted text safe to place inside a delimited block:
// no tag can be opened or closed from inside it, and control characters
// other than newlines and tabs are dropped. A '<' that starts a tag becomes
// '‹', which reads the same to a person but is no delimiter.
func neutralText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if r == '\r' {
			return '\n'
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	s = tagLike.ReplaceAllString(s, "‹$1")
	return strings.TrimSpace(s)
}

// neutralAttr makes untrusted text safe inside a double-quoted attribute:
// one line, no double quotes, no tags, nothing that ends the tag.
func neutralAttr(s string) string {
	s = strings.Join(strings.Fields(neutralText(s)), " ")
	return attrReplacer.Replace(s)
}

var attrReplacer = strings.NewReplacer(`"`, "'", "<", "‹", ">", "›")

// sampleInputs exercise every branch of the templates when checking them.
var sampleInputs = []AnswerInput{
	{
		Question: "What was agreed?",
		Today:    "2025-01-02",
		Sources: []Source{
			{N: 1, Title: "Title", Outlet: "Outlet", Date: "2025-01-01", URL: "https://example.com/a", Text: "Text."},
			{N: 2, Title: "Undated", Outlet: "Outlet", Text: "Text."},
		},
		History: []Turn{{Question: "Earlier?", Answer: "Earlier answer [1]."}},
	},
	{Question: "What was agreed?", Today: "2025-01-02"},
}
