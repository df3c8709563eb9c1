// Package lettertest builds real scanned letters for tests: PDFs with a
// correct cross-reference table, PNGs and JPEGs that decode. The upload
// checks parse a letter as what it claims to be (issue #13), so a test
// can no longer upload "%PDF-1.4" and a few bytes.
package lettertest

import (
	"bytes"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"strings"
)

// Doc is a one-page PDF to build. Objects 1–3 are the catalog, the page
// tree and the page; Objects are numbered from 4 on.
type Doc struct {
	Catalog string   // entries added to the catalog, e.g. "/OpenAction 4 0 R"
	Page    string   // entries added to the page, e.g. "/Annots [4 0 R]"
	Objects []string // the bodies of objects 4, 5, …
}

// Bytes writes d as a PDF 1.4 file: header, objects, a cross-reference
// table with each object's offset, trailer, startxref and %%EOF.
func (d Doc) Bytes() []byte {
	objs := append([]string{
		"<< /Type /Catalog /Pages 2 0 R " + d.Catalog + " >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] " + d.Page + " >>",
	}, d.Objects...)
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// Stream is the body of a stream object: dict's entries with the /Length
// of data, then data.
func Stream(dict string, data []byte) string {
	return fmt.Sprintf("<< %s /Length %d >>\nstream\n%s\nendstream", dict, len(data), data)
}

// PDF is a minimal valid one-page PDF.
func PDF() []byte { return Doc{}.Bytes() }

// ScanPDF is a PDF as a scanner writes one: an A4 page showing a JPEG.
func ScanPDF() []byte {
	const w, h = 124, 175 // A4 at 15 dpi: small, but a real picture
	content := []byte("q 595 0 0 842 0 0 cm /Im0 Do Q")
	return Doc{
		Page: "/Resources << /XObject << /Im0 5 0 R >> >> /Contents 4 0 R",
		Objects: []string{
			Stream("", content),
			Stream(fmt.Sprintf("/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode", w, h),
				JPEG(w, h)),
		},
	}.Bytes()
}

// picture is a w×h grey page with dark lines, like a scanned letter.
func picture(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			v := uint8(235)
			if y%12 < 2 && x > w/10 && x < w*9/10 {
				v = 40
			}
			img.SetGray(x, y, color.Gray{Y: v})
		}
	}
	return img
}

// PNG is a w×h PNG.
func PNG(w, h int) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, picture(w, h)); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// JPEG is a w×h JPEG.
func JPEG(w, h int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, picture(w, h), &jpeg.Options{Quality: 80}); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// PNGHeader is a PNG whose header (IHDR) claims w×h pixels, followed by
// an empty image data chunk and the end: decoding it for real would
// allocate w×h pixels, its header alone costs nothing.
func PNGHeader(w, h int) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := []byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w), byte(h >> 24), byte(h >> 16), byte(h >> 8), byte(h),
		8, 0, 0, 0, 0} // 8-bit greyscale, deflate, no filter, no interlace
	chunk(&b, "IHDR", ihdr)
	chunk(&b, "IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}) // an empty zlib stream
	chunk(&b, "IEND", nil)
	return b.Bytes()
}

func chunk(b *bytes.Buffer, kind string, data []byte) {
	n := len(data)
	b.Write([]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	b.WriteString(kind)
	b.Write(data)
	c := crc32.ChecksumIEEE(append([]byte(kind), data...))
	b.Write([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)})
}

// Truncated is data without its last quarter, as an upload cut short.
func Truncated(data []byte) []byte { return data[:len(data)*3/4] }

// ELF is the start of a Linux executable; MZ of a Windows one.
var (
	ELF = "\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 8) + "\x02\x00\x3e\x00"
	MZ  = "MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.\r\n"
)
