package discordtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Request is one logged REST request and the fake's answer.
type Request struct {
	Method string
	Host   string // host the client addressed before the rewrite, e.g. "discord.com"
	// Path is relative to the API root, e.g. "/channels/1/messages" for
	// "/api/v9/channels/1/messages"; requests outside the API keep their full path.
	Path     string
	URLPath  string // the path as received, API prefix included
	Route    string // the matched route pattern, e.g. "POST /channels/{id}/messages"; "" if none
	Query    url.Values
	Header   http.Header // as sent, Authorization included; String and GoString redact it
	Body     []byte
	Status   int  // status the fake answered; 499 if the client gave up during injected latency
	Injected bool // answered by FailNext instead of the route
	Time     time.Time
}

func cloneRequests(in []Request) []Request {
	out := make([]Request, len(in))
	for i, r := range in {
		r.Query = cloneValues(r.Query)
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Authorization returns the Authorization header as sent.
func (r Request) Authorization() string { return r.Header.Get("Authorization") }

// String formats the request for failure messages, with the Authorization header redacted
// and the body cut at 512 bytes.
func (r Request) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Method, r.Path)
	if len(r.Query) > 0 {
		b.WriteString("?" + r.Query.Encode())
	}
	fmt.Fprintf(&b, " -> %d", r.Status)
	if r.Injected {
		b.WriteString(" (injected)")
	}
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := strings.Join(r.Header[k], ", ")
		if strings.EqualFold(k, "Authorization") {
			v = "[REDACTED]"
		}
		fmt.Fprintf(&b, "\n  %s: %s", k, v)
	}
	if len(r.Body) > 0 {
		body := r.Body
		if len(body) > 512 {
			body = body[:512]
		}
		fmt.Fprintf(&b, "\n  body: %s", body)
		if len(r.Body) > 512 {
			fmt.Fprintf(&b, "... (%d bytes)", len(r.Body))
		}
	}
	return b.String()
}

// GoString is String, so %#v does not print the token either.
func (r Request) GoString() string { return r.String() }

// JSON decodes the body into v; for multipart bodies it decodes the payload_json part.
func (r Request) JSON(v any) error {
	raw, _, err := payloadJSON(r.Header.Get("Content-Type"), r.Body)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return errors.New("discordtest: request has no JSON body")
	}
	return json.Unmarshal(raw, v)
}

// AllowedMentionsEmpty reports whether the body carries allowed_mentions with a non-null
// parse field (present) and whether that field is an empty list (empty). For interaction
// callbacks it looks inside "data". Bodies that are not JSON report false, false.
func (r Request) AllowedMentionsEmpty() (present bool, empty bool) {
	var top map[string]json.RawMessage
	if r.JSON(&top) != nil {
		return false, false
	}
	am, ok := top["allowed_mentions"]
	if !ok {
		if data, isCallback := top["data"]; isCallback {
			var inner map[string]json.RawMessage
			if json.Unmarshal(data, &inner) != nil {
				return false, false
			}
			am, ok = inner["allowed_mentions"]
		}
	}
	if !ok {
		return false, false
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(am, &fields) != nil {
		return false, false
	}
	parse, ok := fields["parse"]
	if !ok || string(parse) == "null" {
		return false, false
	}
	var list []json.RawMessage
	if json.Unmarshal(parse, &list) != nil {
		return true, false
	}
	return true, len(list) == 0
}

// Filter returns the requests with the given method ("" for any) whose Path starts with
// pathPrefix. It is meant for WaitFor conditions and assertions.
func Filter(reqs []Request, method, pathPrefix string) []Request {
	var out []Request
	for _, r := range reqs {
		if (method == "" || r.Method == method) && strings.HasPrefix(r.Path, pathPrefix) {
			out = append(out, r)
		}
	}
	return out
}

// payloadJSON returns the JSON document of a request body, the payload_json part for
// multipart bodies, and the number of file parts. A body without JSON yields nil.
func payloadJSON(contentType string, body []byte) ([]byte, int, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mediaType, "multipart/") {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, 0, nil
		}
		return body, 0, nil
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	var payload []byte
	files := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, fmt.Errorf("discordtest: multipart body: %w", err)
		}
		data, err := io.ReadAll(p)
		if err != nil {
			return nil, 0, fmt.Errorf("discordtest: multipart body: %w", err)
		}
		switch name := p.FormName(); {
		case name == "payload_json":
			payload = data
		case strings.HasPrefix(name, "files["), strings.HasPrefix(name, "file"):
			files++
		}
	}
	return payload, files, nil
}
