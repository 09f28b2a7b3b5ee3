package engineio

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// acceptedEncoding picks gzip or deflate from the request's Accept-Encoding
// ("" for neither), preferring gzip as Node's server does.
func acceptedEncoding(r *http.Request) string {
	var gz, df bool
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if refused(params) {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "gzip", "*":
			gz = true
		case "deflate":
			df = true
		}
	}
	switch {
	case gz:
		return "gzip"
	case df:
		return "deflate"
	}
	return ""
}

// refused reports whether an encoding's parameters give it q=0.
func refused(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(k, "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err == nil && q == 0
		}
	}
	return false
}

// compressor is a pooled gzip or zlib writer (HTTP's "deflate" is zlib).
type compressor interface {
	io.WriteCloser
	Reset(io.Writer)
}

var (
	gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}
	zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}
)

// compress returns data compressed with enc, "gzip" or "deflate".
func compress(enc string, data []byte) ([]byte, error) {
	pool := &zlibWriters
	if enc == "gzip" {
		pool = &gzipWriters
	}
	w := pool.Get().(compressor)
	defer pool.Put(w)
	var buf bytes.Buffer
	buf.Grow(len(data) / 2)
	w.Reset(&buf)
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
