package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image/jpeg"
	"image/png"
	"regexp"
	"sync"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/validate"
)

// A letter is parsed as what its first bytes claim (issue #13): a PDF by
// pdfcpu, an image by its decoder. The first bytes alone let through
// "%PDF-" followed by HTML, PDFs that run JavaScript or launch programs,
// PDFs with an executable appended, and a PNG whose header claims
// 60000×60000 pixels, which decoding would turn into gigabytes.

// The image limits. An A4 page scanned at 600 dpi is 4961×7016 pixels
// (35 megapixels) and a phone's photo of a letter 12 to 24 megapixels: both
// fit. Decoding allocates the whole picture before the first pixel is read —
// 40 megapixels are 160 MB as RGBA, 320 MB at 16 bits a channel — so the cap
// bounds what one upload can make the server hold. The side cap refuses a
// strip (1×40,000,000) no scanner makes.
const (
	maxImageSide   = 12000
	maxImagePixels = 40_000_000
)

// maxPDFObjects bounds the objects of a PDF, which pdfcpu reads one by
// one (some 15 µs each here): a scan has a few objects a page, a letter
// exported from a word processor some hundreds; 10 MB of tiny objects
// (180,000) would take pdfcpu seconds.
const maxPDFObjects = 20_000

// pdfReadTimeout bounds reading a PDF. A 10 MB scan reads in a few
// milliseconds; the deadline only stops a file built to be slow in some
// way the limits do not foresee.
const pdfReadTimeout = 2 * time.Second

// checkContent refuses data whose content is not the kind sniffed from its
// first bytes, or is a kind of that content no letter needs.
func checkContent(field, kind string, data []byte) error {
	switch kind {
	case "application/pdf":
		return checkPDF(field, data)
	case "image/jpeg", "image/png":
		return checkImage(field, kind, data)
	}
	return fileError(field, "upload.error.type")
}

// checkImage reads an image's size from its header, refuses it over the
// limits, and only then decodes it whole: a truncated or corrupt image is
// refused. The decoder is the sniffed kind's own, not image.Decode's
// registry, into which other packages (pdfcpu brings TIFF) add formats.
func checkImage(field, kind string, data []byte) error {
	decodeConfig, decode := png.DecodeConfig, png.Decode
	if kind == "image/jpeg" {
		decodeConfig, decode = jpeg.DecodeConfig, jpeg.Decode
	}
	cfg, err := decodeConfig(bytes.NewReader(data))
	if err != nil {
		return fileError(field, "upload.error.image_invalid")
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return fileError(field, "upload.error.image_invalid")
	}
	if cfg.Width > maxImageSide || cfg.Height > maxImageSide || cfg.Width*cfg.Height > maxImagePixels {
		return fileError(field, "upload.error.image_too_large", "MaxSide", maxImageSide, "MaxMP", maxImagePixels/1_000_000)
	}
	if kind == "image/png" && pngRawBytes(data) > deflateMaxRatio*int64(len(data)) {
		return fileError(field, "upload.error.image_invalid") // too short for its pixels: cut off
	}
	imageDecodes <- struct{}{}
	_, err = decode(bytes.NewReader(data))
	<-imageDecodes
	if err != nil {
		return fileError(field, "upload.error.image_invalid")
	}
	return nil
}

// imageDecodes lets two pictures at most be decoded at once. A decoder
// allocates the whole picture, and a progressive JPEG its coefficients
// too, before reading the data: within the limits one decode may hold
// several hundred MB, whatever the file's size.
var imageDecodes = make(chan struct{}, 2)

// deflateMaxRatio is the most deflate can compress: 1032 to 1.
const deflateMaxRatio = 1032

// pngRawBytes is the size of the rows a PNG's header (IHDR, which
// DecodeConfig has read: the first chunk, at a fixed place) claims, before
// compression. A file shorter than that over deflateMaxRatio cannot hold
// them: it is cut off, or a header made to have the decoder allocate.
func pngRawBytes(data []byte) int64 {
	w, h := int64(binary.BigEndian.Uint32(data[16:])), int64(binary.BigEndian.Uint32(data[20:]))
	depth, channels := int64(data[24]), int64(1) // greyscale, or a palette's index
	switch colourType := data[25]; colourType {
	case 2: // RGB
		channels = 3
	case 4: // greyscale and alpha
		channels = 2
	case 6: // RGBA
		channels = 4
	}
	return h * (1 + (w*depth*channels+7)/8)
}

// checkPDF refuses a PDF that pdfcpu cannot read and validate (relaxed, as
// readers are: scanners' output bends the standard), one with data
// appended after its end, and one with active content (pdfActive).
func checkPDF(field string, data []byte) error {
	if !bytes.Contains(data, []byte("%%EOF")) {
		return fileError(field, "upload.error.pdf_invalid") // truncated, or no PDF at all
	}
	if pdfAppended(data) {
		return fileError(field, "upload.error.trailing")
	}
	// The names alone say it, even in an object no cross-reference lists,
	// which pdfcpu does not read but a reader repairing the file might.
	for _, name := range activeNames {
		if bytes.Contains(data, []byte(name)) {
			return fileError(field, "upload.error.pdf_active")
		}
	}
	if bytes.Count(data, []byte("endobj")) > maxPDFObjects {
		return fileError(field, "upload.error.pdf_invalid")
	}
	active, err := readPDF(data)
	if err != nil {
		return fileError(field, "upload.error.pdf_invalid")
	}
	if active {
		return fileError(field, "upload.error.pdf_active")
	}
	return nil
}

// activeNames are the names, long enough never to occur by chance in a
// stream's bytes, of what makes a PDF run something: a JavaScript action
// (every one has /S /JavaScript) or the document's scripts, a launch
// action, and embedded files.
var activeNames = []string{"/JavaScript", "/Launch", "/EmbeddedFile", "/FileAttachment"}

// pdfConfig is the configuration pdfcpu reads letters with, made once.
// Without DisableConfigDir pdfcpu would write a configuration directory
// (with fonts and certificates) under the service's home.
var pdfConfig = sync.OnceValue(func() *model.Configuration {
	api.DisableConfigDir()
	c := model.NewDefaultConfiguration()
	c.ValidationMode = model.ValidationRelaxed
	c.Offline = true
	// A letter is at most 10 MB: nothing in it needs pdfcpu's defaults
	// (512 MB streams, 10 million objects).
	c.Limits.MaxStreamBytes = MaxLetterBytes
	c.Limits.MaxDecodeBytes = 64 << 20
	c.Limits.MaxImagePixels = maxImagePixels
	c.Limits.MaxImageBytes = 256 << 20
	c.Limits.MaxObjectCount = 2 * maxPDFObjects // objects in object streams, not counted by checkPDF
	c.Limits.MaxObjectStreamCount = 2 * maxPDFObjects
	c.Limits.MaxXRefEntries = 2 * maxPDFObjects
	return c
})

// readPDF reads and validates data with pdfcpu and tells whether any of
// its objects is active. A panic in pdfcpu is a file it cannot read.
func readPDF(data []byte) (active bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			active, err = false, fmt.Errorf("pdfcpu panicked: %v", p)
		}
	}()
	c, cancel := context.WithTimeout(context.Background(), pdfReadTimeout)
	defer cancel()
	conf := *pdfConfig()
	doc, err := pdfcpu.ReadWithContext(c, bytes.NewReader(data), &conf)
	if err != nil {
		return false, err
	}
	// Every object the cross-references list, those in object streams
	// too, whether the document reaches it or not.
	for _, e := range doc.Table {
		if e == nil || e.Free {
			continue
		}
		o := e.Object
		if lazy, ok := o.(types.LazyObjectStreamObject); ok {
			if o, err = lazy.DecodedObject(c); err != nil {
				return false, err
			}
		}
		if pdfActive(o, 0) {
			return true, nil
		}
	}
	return false, validate.XRefTable(doc)
}

// pdfActive reports whether o, or an object within it, makes the PDF run
// something or carry a file: a /JS or /JavaScript entry (a script, or the
// names tree of the document's scripts), an action of type JavaScript or
// Launch (an OpenAction's, an AA's, a link's), embedded files (the names
// tree, a file specification's /EF, an embedded file stream, a file
// attachment annotation), or an XFA form (whose XML carries scripts).
func pdfActive(o types.Object, depth int) bool {
	if depth > 100 { // pdfcpu parses no deeper (MaxRecursionDepth)
		return true
	}
	var d types.Dict
	switch v := o.(type) {
	case types.Dict:
		d = v
	case types.StreamDict:
		d = v.Dict
	case types.ObjectStreamDict: // its objects are the table's, read there
		d = v.Dict
	case types.XRefStreamDict:
		d = v.Dict
	case types.Array:
		for _, x := range v {
			if pdfActive(x, depth+1) {
				return true
			}
		}
		return false
	default:
		return false
	}
	for k, v := range d {
		switch k {
		case "JS", "JavaScript", "EmbeddedFiles", "EF", "XFA":
			return true
		case "S", "Subtype", "Type":
			if n, ok := v.(types.Name); ok {
				switch string(n) {
				case "JavaScript", "Launch", "FileAttachment", "EmbeddedFile":
					return true
				}
			}
		}
		if pdfActive(v, depth+1) {
			return true
		}
	}
	return false
}

// pdfRevisionStart is how a PDF's body, or an incremental update after a
// %%EOF, begins: an object or a cross-reference table.
var pdfRevisionStart = regexp.MustCompile(`^(?:xref|\d+\s+\d+\s+obj)`)

// pdfAppended reports whether data holds more than a PDF: anything but
// white space after the last %%EOF, an "update" after a %%EOF that begins
// with neither an object nor a cross-reference table (an executable, then
// a %%EOF of its own), or a ZIP archive's directory at the end (a PDF that
// is also a JAR). An incremental update, which appends objects, a
// cross-reference section and its own %%EOF, is a PDF; so is a linearized
// one, whose first page's section ends with a %%EOF.
func pdfAppended(data []byte) bool {
	eof := []byte("%%EOF")
	last := bytes.LastIndex(data, eof)
	if last < 0 {
		return false // no end: not a PDF, which checkPDF says
	}
	if len(bytes.TrimLeft(data[last+len(eof):], pdfWhite)) > 0 {
		return true
	}
	for i := bytes.Index(data, eof); i >= 0 && i < last; {
		rest := skipPDFComments(data[i+len(eof):])
		if !pdfRevisionStart.Match(rest[:min(len(rest), 64)]) {
			return true
		}
		next := bytes.Index(data[i+len(eof):], eof)
		i += len(eof) + next
	}
	return zipAtEnd(data)
}

// pdfWhite is PDF's white space (ISO 32000-1, 7.2.2).
const pdfWhite = "\x00\t\n\f\r "

// skipPDFComments skips white space and comment lines.
func skipPDFComments(b []byte) []byte {
	for {
		b = bytes.TrimLeft(b, pdfWhite)
		if len(b) == 0 || b[0] != '%' {
			return b
		}
		end := bytes.IndexAny(b, "\r\n")
		if end < 0 {
			return nil
		}
		b = b[end:]
	}
}

// zipAtEnd reports whether data ends with a ZIP archive's end of central
// directory record (22 bytes and a comment of at most 65535), whose
// comment length says exactly where the file ends: ZIP readers look for
// it there.
func zipAtEnd(data []byte) bool {
	from := max(0, len(data)-22-0xffff)
	for i := len(data) - 22; i >= from; i-- {
		if data[i] == 'P' && bytes.HasPrefix(data[i:], []byte("PK\x05\x06")) &&
			int(binary.LittleEndian.Uint16(data[i+20:])) == len(data)-i-22 {
			return true
		}
	}
	return false
}
