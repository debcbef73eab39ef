package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"parley/knowledge"
	"parley/knowledge/webpage"
)

// app carries what every subcommand needs: the environment and the standard
// streams. Nothing here is package-level state, so tests run many apps side
// by side.
type app struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	now    func() time.Time
	// fetcher fetches moderator-supplied URLs; tests swap in one that may
	// reach loopback.
	fetcher knowledge.PageFetcher
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"ask", "answer a question from the store, with cited sources", cmdAsk},
		{"gaps", "list questions that were refused or rated down", cmdGaps},
		{"import", "import articles from a JSON Lines file", cmdImport},
		{"source", "add, list, show or remove curated articles", cmdSource},
		{"search", "search the store for passages that answer a question", cmdSearch},
		{"eval", "measure search (RealTime QA) and answers (RGB) on third-party data", cmdEval},
		{"embed", "embed passages for search, when an embedding model is configured", cmdEmbed},
		{"backup", "write a consistent copy of the store to a file", cmdBackup},
		{"bot", "run the Discord bot", cmdBot},
	}
}

// errUsage marks errors that are the caller's mistake: they are printed
// with a pointer to --help and exit with status 2.
var errUsage = errors.New("usage")

// run is the whole program: it returns the process exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{
		getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now,
		fetcher: webpage.NewFetcher(webpage.Options{}),
	}
	return a.main(ctx, args)
}

func (a *app) main(ctx context.Context, args []string) int {
	if !fts5Built {
		fmt.Fprintf(a.stderr, "parley: this binary cannot search: %v\n", knowledge.ErrNoFTS5)
		return 1
	}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			args = []string{args[1], "--help"}
		} else {
			a.usage(a.stdout)
			return 0
		}
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, a, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(a.stderr, "parley %s: %s\nRun 'parley %s --help' for usage.\n", c.name, userMessage(err), c.name)
			return 2
		default:
			fmt.Fprintf(a.stderr, "parley %s: %s\n", c.name, userMessage(err))
			return 1
		}
	}
	fmt.Fprintf(a.stderr, "parley: unknown command %q\n\n", args[0])
	a.usage(a.stderr)
	return 2
}

func (a *app) usage(w io.Writer) {
	fmt.Fprintln(w, "Parley answers questions about the ceasefire and hostage talks from curated news articles.")
	fmt.Fprintln(w, "\nUsage: parley COMMAND [flags] [arguments]\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'parley COMMAND --help' for a command's flags.")
	fmt.Fprintln(w, "The store is PARLEY_DB, or --db, or "+defaultDBHint+".")
}

// userMessage turns an error into the words a CLI user sees: domain
// sentinels become plain sentences; anything else is shown as wrapped.
func userMessage(err error) string {
	switch {
	case errors.Is(err, errUsage):
		return strings.TrimPrefix(err.Error(), errUsage.Error()+": ")
	case errors.Is(err, knowledge.ErrInvalid):
		return strings.Replace(err.Error(), knowledge.ErrInvalid.Error()+": ", "", 1)
	case errors.Is(err, knowledge.ErrNoFTS5):
		return knowledge.ErrNoFTS5.Error()
	case errors.Is(err, webpage.ErrForbiddenHost):
		return "refused: that address is on a private, loopback or link-local network, which Parley never fetches (" + err.Error() + ")"
	case errors.Is(err, webpage.ErrBadURL):
		return "refused: only public http and https URLs on the standard ports can be added (" + err.Error() + ")"
	}
	return err.Error()
}

func usageErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// flags is a subcommand's flag set with its help text.
type flags struct {
	*flag.FlagSet
	help func()
}

// newFlags makes a flag set for a subcommand whose --help prints to stdout.
func (a *app) newFlags(name, argsUsage, about string) *flags {
	fs := flag.NewFlagSet("parley "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse errors are reported by the caller, once
	return &flags{FlagSet: fs, help: func() {
		fmt.Fprintf(a.stdout, "Usage: parley %s %s\n\n%s\n", name, argsUsage, about)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(a.stdout, "\nFlags:")
			fs.SetOutput(a.stdout)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
		}
	}}
}

// parse parses flags, turning flag errors into usage errors. Flags may
// follow positional arguments ("search war --limit 5"); "--" ends them.
func parse(fs *flags, args []string) ([]string, error) {
	for _, arg := range args {
		if arg == "--" {
			break
		}
		if arg == "-h" || arg == "-help" || arg == "--help" {
			fs.help()
			return nil, flag.ErrHelp
		}
	}
	var rest []string
	for i, arg := range args {
		if arg == "--" {
			args, rest = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr("%v", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return append(pos, rest...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

const defaultDBHint = "$XDG_DATA_HOME/parley/parley.db (else ~/.local/share/parley/parley.db)"

// dbFlag registers --db on fs.
func dbFlag(fs *flags) *string {
	return fs.String("db", "", "path of the store (default $PARLEY_DB, else "+defaultDBHint+")")
}

// dbPath resolves the store path from the flag, PARLEY_DB, then the user's
// data directory.
func (a *app) dbPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if p := a.getenv("PARLEY_DB"); p != "" {
		return p, nil
	}
	if d := a.getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "parley", "parley.db"), nil
	}
	home := a.getenv("HOME")
	if home == "" {
		var err error
		if home, err = os.UserHomeDir(); err != nil {
			return "", fmt.Errorf("no store path: set PARLEY_DB or --db (%w)", err)
		}
	}
	return filepath.Join(home, ".local", "share", "parley", "parley.db"), nil
}

// openStore opens the store named by the --db flag value or the
// environment. A store opened for the first time gets the starter briefs
// unless PARLEY_STARTER is off.
func (a *app) openStore(ctx context.Context, flagValue string, opts ...knowledge.Option) (*knowledge.Store, error) {
	path, err := a.dbPath(flagValue)
	if err != nil {
		return nil, err
	}
	seed, err := envBool(a.getenv, "PARLEY_STARTER", true)
	if err != nil {
		return nil, err
	}
	emb, dense, err := a.readEmbedding()
	if err != nil {
		return nil, err
	}
	// Warnings from the store (such as a search that fell back to full
	// text) go to standard error; the bot passes its own logger.
	opts = append([]knowledge.Option{knowledge.WithClock(a.now),
		knowledge.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))}, opts...)
	if dense {
		opts = append(opts, knowledge.WithEmbedding(emb))
	}
	store, err := knowledge.Open(ctx, path, opts...)
	if err != nil {
		return nil, err
	}
	if seed {
		if _, err := store.SeedStarter(ctx); err != nil {
			store.Close()
			return nil, err
		}
	}
	return store, nil
}

// envBool reads a yes/no environment variable; unset means def.
func envBool(getenv func(string) string, name string, def bool) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(getenv(name))) {
	case "":
		return def, nil
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%s=%q: want on or off", name, getenv(name))
}

// actor names who is making a change from the command line.
func (a *app) actor() string {
	if u := a.getenv("USER"); u != "" {
		return "cli:" + u
	}
	return "cli"
}

func formatDate(t time.Time) string {
	if t.IsZero() {
		return "undated"
	}
	return t.Format("2006-01-02")
}
