package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/bwmarrin/discordgo"

	"parley/bot/discordtest"
	"parley/knowledge"
)

const modRole = "700000000000000001"

func TestSourceCommandsByRole(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		user    string
		who     discordtest.InteractionOption
		allowed bool
		refusal string
	}{
		{"manage messages", "301", byUser("301", discordgo.PermissionManageMessages), true, ""},
		{"administrator", "302", byUser("302", discordgo.PermissionAdministrator), true, ""},
		{"moderator role", "303", byUser("303", 0, modRole), true, ""},
		{"ordinary member", "304", byUser("304", discordgo.PermissionSendMessages, "700000000000000002"), false, "Only moderators"},
		{"direct message", "305", discordtest.InDM("305"), false, "not in direct messages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tb := startBot(t, withConfig(func(c *Config) { c.ModRoleIDs = []string{modRole} }))
			id := addArticle(t, tb.store, "Hostage deal talks", "https://example.com/deal",
				"Negotiators discussed the hostage deal in Doha.\n\nA second round is planned.")
			steps := []struct {
				name string
				in   *discordgo.Interaction
				want string
			}{
				{"list", discordtest.SlashCommand(cmdSource, source(subList), tc.who), "**Articles** — page 1 of 1"},
				{"show", discordtest.SlashCommand(cmdSource, source(subShow, discordtest.Int(optID, id)), tc.who), "**#1 Hostage deal talks**"},
				{"add", discordtest.SlashCommand(cmdSource, source(subAdd, discordtest.String(optURL, "https://example.org/cairo")), tc.who),
					"Added #2 “Mediators meet in Cairo” (Example News, 2025-03-09)"},
				{"log", discordtest.SlashCommand(cmdSource, source(subLog), tc.who), "add `#2` Mediators meet in Cairo · by discord:" + tc.user},
				{"remove", discordtest.SlashCommand(cmdSource, source(subRemove, discordtest.Int(optID, id)), tc.who), "Removed #1 “Hostage deal talks”"},
				{"gaps", discordtest.SlashCommand(cmdGaps, tc.who), "No gaps recorded"},
			}
			for _, s := range steps {
				token := tb.fake.SendInteraction(s.in)
				if tc.allowed {
					if m := tb.deferredReply(token, true); !strings.Contains(m.Content, s.want) {
						t.Errorf("%s: reply %q, want %q", s.name, m.Content, s.want)
					}
					continue
				}
				if msg := tb.privateReply(token); !strings.Contains(msg, tc.refusal) {
					t.Errorf("%s: reply %q, want a refusal with %q", s.name, msg, tc.refusal)
				}
			}
			token := tb.fake.SendInteraction(discordtest.SlashCommand(cmdSource, source(subAddText), tc.who))
			if tc.allowed {
				if cb := tb.ack(token); cb.Type != discordgo.InteractionResponseModal || cb.CustomID != modalAddText {
					t.Errorf("add-text: callback type %d custom id %q, want the modal", cb.Type, cb.CustomID)
				}
			} else if msg := tb.privateReply(token); !strings.Contains(msg, tc.refusal) {
				t.Errorf("add-text: reply %q, want a refusal", msg)
			}

			ctx := context.Background()
			changes, err := tb.store.Changes(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			a, err := tb.store.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if !tc.allowed {
				if len(changes) != 1 || a.Status != knowledge.StatusActive {
					t.Errorf("a refused user changed the store: %+v, article %s", changes, a.Status)
				}
				return
			}
			if a.Status != knowledge.StatusRemoved || a.RemovedBy != "discord:"+tc.user {
				t.Errorf("article 1 is %s by %q, want removed by discord:%s", a.Status, a.RemovedBy, tc.user)
			}
			added, err := tb.store.Get(ctx, 2)
			if err != nil || added.AddedBy != "discord:"+tc.user || added.Origin != knowledge.OriginURL {
				t.Errorf("article 2 = %+v, %v; want added by discord:%s from its URL", added, err, tc.user)
			}
			if len(changes) != 3 || changes[0].Action != "remove" || changes[1].Action != "add" {
				t.Errorf("changes = %+v, want remove, add, add", changes)
			}
		})
	}
}

func TestSourceAddTextModal(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	mod := byUser("401", discordgo.PermissionManageMessages)
	cb := tb.ack(tb.fake.SendInteraction(discordtest.SlashCommand(cmdSource, source(subAddText), mod)))
	if cb.Type != discordgo.InteractionResponseModal || cb.Title == "" || len(cb.Components) != 5 {
		t.Fatalf("callback type %d title %q with %d rows, want a 5-field modal", cb.Type, cb.Title, len(cb.Components))
	}
	values := map[string]string{
		fieldTitle: "Ceasefire phase two", fieldURL: "https://example.com/phase-two?utm_source=x", fieldDate: "2025-03-10",
		fieldOutlet: "Wire", fieldText: "Negotiators agreed the terms of phase two.\n\nThe exchange starts on Sunday.",
	}
	m := tb.deferredReply(tb.fake.SendInteraction(discordtest.ModalSubmit(modalAddText, values, mod)), true)
	if want := "Added #1 “Ceasefire phase two” (Wire, 2025-03-10)"; !strings.Contains(m.Content, want) {
		t.Errorf("reply %q, want %q", m.Content, want)
	}
	a, err := tb.store.Get(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if a.AddedBy != "discord:401" || a.Origin != knowledge.OriginText || a.URL != "https://example.com/phase-two" ||
		a.PublishedAt != day(2025, 3, 10) || a.Outlet != "Wire" {
		t.Errorf("stored %+v", a)
	}

	bad := map[string]string{fieldTitle: "Undated", fieldDate: "next Tuesday", fieldText: "Some text."}
	if m := tb.deferredReply(tb.fake.SendInteraction(discordtest.ModalSubmit(modalAddText, bad, mod)), true); !strings.HasPrefix(m.Content, "Not stored: ") {
		t.Errorf("bad date: reply %q, want a not-stored note", m.Content)
	}
	if msg := tb.privateReply(tb.fake.SendInteraction(discordtest.ModalSubmit(modalAddText, values, byUser("402", 0)))); !strings.Contains(msg, "Only moderators") {
		t.Errorf("ordinary member's form: reply %q, want a refusal", msg)
	}
	m = tb.deferredReply(tb.fake.SendInteraction(discordtest.SlashCommand(cmdSource, source(subLog), mod)), true)
	if want := "add `#1` Ceasefire phase two · by discord:401"; !strings.Contains(m.Content, want) {
		t.Errorf("log %q, want %q", m.Content, want)
	}
}

func TestSourceErrors(t *testing.T) {
	t.Parallel()
	tb := startBot(t)
	mod := byUser("451", discordgo.PermissionManageMessages)
	for _, tc := range []struct {
		name string
		in   *discordgo.Interaction
		want string
	}{
		{"loopback URL", discordtest.SlashCommand(cmdSource, source(subAdd, discordtest.String(optURL, "http://127.0.0.1/admin")), mod), "Refused: that address is on a private"},
		{"not a URL", discordtest.SlashCommand(cmdSource, source(subAdd, discordtest.String(optURL, "ftp://example.com/x")), mod), "Refused: only public http and https"},
		{"unknown id", discordtest.SlashCommand(cmdSource, source(subShow, discordtest.Int(optID, 999)), mod), "There is nothing with that number."},
		{"remove unknown", discordtest.SlashCommand(cmdSource, source(subRemove, discordtest.Int(optID, 999)), mod), "There is nothing with that number."},
		{"empty list", discordtest.SlashCommand(cmdSource, source(subList), mod), "No articles yet."},
		{"empty log", discordtest.SlashCommand(cmdSource, source(subLog), mod), "No changes recorded yet."},
	} {
		if m := tb.deferredReply(tb.fake.SendInteraction(tc.in), true); !strings.Contains(m.Content, tc.want) {
			t.Errorf("%s: reply %q, want %q", tc.name, m.Content, tc.want)
		}
	}
	for k := range 12 {
		addArticle(t, tb.store, "Article "+string(rune('A'+k)), "", "Body text number "+string(rune('A'+k))+" about the talks.")
	}
	m := tb.deferredReply(tb.fake.SendInteraction(discordtest.SlashCommand(cmdSource, source(subList, discordtest.Int(optPage, 2)), mod)), true)
	if !strings.Contains(m.Content, "page 2 of 2 (12 in all") || !strings.Contains(m.Content, "`#2` Article B") || strings.Contains(m.Content, "`#3`") {
		t.Errorf("page 2 = %q", m.Content)
	}
	m = tb.deferredReply(tb.fake.SendInteraction(discordtest.SlashCommand(cmdSource, source(subList, discordtest.Int(optPage, 5)), mod)), true)
	if !strings.Contains(m.Content, "There is no page 5") {
		t.Errorf("page 5 = %q", m.Content)
	}
}

func TestFeedbackAndGaps(t *testing.T) {
	t.Parallel()
	tb := startBot(t, func(s *setup) {
		s.deps.Answerer = knowledge.NewAnswerer(s.deps.Sources.(*knowledge.Store), knowledge.AnswererOptions{})
	})
	addArticle(t, tb.store, "Qatar and Egypt mediate in Doha", "https://example.com/doha",
		"Qatar and Egypt mediate the hostage talks in Doha. Negotiators met on Saturday to discuss a ceasefire and a hostage release.")
	orig, _ := tb.answered(tb.fake.SendInteraction(ask("Who mediates the hostage talks in Doha?", byUser("501", 0))))
	if !strings.Contains(orig.Content, markExtractive) || !strings.Contains(orig.Content, "<https://example.com/doha>") {
		t.Errorf("answer %q, want an extractive answer citing the article", orig.Content)
	}
	ids := buttonIDs(orig.Components)
	if len(ids) != 2 || !strings.HasPrefix(ids[1], "fb:down:") {
		t.Fatalf("buttons %v", ids)
	}
	onAnswer := discordtest.OnMessage(&discordgo.Message{ID: orig.ID, ChannelID: orig.ChannelID})
	m := tb.deferredReply(tb.fake.SendInteraction(discordtest.ButtonClick(ids[1], byUser("502", 0), onAnswer)), true)
	if m.Content != "Thanks for the feedback!" {
		t.Errorf("feedback reply %q", m.Content)
	}
	m = tb.deferredReply(tb.fake.SendInteraction(discordtest.ButtonClick("fb:up:99999", byUser("502", 0))), true)
	if m.Content != msgUnknownAnswer {
		t.Errorf("feedback on an unknown answer: reply %q", m.Content)
	}

	refused := tb.deferredReply(tb.fake.SendInteraction(ask("What is the price of bananas in Oslo?", byUser("503", 0))), false)
	if !strings.Contains(refused.Content, markRefusal) {
		t.Errorf("answer %q, want a refusal", refused.Content)
	}
	gaps := tb.deferredReply(tb.fake.SendInteraction(discordtest.SlashCommand(cmdGaps, byUser("504", discordgo.PermissionManageMessages))), true)
	for _, want := range []string{"refused · discord:503: What is the price of bananas in Oslo?",
		"rated down (1 👎, 0 👍) · discord:501: Who mediates the hostage talks in Doha?"} {
		if !strings.Contains(gaps.Content, want) {
			t.Errorf("gaps %q lack %q", gaps.Content, want)
		}
	}
}
