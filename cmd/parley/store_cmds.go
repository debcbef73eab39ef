package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"parley/knowledge"
)

func cmdImport(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("import", "[--db PATH] FILE.jsonl|-",
		"Import articles from JSON Lines, one article a line:\n"+
			`  {"url": ..., "title": ..., "text": ..., "published_at": "2025-03-05", "outlet": ..., "author": ..., "language": ...}`+"\n"+
			"url, title and text are required; published_at is RFC 3339 or YYYY-MM-DD.\n"+
			"A bad line is reported with its number and skipped; the same article twice is stored once.")
	db := dbFlag(fs)
	quiet := fs.Bool("quiet", false, "print only the summary, not each line's problem")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one FILE (or - for standard input), got %d arguments", len(pos))
	}
	var r io.Reader = a.stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	issues := 0
	sum, err := store.Import(ctx, r, knowledge.ImportOptions{
		AddedBy: a.actor(),
		Report: func(li knowledge.LineIssue) {
			issues++
			if !*quiet {
				fmt.Fprintf(a.stderr, "%s: %s\n", pos[0], li)
			}
		},
	})
	fmt.Fprintf(a.stdout, "imported %d new articles (%d passages); %d already stored; %d restored; %d lines skipped; %d lines read\n",
		sum.Added, sum.Passages, sum.Duplicates, sum.Restored, sum.Skipped, sum.Lines)
	if sum.Added+sum.Restored > 0 {
		a.embedNew(ctx, store)
	}
	if sum.RolledBack > 0 {
		fmt.Fprintf(a.stdout, "%d lines were rolled back when the store failed; run the import again to finish it\n", sum.RolledBack)
	}
	return err
}

func cmdSource(ctx context.Context, a *app, args []string) error {
	const about = "Manage the curated articles Parley answers from.\n\n" +
		"  source add URL                         fetch a public web article and store it\n" +
		"  source add --file PATH --title TITLE [--url U --date YYYY-MM-DD --outlet O --author A]\n" +
		"                                         store a text, Markdown or HTML file\n" +
		"  source list [--all] [--page N]         list articles, newest added first\n" +
		"  source show ID                         show an article and its text\n" +
		"  source remove ID                       take an article out of search (recorded)\n" +
		"  source log                             recent changes: who added or removed what"
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(a.stdout, "Usage: parley source SUBCOMMAND [flags]\n\n%s\n", about)
		if len(args) == 0 {
			return usageErr("missing subcommand")
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	switch sub {
	case "add":
		return sourceAdd(ctx, a, rest)
	case "list", "ls":
		return sourceList(ctx, a, rest)
	case "show":
		return sourceShow(ctx, a, rest)
	case "remove", "rm":
		return sourceRemove(ctx, a, rest)
	case "log":
		return sourceLog(ctx, a, rest)
	}
	return usageErr("unknown subcommand %q (want add, list, show, remove or log)", sub)
}

func sourceAdd(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("source add", "URL | --file PATH --title TITLE [flags]",
		"Add a web article by URL (fetched from public hosts only), or a local text,\n"+
			"Markdown or HTML file with --file.")
	db := dbFlag(fs)
	file := fs.String("file", "", "read the article from this file (.txt, .md or .html); - for standard input")
	title := fs.String("title", "", "the article's title (required with --file unless the file has one)")
	link := fs.String("url", "", "the article's original URL, if any")
	date := fs.String("date", "", "publication date, YYYY-MM-DD or RFC 3339")
	outlet := fs.String("outlet", "", "the outlet that published it")
	author := fs.String("author", "", "the author")
	lang := fs.String("language", "", "language code, e.g. en")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	var res knowledge.AddResult
	switch {
	case *file == "" && len(pos) == 1:
		store, err := a.openStore(ctx, *db)
		if err != nil {
			return err
		}
		defer store.Close()
		if res, err = store.AddURL(ctx, a.fetcher, pos[0], a.actor()); err != nil {
			return err
		}
		a.embedNew(ctx, store)
	case *file != "" && len(pos) == 0:
		in, err := a.articleFromFile(*file)
		if err != nil {
			return err
		}
		if *title != "" {
			in.Title = *title
		}
		if in.Title == "" {
			return usageErr("--title is required: the file does not name its own title")
		}
		if in.PublishedAt, err = knowledge.ParseDate(*date); err != nil {
			return usageErr("--date: %v", err)
		}
		in.URL, in.Outlet, in.Author, in.Language = *link, *outlet, *author, *lang
		store, err := a.openStore(ctx, *db)
		if err != nil {
			return err
		}
		defer store.Close()
		if res, err = store.Add(ctx, in); err != nil {
			return err
		}
		a.embedNew(ctx, store)
	default:
		return usageErr("give either one URL or --file PATH")
	}
	art := res.Article
	switch {
	case res.Created:
		fmt.Fprintf(a.stdout, "added #%d %q (%s, %s), %d passages\n", art.ID, art.Title, orDash(art.Outlet), formatDate(art.PublishedAt), art.Passages)
	case res.Reactivated:
		fmt.Fprintf(a.stdout, "restored #%d %q, which had been removed\n", art.ID, art.Title)
	default:
		fmt.Fprintf(a.stdout, "already stored as #%d %q; nothing changed\n", art.ID, art.Title)
	}
	return nil
}

func (a *app) articleFromFile(path string) (knowledge.NewArticle, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(a.stdin, 4<<20))
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return knowledge.NewArticle{}, err
	}
	text, title, err := knowledge.ArticleText(filepath.Base(path), data)
	if err != nil {
		return knowledge.NewArticle{}, err
	}
	return knowledge.NewArticle{Text: text, Title: title, Origin: knowledge.OriginText, AddedBy: a.actor()}, nil
}

func sourceList(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("source list", "[--all] [--page N]", "List stored articles, newest added first.")
	db := dbFlag(fs)
	all := fs.Bool("all", false, "include removed articles")
	page := fs.Int("page", 1, "page number")
	per := fs.Int("per-page", 20, "articles per page")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *page < 1 || *per < 1 {
		return usageErr("--page and --per-page must be at least 1")
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	arts, total, err := store.List(ctx, knowledge.ListOptions{IncludeRemoved: *all, Limit: *per, Offset: (*page - 1) * *per})
	if err != nil {
		return err
	}
	if total == 0 {
		fmt.Fprintln(a.stdout, "The store is empty. Add articles with 'parley source add' or 'parley import'.")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tPUBLISHED\tOUTLET\tTITLE\tSTATUS")
	for _, art := range arts {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", art.ID, formatDate(art.PublishedAt), clip(orDash(art.Outlet), 24), clip(art.Title, 70), art.Status)
	}
	tw.Flush()
	pages := (total + *per - 1) / *per
	fmt.Fprintf(a.stdout, "page %d of %d (%d articles)\n", *page, pages, total)
	return nil
}

func parseID(pos []string) (int64, error) {
	if len(pos) != 1 {
		return 0, usageErr("want one article ID")
	}
	id, err := strconv.ParseInt(strings.TrimPrefix(pos[0], "#"), 10, 64)
	if err != nil || id <= 0 {
		return 0, usageErr("%q is not an article ID (a positive number, as shown by 'source list')", pos[0])
	}
	return id, nil
}

// articleCommand runs a `source` subcommand that takes one article ID:
// it parses the flags and the ID, opens the store, and runs do, turning an
// unknown ID into "no article #N".
func (a *app) articleCommand(ctx context.Context, name, about string, args []string, do func(*knowledge.Store, int64) error) error {
	fs := a.newFlags(name, "ID", about)
	db := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	id, err := parseID(pos)
	if err != nil {
		return err
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	err = do(store, id)
	if errors.Is(err, knowledge.ErrNotFound) {
		return fmt.Errorf("no article #%d", id)
	}
	return err
}

func sourceShow(ctx context.Context, a *app, args []string) error {
	return a.articleCommand(ctx, "source show", "Show one article: its details and its text.", args, func(store *knowledge.Store, id int64) error {
		art, err := store.Get(ctx, id)
		if err != nil {
			return err
		}
		w := a.stdout
		fmt.Fprintf(w, "#%d %s\n", art.ID, art.Title)
		fmt.Fprintf(w, "  outlet:     %s\n  author:     %s\n  published:  %s\n  url:        %s\n  language:   %s\n",
			orDash(art.Outlet), orDash(art.Author), formatDate(art.PublishedAt), orDash(art.URL), orDash(art.Language))
		fmt.Fprintf(w, "  added:      %s by %s (%s)\n  status:     %s", art.AddedAt.Format("2006-01-02 15:04 MST"), art.AddedBy, art.Origin, art.Status)
		if art.Status == knowledge.StatusRemoved {
			fmt.Fprintf(w, " (by %s, %s)", art.RemovedBy, art.RemovedAt.Format("2006-01-02 15:04 MST"))
		}
		fmt.Fprintf(w, "\n  passages:   %d\n\n%s\n", art.Passages, art.Text)
		return nil
	})
}

func sourceRemove(ctx context.Context, a *app, args []string) error {
	return a.articleCommand(ctx, "source remove", "Take an article out of search. The removal is recorded; adding\nthe same article again restores it.", args,
		func(store *knowledge.Store, id int64) error {
			art, err := store.Remove(ctx, id, a.actor())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "removed #%d %q\n", art.ID, art.Title)
			return nil
		})
}

// listCommand runs a command that lists the store's most recent entries:
// it declares --db and --limit (default 20; limitUsage is its help),
// parses args, opens the store and calls do with it and the limit.
func (a *app) listCommand(ctx context.Context, name, about, limitUsage string, args []string, do func(*knowledge.Store, int) error) error {
	fs := a.newFlags(name, "[--limit N]", about)
	db := dbFlag(fs)
	limit := fs.Int("limit", 20, limitUsage)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	return do(store, *limit)
}

func sourceLog(ctx context.Context, a *app, args []string) error {
	return a.listCommand(ctx, "source log", "Recent changes to the store, newest first.", "how many changes", args, func(store *knowledge.Store, limit int) error {
		changes, err := store.Changes(ctx, limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "WHEN\tWHO\tACTION\tARTICLE")
		for _, c := range changes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t#%d %s\n", c.At.Format("2006-01-02 15:04"), c.Actor, c.Action, c.ArticleID, clip(c.Title, 60))
		}
		return tw.Flush()
	})
}

func cmdBackup(ctx context.Context, a *app, args []string) error {
	fs := a.newFlags("backup", "PATH", "Write a consistent copy of the store to PATH (which must not exist),\n"+
		"safely while the bot or an import is running. Restore by stopping Parley\nand using the copy as the store file.")
	db := dbFlag(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("want one PATH")
	}
	store, err := a.openStore(ctx, *db)
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.Backup(ctx, pos[0]); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "backed up %s to %s\n", store.Path(), pos[0])
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
