// Package console serves the web console under /console/ on the admin
// port: the files `make console` builds from console/ into dist/, embedded
// in the binary. The files hold no data, so they are served without a
// token; the app sends the admin token with each API call it makes, which
// the admin API checks as it checks any other caller. The package only
// serves files: it never reads a request body, a token or a store.
package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Paths the console is served at: Path and everything below it; Root
// redirects to Path.
const (
	Root = "/console"
	Path = Root + "/"
)

// assetsDir holds Vite's content-hashed files: a name there changes when
// its content does, so it may be cached for good.
const assetsDir = "assets/"

// Header values of every answer. The policy admits only the console's own
// files and API calls to the same origin; inline styles are allowed
// because component libraries set style attributes.
const (
	contentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; " +
		"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	allowedMethods   = "GET, HEAD"
	indexName        = "index.html"
	defaultMediaType = "application/octet-stream"
)

//go:embed all:dist
var dist embed.FS

// NewEmbedded is New on the build embedded in the binary (dist/).
func NewEmbedded() (*Handler, error) {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		return nil, fmt.Errorf("console: embedded files: %w", err)
	}
	return New(sub)
}

// file is one file of the console, read once at start-up.
type file struct {
	data      []byte
	mediaType string
	etag      string
	cache     string
}

// Handler serves the console's files. It is immutable after New, so one
// Handler serves every request concurrently.
type Handler struct {
	files map[string]*file
	index *file
}

// New reads every file of fsys (the console's build: index.html at its
// root, hashed files under assets/) into memory and returns the handler
// serving them. It fails when fsys has no index.html.
func New(fsys fs.FS) (*Handler, error) {
	h := &Handler{files: make(map[string]*file)}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		f := &file{
			data:      data,
			mediaType: mediaType(name),
			etag:      `"` + hex.EncodeToString(sum[:12]) + `"`,
			cache:     cacheRevalidate,
		}
		if strings.HasPrefix(name, assetsDir) {
			f.cache = cacheImmutable
		}
		h.files[name] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("console: read files: %w", err)
	}
	index, ok := h.files[indexName]
	if !ok {
		return nil, errors.New("console: no index.html in the build; run make console")
	}
	// index.html names the current build's hashed files: a browser must
	// ask again each time, or it keeps loading an old build.
	index.cache = cacheRevalidate
	h.index = index
	return h, nil
}

// Register mounts the handler on mux at Root and Path, outside any
// authentication: the console's files are public, its API calls are not.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.Handle(Root, h)
	mux.Handle(Path, h)
}

// ServeHTTP answers GET and HEAD: a file of the build, index.html for any
// other path below Path (the app routes in the browser), 404 for a missing
// hashed file or a path that is not a clean relative name, 405 for any
// other method. Every answer carries the security headers.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", contentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", allowedMethods)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == Root {
		target := Path
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		http.Redirect(w, r, target, http.StatusMovedPermanently)
		return
	}
	f, ok := h.lookup(r.URL.Path)
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hdr.Set("Content-Type", f.mediaType)
	hdr.Set("Cache-Control", f.cache)
	hdr.Set("ETag", f.etag)
	// ServeContent answers HEAD, Range and If-None-Match (304) from the
	// ETag; embedded files have no modification time.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.data))
}

// lookup finds what answers urlPath: its file, index.html for a path that
// names no file, nothing for a name that could step outside the build (a
// "..", an empty or "." element: only fs.ValidPath names are looked up, so
// no request reaches beyond the embedded files) or a missing hashed file.
func (h *Handler) lookup(urlPath string) (*file, bool) {
	name, ok := strings.CutPrefix(urlPath, Path)
	if !ok {
		return nil, false
	}
	// An app route may end in a slash; a file name never does.
	name = strings.TrimSuffix(name, "/")
	if name == "" {
		return h.index, true
	}
	if !fs.ValidPath(name) || strings.Contains(name, "\\") {
		return nil, false
	}
	if f, ok := h.files[name]; ok {
		return f, true
	}
	if strings.HasPrefix(name, assetsDir) {
		// A page of another build asking for its files: HTML in their place
		// would fail obscurely (and be cached as the script).
		return nil, false
	}
	return h.index, true
}

// mediaTypes fixes the types of the files a Vite build writes, so that the
// answer does not depend on the host's mime.types (nosniff makes browsers
// refuse a script served with the wrong type).
var mediaTypes = map[string]string{
	".html":  "text/html; charset=utf-8",
	".js":    "text/javascript; charset=utf-8",
	".mjs":   "text/javascript; charset=utf-8",
	".css":   "text/css; charset=utf-8",
	".json":  "application/json",
	".map":   "application/json",
	".svg":   "image/svg+xml",
	".png":   "image/png",
	".ico":   "image/x-icon",
	".webp":  "image/webp",
	".woff":  "font/woff",
	".woff2": "font/woff2",
	".txt":   "text/plain; charset=utf-8",
}

func mediaType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	if t, ok := mediaTypes[ext]; ok {
		return t
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return defaultMediaType
}
