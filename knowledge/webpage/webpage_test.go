package webpage

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// These tests never leave the machine: pages come from httptest servers on
// loopback (with AllowLoopback), and every URL that must be refused is
// refused before any DNS lookup or dial, which TestRefusedURLs enforces.

func readArticle(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/article.html")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testFetcher returns a Fetcher that may reach loopback test servers.
func testFetcher(opts Options) *Fetcher {
	opts.AllowLoopback = true
	return NewFetcher(opts)
}

// forbidDial makes any dial by f fail the test, proving that a refusal
// happened before the network was touched.
func forbidDial(t *testing.T, f *Fetcher) {
	t.Helper()
	tr := f.client.Transport.(*http.Transport)
	tr.DialContext = func(_ context.Context, network, addr string) (net.Conn, error) {
		t.Errorf("dialed %s %s, want no network access", network, addr)
		return nil, errors.New("dial forbidden by test")
	}
}

func serveHTML(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(body)
	}
}

func splitParagraphs(text string) []string { return strings.Split(text, "\n\n") }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

var articleParagraphs = []string{
	"Councillors in Porthkennack voted on Wednesday evening to restore the town's eighteenth-century tidal mill, ending a decade of argument over the derelict building on the harbour wall.",
	"A long campaign",
	`"We never doubted that the town would come round to it," said the group's chair, Jory Tremayne. "The mill is the reason the harbour exists at all."`,
	"Construction is due to begin in September.",
	"The mill is expected to reopen to visitors in spring 2026.",
}

var boilerplate = []string{
	"Subscribe today", "cookies", "Most read", "Ferry timetable", "Copyright", "Privacy policy", "window.analytics",
}

// checkArticle verifies the page extracted from testdata/article.html.
func checkArticle(t *testing.T, p *Page, wantURL string) {
	t.Helper()
	if got, want := p.Title, "Harbour town votes to rebuild its tidal mill"; got != want {
		t.Errorf("Title: got %q, want %q", got, want)
	}
	if got, want := p.Author, "Morwenna Pascoe"; got != want {
		t.Errorf("Author: got %q, want %q", got, want)
	}
	if got, want := p.SiteName, "The Coastal Ledger"; got != want {
		t.Errorf("SiteName: got %q, want %q", got, want)
	}
	if got, want := p.Language, "en"; got != want {
		t.Errorf("Language: got %q, want %q", got, want)
	}
	if got, want := p.Published, time.Date(2024, 3, 14, 9, 30, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Published: got %v, want %v", got, want)
	}
	if got := p.URL; got != wantURL {
		t.Errorf("URL: got %q, want %q", got, wantURL)
	}

	paras := splitParagraphs(p.Text)
	for _, want := range articleParagraphs {
		if !contains(paras, want) {
			t.Errorf("Text: got paragraphs %q, want one to be %q", paras, want)
		}
	}
	if got := paras[0]; got == p.Title {
		t.Errorf("Text: got title %q repeated as first paragraph, want it dropped", got)
	}
	for _, b := range boilerplate {
		if strings.Contains(p.Text, b) {
			t.Errorf("Text: got boilerplate %q in %q, want it dropped", b, p.Text)
		}
	}
	for i, para := range paras {
		if para == "" || para != strings.TrimSpace(para) || strings.Contains(para, "\n") || strings.Contains(para, "  ") {
			t.Errorf("Text paragraph %d: got %q, want non-empty, trimmed, single-spaced", i, para)
		}
	}
}

func TestFetchArticle(t *testing.T) {
	srv := httptest.NewServer(serveHTML(readArticle(t)))
	defer srv.Close()

	p, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL+"/story?id=7#comments")
	if err != nil {
		t.Fatalf("Fetch: got error %v, want nil", err)
	}
	checkArticle(t, p, srv.URL+"/news/2024/03/14/tidal-mill-vote")
}

func TestExtract(t *testing.T) {
	doc := readArticle(t)

	p, err := Extract(doc, "https://coastal-ledger.example/archive/123")
	if err != nil {
		t.Fatalf("Extract: got error %v, want nil", err)
	}
	checkArticle(t, p, "https://coastal-ledger.example/news/2024/03/14/tidal-mill-vote")

	// Without a page URL a relative canonical link cannot be resolved.
	p, err = Extract(doc, "")
	if err != nil {
		t.Fatalf("Extract without URL: got error %v, want nil", err)
	}
	if p.URL != "" {
		t.Errorf("Extract without URL: got URL %q, want empty", p.URL)
	}

	if _, err := Extract(doc, "file:///tmp/upload.html"); !errors.Is(err, ErrBadURL) {
		t.Errorf("Extract with file URL: got error %v, want ErrBadURL", err)
	}

	short := []byte(`<html><head><title>Menu</title></head><body><nav><a href="/">Home</a></nav><p>Nothing to see.</p></body></html>`)
	if _, err := Extract(short, ""); !errors.Is(err, ErrNoArticle) {
		t.Errorf("Extract short page: got error %v, want ErrNoArticle", err)
	}
}

func TestExtractPreAndTable(t *testing.T) {
	doc := `<html lang="fr"><head><title>Résultats du scrutin municipal</title></head><body><article>
<h1>Résultats du scrutin municipal</h1>
<p>Les électeurs de la commune se sont déplacés en nombre dimanche pour désigner leur nouveau conseil municipal, avec une participation supérieure à celle du précédent scrutin organisé il y a six ans.</p>
<table><tr><th>Liste</th><th>Voix</th></tr><tr><td>Union   pour la commune</td><td>1 204</td></tr></table>
<pre>ligne un
   ligne deux


ligne trois</pre>
<p>Le nouveau maire sera élu lors de la première séance du conseil, prévue la semaine prochaine à la salle des fêtes.</p>
</article></body></html>`
	p, err := Extract([]byte(doc), "")
	if err != nil {
		t.Fatalf("Extract: got error %v, want nil", err)
	}
	if got, want := p.Language, "fr"; got != want {
		t.Errorf("Language: got %q, want %q", got, want)
	}
	paras := splitParagraphs(p.Text)
	for _, want := range []string{"Liste | Voix", "Union pour la commune | 1 204"} {
		if !contains(paras, want) {
			t.Errorf("Text: got paragraphs %q, want one to be %q", paras, want)
		}
	}
	// trafilatura flattens pre elements into running text before we see
	// them, so only the words are checked.
	if want := "ligne un ligne deux ligne trois"; !strings.Contains(p.Text, want) {
		t.Errorf("Text: got %q, want it to contain %q", p.Text, want)
	}
}

func TestFetchRedirects(t *testing.T) {
	article := readArticle(t)
	mux := http.NewServeMux()
	mux.HandleFunc("/r/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			serveHTML(article)(w, r)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()

	tests := []struct {
		name    string
		hops    int
		wantErr error
	}{
		{"at limit", 5, nil},
		{"over limit", 6, ErrTooManyRedirects},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := testFetcher(Options{}).Fetch(context.Background(), fmt.Sprintf("%s/r/%d", srv.URL, tt.hops))
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Fetch after %d redirects: got error %v, want %v", tt.hops, err, tt.wantErr)
			}
		})
	}
}

func TestFetchRedirectToForbiddenHost(t *testing.T) {
	tests := []struct {
		name     string
		location string
		wantErr  error
	}{
		{"metadata service", "http://169.254.169.254/latest/meta-data", ErrForbiddenHost},
		{"private network", "http://10.0.0.1/admin", ErrForbiddenHost},
		{"ULA", "http://[fd12:3456::1]/", ErrForbiddenHost},
		{"single label", "http://intranet/", ErrForbiddenHost},
		{"file scheme", "file:///etc/passwd", ErrBadURL},
		{"userinfo", "http://admin:secret@example.com/", ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.RedirectHandler(tt.location, http.StatusFound))
			defer srv.Close()
			f := testFetcher(Options{})
			_, err := f.Fetch(context.Background(), srv.URL+"/")
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Fetch redirecting to %s: got error %v, want %v", tt.location, err, tt.wantErr)
			}
		})
	}
}

func TestDefaultFetcherRefusesLoopbackServer(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()

	_, err := NewFetcher(Options{}).Fetch(context.Background(), srv.URL+"/")
	if !errors.Is(err, ErrForbiddenHost) {
		t.Errorf("Fetch %s: got error %v, want ErrForbiddenHost", srv.URL, err)
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("server hits: got %d, want 0", got)
	}
}

// TestDialGuardRefusesPrivateResolution covers a public-looking name whose
// DNS answer is private (rebinding, or a redirect to such a name): the URL
// passes the pre-check and the dial-time guard must refuse the connection.
func TestDialGuardRefusesPrivateResolution(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
	}))
	defer srv.Close()
	loopback := srv.Listener.Addr().String()

	for _, port := range []string{"", ":443"} {
		f := NewFetcher(Options{})
		tr := f.client.Transport.(*http.Transport)
		dial := tr.DialContext
		// Stand-in for a resolver that answers 127.0.0.1 for news.example.
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dial(ctx, network, loopback)
		}
		_, err := f.Fetch(context.Background(), "http://news.example"+port+"/story")
		if !errors.Is(err, ErrForbiddenHost) {
			t.Errorf("Fetch of name resolving to %s: got error %v, want ErrForbiddenHost", loopback, err)
		}
	}
	if got := hits.Load(); got != 0 {
		t.Errorf("server hits: got %d, want 0", got)
	}
}

func TestGuardControl(t *testing.T) {
	tests := []struct {
		network, address string
		allowLoopback    bool
		wantErr          bool
	}{
		{"tcp4", "93.184.215.14:443", false, false},
		{"tcp6", "[2606:2800:21f:cb07:6820:80da:af6b:8b2c]:80", false, false},
		{"tcp4", "93.184.215.14:8080", false, true},
		{"udp4", "93.184.215.14:80", false, true},
		{"tcp4", "127.0.0.1:80", false, true},
		{"tcp6", "[::1]:443", false, true},
		{"tcp6", "[::ffff:127.0.0.1]:80", false, true},
		{"tcp4", "10.1.2.3:80", false, true},
		{"tcp4", "169.254.169.254:80", false, true},
		{"tcp4", "100.64.0.1:80", false, true},
		{"tcp6", "[fd00::1]:80", false, true},
		{"tcp6", "[fe80::1]:80", false, true},
		{"tcp4", "127.0.0.1:54321", true, false},
		{"tcp6", "[::1]:54321", true, false},
		{"tcp4", "10.1.2.3:80", true, true},
		{"tcp4", "192.168.0.1:54321", true, true},
	}
	for _, tt := range tests {
		err := newGuard(tt.allowLoopback).control(tt.network, tt.address, nil)
		if gotErr := err != nil; gotErr != tt.wantErr {
			t.Errorf("control(%s, %s) allowLoopback=%v: got error %v, want error %v", tt.network, tt.address, tt.allowLoopback, err, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrForbiddenHost) {
			t.Errorf("control(%s, %s): got error %v, want ErrForbiddenHost", tt.network, tt.address, err)
		}
	}
}

func TestRefusedURLs(t *testing.T) {
	tests := []struct {
		url     string
		wantErr error
	}{
		{"http://127.0.0.1/", ErrForbiddenHost},
		{"http://localhost/", ErrForbiddenHost},
		{"http://LOCALHOST./", ErrForbiddenHost},
		{"http://[::1]/", ErrForbiddenHost},
		{"http://[::ffff:127.0.0.1]/", ErrForbiddenHost},
		{"http://0.0.0.0/", ErrForbiddenHost},
		{"http://169.254.169.254/latest/meta-data", ErrForbiddenHost},
		{"http://10.0.0.1/", ErrForbiddenHost},
		{"http://172.16.0.1/", ErrForbiddenHost},
		{"http://192.168.1.1/", ErrForbiddenHost},
		{"http://100.64.0.1/", ErrForbiddenHost},
		{"http://[fc00::1]/", ErrForbiddenHost},
		{"http://[fe80::1%25eth0]/", ErrForbiddenHost},
		{"http://2130706433/", ErrForbiddenHost},
		{"http://0x7f000001/", ErrForbiddenHost},
		{"http://0X7F.1/", ErrForbiddenHost},
		{"http://017700000001/", ErrForbiddenHost},
		{"http://127.1/", ErrForbiddenHost},
		{"http://%31%32%37.0.0.1/", ErrBadURL}, // Go refuses escapes in hosts
		{"http://127.0.0.1:8080/", ErrForbiddenHost},
		{"http://intranet/", ErrForbiddenHost},
		{"http://0127.0.0.1/", ErrBadURL},  // octal: 87.0.0.1, public but ambiguous
		{"http://99999999999/", ErrBadURL}, // numeric, too large for IPv4
		{"http://1.2.3.4.5/", ErrBadURL},   // numeric, too many parts
		{"file:///etc/passwd", ErrBadURL},
		{"ftp://example.com/", ErrBadURL},
		{"http://user:pass@example.com/", ErrBadURL},
		{"http://example.com:8080/", ErrBadURL},
		{"javascript:alert(1)", ErrBadURL},
		{"", ErrBadURL},
		{"example.com/news", ErrBadURL},
		{"http:///news", ErrBadURL},
		{"http://exa mple.com/", ErrBadURL},
	}
	f := NewFetcher(Options{Timeout: 2 * time.Second})
	forbidDial(t, f)
	for _, tt := range tests {
		_, err := f.Fetch(context.Background(), tt.url)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Fetch(%q): got error %v, want %v", tt.url, err, tt.wantErr)
		}
		if err != nil && strings.Contains(err.Error(), "user:pass") {
			t.Errorf("Fetch(%q): got error %q, want no credentials in it", tt.url, err)
		}
	}
}

func TestParseLooseIPv4(t *testing.T) {
	tests := []struct {
		host        string
		want        string
		wantNumeric bool
	}{
		{"2130706433", "127.0.0.1", true},
		{"0x7f000001", "127.0.0.1", true},
		{"017700000001", "127.0.0.1", true},
		{"127.1", "127.0.0.1", true},
		{"127.0.1", "127.0.0.1", true},
		{"0x7f.0.0.0x1", "127.0.0.1", true},
		{"10.0x10000", "10.1.0.0", true},
		{"0", "0.0.0.0", true},
		{"256.1.1.1", "", true},
		{"08.1.1.1", "", true},
		{"4294967296", "", true},
		{"1.2.3.4.5", "", true},
		{"cafe.de", "", false},
		{"0xdeadbeef.com", "", false},
		{"news.example", "", false},
		{"1.2.3.com", "", false},
	}
	for _, tt := range tests {
		addr, numeric, ok := parseLooseIPv4(tt.host)
		got := ""
		if ok {
			got = addr.String()
		}
		if got != tt.want || numeric != tt.wantNumeric {
			t.Errorf("parseLooseIPv4(%q): got %q numeric=%v, want %q numeric=%v", tt.host, got, numeric, tt.want, tt.wantNumeric)
		}
	}
	if _, err := netip.ParseAddr("127.1"); err == nil {
		t.Errorf("netip.ParseAddr(127.1): got nil error, want one (else the loose parser is unneeded)")
	}
}

func TestFetchContentType(t *testing.T) {
	for _, ct := range []string{"image/png", "application/json", "application/pdf", "not a type;;"} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write([]byte("\x89PNG\r\n\x1a\n"))
		}))
		_, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL)
		srv.Close()
		if !errors.Is(err, ErrContentType) {
			t.Errorf("Fetch with Content-Type %q: got error %v, want ErrContentType", ct, err)
		}
	}
}

func TestFetchStatus(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL)
	if !errors.Is(err, ErrStatus) {
		t.Errorf("Fetch of 404: got error %v, want ErrStatus", err)
	}
}

func TestFetchTooLarge(t *testing.T) {
	body := bytes.Repeat([]byte("<p>padding padding padding</p>\n"), 200) // ~6 KiB
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"declared length", serveHTML(body)},
		{"chunked", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			for chunk := range slices.Chunk(body, 512) {
				w.Write(chunk)
				w.(http.Flusher).Flush() // no Content-Length: the cap must act while reading
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, err := testFetcher(Options{MaxBytes: 1024}).Fetch(context.Background(), srv.URL)
			if !errors.Is(err, ErrTooLarge) {
				t.Errorf("Fetch of %d-byte body with MaxBytes 1024: got error %v, want ErrTooLarge", len(body), err)
			}
		})
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func serveGzip(body []byte) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Write(body)
	}
}

func TestFetchGzip(t *testing.T) {
	// A well-formed gzip page is inflated transparently.
	srv := httptest.NewServer(serveGzip(gzipped(t, readArticle(t))))
	defer srv.Close()
	p, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("Fetch gzip page: got error %v, want nil", err)
	}
	if !strings.Contains(p.Text, articleParagraphs[0]) {
		t.Errorf("Fetch gzip page: got text %q, want it to contain %q", p.Text, articleParagraphs[0])
	}
}

func TestFetchGzipBomb(t *testing.T) {
	const maxBytes = 64 << 10
	bomb := gzipped(t, bytes.Repeat([]byte(" "), 8<<20)) // 8 MiB inflated, ~8 KiB on the wire
	if len(bomb) >= maxBytes {
		t.Fatalf("bomb: got %d compressed bytes, want under %d so only inflation can trip the cap", len(bomb), maxBytes)
	}
	srv := httptest.NewServer(serveGzip(bomb))
	defer srv.Close()
	_, err := testFetcher(Options{MaxBytes: maxBytes}).Fetch(context.Background(), srv.URL)
	if !errors.Is(err, ErrTooLarge) {
		t.Errorf("Fetch gzip bomb: got error %v, want ErrTooLarge", err)
	}
}

func TestFetchUnknownEncoding(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Encoding", "br")
		w.Write([]byte{0x1b, 0x02, 0x00})
	}))
	defer srv.Close()
	_, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL)
	if !errors.Is(err, ErrContentType) {
		t.Errorf("Fetch with Content-Encoding br: got error %v, want ErrContentType", err)
	}
}

func TestFetchSlowServer(t *testing.T) {
	tests := []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"trickling body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html><body><p>"))
			for {
				w.(http.Flusher).Flush()
				select {
				case <-r.Context().Done():
					return
				case <-time.After(10 * time.Millisecond):
					w.Write([]byte("a"))
				}
			}
		}},
		{"no headers", func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			_, err := testFetcher(Options{Timeout: 300 * time.Millisecond}).Fetch(context.Background(), srv.URL)
			if err == nil {
				t.Fatal("Fetch from endless server: got nil error, want one")
			}
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Fetch from endless server: got error %v, want context.DeadlineExceeded", err)
			}
		})
	}
}

func TestFetchPlainText(t *testing.T) {
	body := "  Tide tables for the estuary, spring 2024  \r\n" +
		"Published by the harbour office.\r\n\r\n\r\n\r\n" +
		"High water at the quay will reach 5.8 metres on the morning of the equinox, \r\n" +
		"the highest tide of the year. Owners of boats moored on the inner wall are asked\r\n" +
		"to check their lines before nightfall.\r\n\r\n" +
		"The harbour office will be open late on both evenings for anyone who needs help\tmoving a boat.\r\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte(body))
	}))
	defer srv.Close()

	p, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL+"/tides.txt")
	if err != nil {
		t.Fatalf("Fetch text/plain: got error %v, want nil", err)
	}
	if got, want := p.Title, "Tide tables for the estuary, spring 2024"; got != want {
		t.Errorf("Title: got %q, want %q", got, want)
	}
	if got, want := p.URL, srv.URL+"/tides.txt"; got != want {
		t.Errorf("URL: got %q, want %q", got, want)
	}
	wantText := "Tide tables for the estuary, spring 2024\n" +
		"Published by the harbour office.\n\n" +
		"High water at the quay will reach 5.8 metres on the morning of the equinox,\n" +
		"the highest tide of the year. Owners of boats moored on the inner wall are asked\n" +
		"to check their lines before nightfall.\n\n" +
		"The harbour office will be open late on both evenings for anyone who needs help\tmoving a boat."
	if p.Text != wantText {
		t.Errorf("Text: got %q, want %q", p.Text, wantText)
	}
}

func TestFetchCharset(t *testing.T) {
	// "café" and "élus" in windows-1252, declared only in the header.
	para := "<p>Le caf\xe9 du port rouvre ses portes apr\xe8s six mois de travaux, annoncent les \xe9lus de la commune, " +
		"qui esp\xe8rent y voir revenir les p\xeacheurs et les promeneurs d\xe8s le premier week-end de beau temps.</p>"
	doc := "<html><head><title>Le caf\xe9 du port rouvre</title></head><body><article>" + para + para + "</article></body></html>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=windows-1252")
		w.Write([]byte(doc))
	}))
	defer srv.Close()

	p, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL)
	if err != nil {
		t.Fatalf("Fetch windows-1252 page: got error %v, want nil", err)
	}
	if got, want := p.Title, "Le café du port rouvre"; got != want {
		t.Errorf("Title: got %q, want %q", got, want)
	}
	if !strings.Contains(p.Text, "les élus de la commune") {
		t.Errorf("Text: got %q, want it to contain %q", p.Text, "les élus de la commune")
	}
}

func TestFetchNoArticle(t *testing.T) {
	srv := httptest.NewServer(serveHTML([]byte(`<html><body><nav><a href="/a">A</a> <a href="/b">B</a></nav><p>Please enable JavaScript.</p></body></html>`)))
	defer srv.Close()
	_, err := testFetcher(Options{}).Fetch(context.Background(), srv.URL)
	if !errors.Is(err, ErrNoArticle) {
		t.Errorf("Fetch of empty page: got error %v, want ErrNoArticle", err)
	}
}
