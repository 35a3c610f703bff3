package postgres

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/schemata/schemata/domain"
)

// The export file format (version 1) is documented on Transfer. Its
// integrity: gzip's CRC-32 and length detect corruption and truncation of
// the stream; the section markers, the trailer (which must be the last line)
// and its per-table row counts, checked against what COPY loaded, detect a
// damaged or hand-cut inner stream.
const (
	exportFormatName    = "schemata-tenant-export"
	exportFormatVersion = 1

	// maxControlLine bounds a control line (the header lists every table and
	// column, so it is the longest).
	maxControlLine = 16 << 20
)

// exportHeader is the first line of an export file.
type exportHeader struct {
	Format        string        `json:"format"`
	FormatVersion int           `json:"format_version"`
	SchemaVersion int64         `json:"schema_version"`
	Company       exportCompany `json:"company"`
	ExportedAt    time.Time     `json:"exported_at"`
	Tables        []exportTable `json:"tables"`
}

type exportCompany struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

type exportTable struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

type exportSection struct {
	Table string `json:"table"`
}

type exportTrailer struct {
	End  bool             `json:"end"`
	Rows map[string]int64 `json:"rows"`
}

// sectionEnd ends the rows of a table.
var sectionEnd = []byte("\\.\n")

// damaged reports a file that is not a complete, well-formed export.
func damaged(format string, args ...any) error {
	return &domain.Error{Code: domain.CodeInvalid, Field: "file",
		Message: "not a complete schemata tenant export: " + fmt.Sprintf(format, args...)}
}

// validate checks a header's own consistency.
func (h exportHeader) validate() error {
	if h.Format != exportFormatName {
		return damaged("unknown format %q", h.Format)
	}
	if h.FormatVersion != exportFormatVersion {
		return &domain.Error{Code: domain.CodeInvalid, Field: "file",
			Message: fmt.Sprintf("export format version %d is not supported (this program reads version %d)", h.FormatVersion, exportFormatVersion)}
	}
	if h.SchemaVersion <= 0 {
		return damaged("schema version %d", h.SchemaVersion)
	}
	seen := map[string]bool{}
	for _, t := range h.Tables {
		if t.Name == "" || seen[t.Name] || len(t.Columns) == 0 {
			return damaged("bad table list")
		}
		seen[t.Name] = true
		cols := map[string]bool{}
		for _, c := range t.Columns {
			if c == "" || cols[c] {
				return damaged("bad column list of table %s", t.Name)
			}
			cols[c] = true
		}
	}
	return nil
}

// exportWriter writes the format to w through gzip. Every write, including
// the COPY data that pgdriver pushes, goes through one drainWriter, so a
// failing w never stops a COPY half-way; check err after each step.
type exportWriter struct {
	gz *gzip.Writer
	dw *drainWriter
}

func newExportWriter(w io.Writer) *exportWriter {
	gz := gzip.NewWriter(w)
	return &exportWriter{gz: gz, dw: &drainWriter{w: gz}}
}

func (e *exportWriter) control(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, _ = e.dw.Write(append(b, '\n'))
	return e.dw.err
}

// rows is where a table's COPY data goes.
func (e *exportWriter) rows() io.Writer { return e.dw }

func (e *exportWriter) endSection() error {
	_, _ = e.dw.Write(sectionEnd)
	return e.dw.err
}

func (e *exportWriter) close() error {
	if e.dw.err != nil {
		return e.dw.err
	}
	return e.gz.Close()
}

// exportReader parses the format from r. Its section reader feeds COPY FROM
// under endingReader's contract; any parse or I/O error is kept in err.
type exportReader struct {
	ctx context.Context
	gz  *gzip.Reader
	br  *bufio.Reader

	// section state
	table       string
	atLineStart bool
	inSection   bool
	err         error
}

func newExportReader(ctx context.Context, r io.Reader) (*exportReader, error) {
	gz, err := gzip.NewReader(r)
	if err != nil {
		return nil, damaged("not gzip-compressed (%v)", err)
	}
	return &exportReader{ctx: ctx, gz: gz, br: bufio.NewReaderSize(gz, 256<<10)}, nil
}

// streamErr describes a read failure of the underlying stream.
func streamErr(err error, where string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return damaged("truncated %s", where)
	}
	return damaged("%s: %v", where, err)
}

// line reads one control line without its newline.
func (e *exportReader) line(where string) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := e.br.ReadSlice('\n')
		buf = append(buf, chunk...)
		if len(buf) > maxControlLine {
			return nil, damaged("%s is longer than %d bytes", where, maxControlLine)
		}
		switch {
		case err == nil:
			return buf[:len(buf)-1], nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, streamErr(err, where)
		}
	}
}

func (e *exportReader) control(where string, v any) error {
	b, err := e.line(where)
	if err != nil {
		return err
	}
	if len(b) == 0 || b[0] != '{' {
		return damaged("expected the %s", where)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return damaged("%s: %v", where, err)
	}
	return nil
}

func (e *exportReader) header() (exportHeader, error) {
	var h exportHeader
	if err := e.control("header", &h); err != nil {
		return h, err
	}
	return h, h.validate()
}

// section starts the rows of table, which must be the next section; the
// returned reader yields them up to (not including) the end marker.
func (e *exportReader) section(table string) (io.Reader, error) {
	var s exportSection
	if err := e.control("section of table "+table, &s); err != nil {
		return nil, err
	}
	if s.Table != table {
		return nil, damaged("expected table %s, found %q", table, s.Table)
	}
	e.table, e.atLineStart, e.inSection, e.err = table, true, true, nil
	return sectionReader{e}, nil
}

// sectionReader is the io.Reader of the current section.
type sectionReader struct{ e *exportReader }

func (s sectionReader) Read(p []byte) (int, error) { return s.e.readSection(p) }

// readSection returns whole or partial row lines of the current section,
// never data together with io.EOF. At the end marker, and on any error
// (recorded in e.err), it returns io.EOF.
func (e *exportReader) readSection(p []byte) (int, error) {
	if !e.inSection || e.err != nil || len(p) == 0 {
		return 0, io.EOF
	}
	if err := e.ctx.Err(); err != nil {
		e.err = err
		return 0, io.EOF
	}
	if e.atLineStart {
		b, err := e.br.Peek(len(sectionEnd))
		if bytes.Equal(b, sectionEnd) {
			_, _ = e.br.Discard(len(sectionEnd))
			e.inSection = false
			return 0, io.EOF
		}
		if err != nil { // fewer bytes left than an end marker: the section never ends
			e.err = streamErr(err, "rows of table "+e.table)
			return 0, io.EOF
		}
	}
	avail, err := e.br.Peek(min(len(p), e.br.Size()))
	if len(avail) == 0 {
		e.err = streamErr(err, "rows of table "+e.table)
		return 0, io.EOF
	}
	if i := bytes.IndexByte(avail, '\n'); i >= 0 {
		avail = avail[:i+1]
		e.atLineStart = true
	} else {
		e.atLineStart = false
	}
	n := copy(p, avail)
	_, _ = e.br.Discard(n)
	return n, nil
}

// trailer reads the last line and checks that nothing follows it (which
// also makes gzip verify its checksum and length).
func (e *exportReader) trailer() (exportTrailer, error) {
	var t exportTrailer
	if err := e.control("trailer", &t); err != nil {
		return t, err
	}
	if !t.End {
		return t, damaged("expected the trailer")
	}
	if _, err := e.br.Peek(1); !errors.Is(err, io.EOF) {
		if err == nil {
			return t, damaged("data after the trailer")
		}
		return t, streamErr(err, "end of file")
	}
	return t, nil
}
