package bot

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"parley/bot/discordtest"
	"parley/knowledge"
	"parley/knowledge/webpage"
)

// TestHostileInputsFromDiscord sends RELIABILITY.md's hostile questions
// through /ask to the real extractive answerer, and its SSRF targets
// through /source add to the real fetcher (which refuses them without any
// network): each gets a clean answer, a refusal or a polite note, nothing
// crashes, and nothing pings anyone.
func TestHostileInputsFromDiscord(t *testing.T) {
	t.Parallel()
	tb := startBot(t, func(s *setup) {
		store := s.deps.Sources.(*knowledge.Store)
		s.deps.Answerer = knowledge.NewAnswerer(store, knowledge.AnswererOptions{})
		s.deps.Fetcher = webpage.NewFetcher(webpage.Options{})
	})
	addArticle(t, tb.store, "Envoy meets Hamas in Doha", "https://example.com/doha",
		"A US envoy met Hamas officials in Doha to discuss the hostages.\n\nIsrael was consulted.")

	questions := []string{
		`"`, `foo:bar`, `OPS-306`, `NEAR(a b)`, `a AND`, `*`, `()`, `^x`, " ", "\t",
		strings.Repeat("ceasefire hostages Doha ", 38), // under the length limit
		strings.Repeat("x", 10_000),                    // over it
		"🕊️🤝", "ما هي آخر أخبار المفاوضات في الدوحة؟", "מה קורה במשא ומתן?",
		`'; DROP TABLE articles; --`, "@everyone who met Hamas in Doha? <@&123> <@456>",
	}
	for n, q := range questions {
		token := tb.fake.SendInteraction(ask(q, byUser(fmt.Sprint(900+n), 0)))
		cb := tb.ack(token)
		switch cb.Type {
		case discordgo.InteractionResponseChannelMessageWithSource: // a private note: empty or too long
			if cb.Flags&discordgo.MessageFlagsEphemeral == 0 || cb.Content == "" {
				t.Errorf("question %.30q: note %q is not private", q, cb.Content)
			}
		case discordgo.InteractionResponseDeferredChannelMessageWithSource:
			m, _ := tb.answered(token)
			if m.Content == "" || strings.Contains(strings.ToLower(m.Content), "panic") {
				t.Errorf("question %.30q: answer %q", q, m.Content)
			}
		default:
			t.Errorf("question %.30q: callback type %d", q, cb.Type)
		}
	}

	mod := byUser("950", discordgo.PermissionManageMessages)
	for _, u := range []string{
		"http://127.0.0.1/admin", "http://localhost:8080/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
		"http://0.0.0.0/", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://172.16.0.1/",
		"http://192.168.1.1/", "http://100.64.0.1/", "http://[fc00::1]/", "http://2130706433/", "http://0x7f000001/",
		"file:///etc/passwd", "gopher://example.com/", "http://user:pass@example.com/",
	} {
		token := tb.fake.SendInteraction(discordtest.SlashCommand(cmdSource, source(subAdd, discordtest.String(optURL, u)), mod))
		m := tb.deferredReply(token, true)
		if !strings.HasPrefix(m.Content, "Refused") {
			t.Errorf("source add %s: reply %q, want a refusal", u, m.Content)
		}
	}
	if st, _ := tb.store.Stats(t.Context()); st.Articles != 1 {
		t.Errorf("articles = %d after hostile adds, want 1", st.Articles)
	}
}
