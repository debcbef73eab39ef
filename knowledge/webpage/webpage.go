// Package webpage fetches moderator-supplied URLs without letting them reach
// private networks, and extracts the article they hold.
package webpage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"
)

// Page is an extracted article.
type Page struct {
	URL       string // final URL after redirects (canonical link from the page if present and same scheme http/https, else final URL)
	Title     string
	Author    string
	SiteName  string
	Language  string    // e.g. "en", may be ""
	Published time.Time // zero when unknown
	Text      string    // article body; paragraphs separated by exactly one blank line ("\n\n"), no boilerplate
}

// Options configures a Fetcher. Zero values select the defaults.
type Options struct {
	Timeout       time.Duration // total deadline per fetch, body included; default 20s
	MaxBytes      int64         // body cap applied AFTER decompression; default 5 MiB
	MaxRedirects  int           // default 5; negative means follow none
	UserAgent     string        // default "ParleyBot/1.0 (+news-source-fetcher)"
	AllowLoopback bool          // TESTS ONLY: permit 127.0.0.0/8 and ::1 (on any port) so tests can use httptest servers; production never sets it
}

// Defaults applied by NewFetcher for zero Options fields.
const (
	DefaultTimeout      = 20 * time.Second
	DefaultMaxBytes     = 5 << 20
	DefaultMaxRedirects = 5
	DefaultUserAgent    = "ParleyBot/1.0 (+news-source-fetcher)"
)

// Errors returned by Fetch and Extract, always wrapped with details; test them
// with errors.Is.
var (
	ErrBadURL           = errors.New("webpage: URL not allowed")
	ErrForbiddenHost    = errors.New("webpage: destination host not allowed")
	ErrTooManyRedirects = errors.New("webpage: too many redirects")
	ErrContentType      = errors.New("webpage: unsupported content type")
	ErrTooLarge         = errors.New("webpage: page too large")
	ErrNoArticle        = errors.New("webpage: no article text found")
	ErrStatus           = errors.New("webpage: unexpected HTTP status")
)

const (
	dialTimeout           = 5 * time.Second
	tlsHandshakeTimeout   = 10 * time.Second
	responseHeaderTimeout = 10 * time.Second
)

// Fetcher fetches web pages with the rules of RELIABILITY.md: http and https
// only, public destinations only (checked at dial time on every connection),
// bounded in time and size. It is safe for concurrent use.
type Fetcher struct {
	opts   Options
	guard  *guard
	client *http.Client
}

// NewFetcher returns a Fetcher using opts, with defaults filled in.
func NewFetcher(opts Options) *Fetcher {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	switch {
	case opts.MaxRedirects == 0:
		opts.MaxRedirects = DefaultMaxRedirects
	case opts.MaxRedirects < 0:
		opts.MaxRedirects = 0
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}

	f := &Fetcher{opts: opts, guard: newGuard(opts.AllowLoopback)}
	dialer := &net.Dialer{
		Timeout:   min(dialTimeout, opts.Timeout),
		KeepAlive: 30 * time.Second,
		Control:   f.guard.control,
	}
	// With a total deadline shorter than the header timeout the context alone
	// decides, so a slow server always yields context.DeadlineExceeded rather
	// than whichever of two near-simultaneous timers fires first.
	headerTimeout := responseHeaderTimeout
	if headerTimeout >= opts.Timeout {
		headerTimeout = 0
	}
	transport := &http.Transport{
		// A proxy would make the dial guard check the proxy, not the target.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    min(tlsHandshakeTimeout, opts.Timeout),
		ResponseHeaderTimeout:  headerTimeout,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           20,
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
		// DisableCompression stays false and we never set Accept-Encoding:
		// the transport then asks for gzip and inflates it itself, so the
		// size cap below applies to the inflated bytes.
	}
	f.client = &http.Client{
		Transport:     transport,
		CheckRedirect: f.checkRedirect,
	}
	return f
}

func (f *Fetcher) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > f.opts.MaxRedirects {
		return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, f.opts.MaxRedirects)
	}
	if err := f.guard.checkURL(req.URL); err != nil {
		return fmt.Errorf("redirect to %s: %w", req.URL.Redacted(), err)
	}
	return nil
}

// Fetch downloads rawURL and extracts its article. The whole call, body
// included, is bounded by Options.Timeout and by ctx.
//
// Errors wrap ErrBadURL, ErrForbiddenHost, ErrTooManyRedirects, ErrStatus,
// ErrContentType, ErrTooLarge or ErrNoArticle; network failures and timeouts
// wrap the underlying error (context.DeadlineExceeded for the deadline).
func (f *Fetcher) Fetch(ctx context.Context, rawURL string) (*Page, error) {
	u, err := f.guard.parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.opts.Timeout)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadURL, err)
	}
	req.Header.Set("User-Agent", f.opts.UserAgent)
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,text/plain;q=0.8")

	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	final := resp.Request.URL

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, fmt.Errorf("fetch %s: %w: %s", final.Redacted(), ErrStatus, resp.Status)
	}
	// The transport removes Content-Encoding once it has inflated gzip; any
	// encoding left is one we did not ask for and cannot read.
	if ce := resp.Header.Get("Content-Encoding"); ce != "" && ce != "identity" {
		return nil, fmt.Errorf("fetch %s: %w: content encoding %q", final.Redacted(), ErrContentType, ce)
	}
	ct := resp.Header.Get("Content-Type")
	if ct != "" {
		if _, err := allowedType(ct); err != nil {
			return nil, fmt.Errorf("fetch %s: %w", final.Redacted(), err)
		}
	}
	if resp.ContentLength > f.opts.MaxBytes {
		return nil, fmt.Errorf("fetch %s: %w: %d bytes declared, limit %d", final.Redacted(), ErrTooLarge, resp.ContentLength, f.opts.MaxBytes)
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, f.opts.MaxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("fetch %s: read body: %w", final.Redacted(), err)
	}
	if int64(len(body)) > f.opts.MaxBytes {
		return nil, fmt.Errorf("fetch %s: %w: over %d bytes", final.Redacted(), ErrTooLarge, f.opts.MaxBytes)
	}
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	mediaType, err := allowedType(ct)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", final.Redacted(), err)
	}

	var page *Page
	if mediaType == "text/plain" {
		page, err = extractPlain(body, ct)
	} else {
		page, err = extractHTML(body, ct, final)
	}
	if err != nil {
		return nil, fmt.Errorf("extract %s: %w", final.Redacted(), err)
	}
	if page.URL == "" {
		page.URL = final.String()
	}
	return page, nil
}

// allowedType returns the media type of a Content-Type header value, or an
// error wrapping ErrContentType if it is not one we extract.
func allowedType(contentType string) (string, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("%w: %q", ErrContentType, contentType)
	}
	switch mediaType {
	case "text/html", "application/xhtml+xml", "text/plain":
		return mediaType, nil
	}
	return "", fmt.Errorf("%w: %s", ErrContentType, mediaType)
}

// Extract parses an HTML document already in hand (used for uploaded .html
// files). pageURL may be ""; when set it must be an absolute http or https URL
// (else ErrBadURL) and is used to resolve a relative canonical link and as
// Page.URL when the page has no canonical link. It returns an error wrapping
// ErrNoArticle when no usable text is found.
func Extract(html []byte, pageURL string) (*Page, error) {
	var base *url.URL
	if pageURL != "" {
		u, err := url.Parse(pageURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: page URL must be an absolute http or https URL", ErrBadURL)
		}
		base = u
	}
	page, err := extractHTML(html, "", base)
	if err != nil {
		return nil, err
	}
	if page.URL == "" && base != nil {
		page.URL = base.String()
	}
	return page, nil
}
