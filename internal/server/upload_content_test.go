package server

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/api"

	"secondment/internal/lettertest"
	"secondment/internal/secondment"
)

// refusal is the message a field error of checkUpload gives, "" for none.
func refusal(t *testing.T, err error) string {
	t.Helper()
	if err == nil {
		return ""
	}
	e, ok := err.(*secondment.Error)
	if !ok || e.Code != secondment.EInvalid || len(e.Fields) != 1 || e.Fields[0].Field != "letter" {
		t.Fatalf("not a field error on the letter: %v", err)
	}
	return e.Fields[0].Message.ID
}

// update appends an incremental update to pdf, as an editor saving a
// change does: object obj with number nr, a cross-reference section for
// it, a trailer pointing back to the previous one, its own %%EOF.
func update(pdf []byte, nr int, obj string) []byte {
	prev := bytes.LastIndex(pdf, []byte("startxref\n"))
	var prevXref int
	fmt.Sscanf(string(pdf[prev+len("startxref\n"):]), "%d", &prevXref)
	b := bytes.NewBuffer(bytes.Clone(pdf))
	off := b.Len()
	fmt.Fprintf(b, "%d 0 obj\n%s\nendobj\n", nr, obj)
	xref := b.Len()
	fmt.Fprintf(b, "xref\n0 1\n0000000000 65535 f \n%d 1\n%010d 00000 n \n", nr, off)
	fmt.Fprintf(b, "trailer\n<< /Size %d /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n", nr+1, prevXref, xref)
	return b.Bytes()
}

// zipComment is a ZIP archive's end record whose comment runs to the end
// of the file and ends as a PDF does: the file is a PDF and a ZIP at once.
func zipComment(pdf []byte) []byte {
	tail := "startxref\n0\n%%EOF\n"
	end := []byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	end = append(end, byte(len(tail)), byte(len(tail)>>8))
	return append(append(bytes.Clone(pdf), end...), tail...)
}

// zipInUpdate hides a ZIP archive's end record in an incremental update:
// a stream holds it, and its comment runs over the rest of the update to
// the file's end. Every revision of the PDF is sound; only the end record
// tells the file is a ZIP as well.
func zipInUpdate(pdf []byte) []byte {
	end := "PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	b := update(pdf, 4, lettertest.Stream("", []byte(end)))
	i := bytes.LastIndex(b, []byte("PK\x05\x06"))
	n := len(b) - i - 22
	b[i+20], b[i+21] = byte(n), byte(n>>8)
	return b
}

// freed marks object nr free in pdf's cross-reference table, keeping
// every offset: the object's bytes stay, and no reader is sent to them.
func freed(pdf []byte, nr int) []byte {
	entries := bytes.LastIndex(pdf, []byte("\nxref\n")) + len("\nxref\n")
	entries += bytes.IndexByte(pdf[entries:], '\n') + 1 // past the subsection's "0 N"
	b := bytes.Clone(pdf)
	copy(b[entries+20*nr:], "0000000000 00001 f \n") // each entry is 20 bytes
	return b
}

// Every refusal the content checks make, each from a file that only its
// own check refuses: with that check removed the case fails.
func TestUploadContent(t *testing.T) {
	minimal := lettertest.PDF()
	js := func(action string) []byte {
		return lettertest.Doc{Catalog: "/OpenAction 4 0 R", Objects: []string{action}}.Bytes()
	}
	cases := []struct {
		name string
		data []byte
		want string // the message; "" accepts
	}{
		{"a minimal PDF", minimal, ""},
		{"a scanner's PDF: a page showing a JPEG", lettertest.ScanPDF(), ""},
		{"an incremental update", update(minimal, 4, "<< /Producer (扫描仪) >>"), ""},
		{"a PDF ending in CR LF and NULs", append(bytes.TrimSuffix(bytes.Clone(minimal), []byte("\n")), "\r\n\x00\x00"...), ""},
		{"%PDF- and HTML", []byte("%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF\n"), "upload.error.pdf_invalid"},
		{"a PDF signature and nothing of a PDF", []byte("%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"), "upload.error.pdf_invalid"},
		{"a truncated PDF", lettertest.Truncated(lettertest.ScanPDF()), "upload.error.pdf_invalid"},
		// JavaScript and launch actions, written plainly: both checks see them.
		{"an OpenAction running JavaScript", js("<< /Type /Action /S /JavaScript /JS (app.alert\\(1\\)) >>"), "upload.error.pdf_active"},
		{"a Launch action", js("<< /Type /Action /S /Launch /F (cmd.exe) >>"), "upload.error.pdf_active"},
		// The same with their names escaped (/Java#53cript is /JavaScript):
		// only pdfcpu's reading of the objects sees them.
		{"JavaScript in escaped names", js("<< /Type /Action /S /Java#53cript /J#53 (app.alert\\(1\\)) >>"), "upload.error.pdf_active"},
		{"a Launch action in escaped names", js("<< /S /Laun#63h /F (cmd.exe) >>"), "upload.error.pdf_active"},
		{"document scripts in the names tree", lettertest.Doc{Catalog: "/Names << /Java#53cript 4 0 R >>",
			Objects: []string{"<< /Names [(a) 5 0 R] >>", "<< /S /Java#53cript /J#53 (app.alert\\(1\\)) >>"}}.Bytes(), "upload.error.pdf_active"},
		{"a page's additional action", lettertest.Doc{Page: "/AA << /O << /S /Java#53cript /J#53 (x) >> >>"}.Bytes(), "upload.error.pdf_active"},
		{"an embedded file in escaped names", lettertest.Doc{Catalog: "/Names << /Embedded#46iles 4 0 R >>",
			Objects: []string{"<< /Names [(a.exe) 5 0 R] >>", "<< /Type /Filespec /F (a.exe) /E#46 << /F 6 0 R >> >>",
				lettertest.Stream("/Type /Embedded#46ile", []byte(lettertest.MZ))}}.Bytes(), "upload.error.pdf_active"},
		{"a file attachment annotation in escaped names", lettertest.Doc{Page: "/Annots [4 0 R]",
			Objects: []string{"<< /Type /Annot /Subtype /File#41ttachment /Rect [0 0 10 10] >>"}}.Bytes(), "upload.error.pdf_active"},
		// A script in an object no cross-reference lists: pdfcpu does not
		// read it, a reader rebuilding the table would; the bytes say it.
		{"JavaScript in an object marked free", freed(lettertest.Doc{Objects: []string{"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"}}.Bytes(), 4),
			"upload.error.pdf_active"},
		{"an ELF executable appended", append(bytes.Clone(minimal), lettertest.ELF...), "upload.error.trailing"},
		{"a Windows executable appended", append(bytes.Clone(minimal), lettertest.MZ...), "upload.error.trailing"},
		{"HTML appended", append(bytes.Clone(minimal), "<html><script>alert(1)</script></html>"...), "upload.error.trailing"},
		{"an executable appended with a %%EOF of its own", append(append(bytes.Clone(minimal), lettertest.MZ...), "\n%%EOF\n"...), "upload.error.trailing"},
		{"a PDF ending in a ZIP's directory", zipComment(minimal), "upload.error.trailing"},
		{"a PDF whose update hides a ZIP's directory", zipInUpdate(minimal), "upload.error.trailing"},
		{"a PDF without %%EOF, HTML after its startxref", append(bytes.TrimSuffix(bytes.Clone(minimal), []byte("%%EOF\n")), "<html></html>"...),
			"upload.error.pdf_invalid"},
		{"a PDF of 30,000 objects", lettertest.Doc{Objects: slices.Repeat([]string{"<< /A 1 >>"}, 30_000)}.Bytes(), "upload.error.pdf_invalid"},
		{"a PNG", lettertest.PNG(200, 280), ""},
		{"a JPEG", lettertest.JPEG(200, 280), ""},
		{"a PNG claiming 60000×60000", lettertest.PNGHeader(60000, 60000), "upload.error.image_too_large"},
		{"a PNG of 41 megapixels within the side limit", lettertest.PNGHeader(8000, 5125), "upload.error.image_too_large"},
		{"a truncated PNG", lettertest.Truncated(lettertest.PNG(200, 280)), "upload.error.image_invalid"},
		{"a truncated JPEG", lettertest.Truncated(lettertest.JPEG(200, 280)), "upload.error.image_invalid"},
		{"a PNG header and no picture", lettertest.PNGHeader(200, 280), "upload.error.image_invalid"},
		{"a PNG signature and garbage", []byte("\x89PNG\r\n\x1a\n" + strings.Repeat("\x00", 64)), "upload.error.image_invalid"},
		{"a JPEG signature and garbage", []byte("\xff\xd8\xff\xe0" + strings.Repeat("\x00", 64)), "upload.error.image_invalid"},
		{"an executable with a PDF after its header", []byte(lettertest.MZ + string(minimal)), "upload.error.type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := checkUpload("letter", "信.pdf", c.data)
			if got := refusal(t, err); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
			if err == nil && !bytes.Equal(f.Data, c.data) {
				t.Fatal("the accepted file was changed")
			}
		})
	}
}

// A PNG whose header claims 60000×60000 pixels (3.6 GB to decode) is
// refused from its header, without allocating the picture; so is one
// claiming 40 megapixels, within the limits, in 65 bytes, which no
// deflate stream that short can fill.
func TestUploadImageBombAllocatesNothing(t *testing.T) {
	for _, c := range []struct {
		name string
		png  []byte
		want string
	}{
		{"60000×60000", lettertest.PNGHeader(60000, 60000), "upload.error.image_too_large"},
		{"12000×3333 in 65 bytes", lettertest.PNGHeader(12000, 3333), "upload.error.image_invalid"},
	} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := checkUpload("letter", "炸弹.png", c.png)
		runtime.ReadMemStats(&after)
		if got := refusal(t, err); got != c.want {
			t.Fatalf("%s: got %q, want %q", c.name, got, c.want)
		}
		if n := after.TotalAlloc - before.TotalAlloc; n > 16<<20 {
			t.Fatalf("%s: refusing it allocated %d MB", c.name, n>>20)
		}
	}
}

// The PDFs pdfcpu itself writes pass: images imported as pages, as
// scan-to-PDF tools make them, with object and cross-reference streams.
// With a file attached the same PDF is refused.
func TestUploadPDFsPdfcpuWrites(t *testing.T) {
	conf := *pdfConfig() // pdfcpu without its configuration directory
	var scan bytes.Buffer
	pages := []io.Reader{bytes.NewReader(lettertest.JPEG(620, 877)), bytes.NewReader(lettertest.PNG(620, 877))}
	if err := api.ImportImages(nil, &scan, pages, nil, &conf); err != nil {
		t.Fatal(err)
	}
	if _, err := checkUpload("letter", "扫描.pdf", scan.Bytes()); err != nil {
		t.Fatalf("pdfcpu's scan refused: %v", err)
	}
	exe := filepath.Join(t.TempDir(), "说明.exe")
	if err := os.WriteFile(exe, []byte(lettertest.MZ), 0o600); err != nil {
		t.Fatal(err)
	}
	var attached bytes.Buffer
	conf = *pdfConfig()
	if err := api.AddAttachments(bytes.NewReader(scan.Bytes()), &attached, []string{exe}, false, &conf); err != nil {
		t.Fatal(err)
	}
	if got := refusal(t, checkPDFOnly(attached.Bytes())); got != "upload.error.pdf_active" {
		t.Fatalf("pdfcpu's PDF with an attachment: %q", got)
	}
}

func checkPDFOnly(data []byte) error {
	_, err := checkUpload("letter", "附件.pdf", data)
	return err
}

// Reading is bounded: a letter of 10 MB, a page with a JPEG that fills
// it, is read in well under a second.
func TestUploadPDFReadTime(t *testing.T) {
	pdf := lettertest.Doc{
		Page: "/Resources << /XObject << /Im0 4 0 R >> >>",
		Objects: []string{lettertest.Stream("/Type /XObject /Subtype /Image /Width 4961 /Height 7016 /ColorSpace /DeviceGray /BitsPerComponent 8 /Filter /DCTDecode",
			bytes.Repeat([]byte{0x55}, MaxLetterBytes-4096))},
	}.Bytes()
	start := time.Now()
	if _, err := checkUpload("letter", "大.pdf", pdf); err != nil {
		t.Fatalf("a 10 MB scan refused: %v", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("reading a 10 MB PDF took %v", d)
	}
}

// A rectification's evidence is checked as a letter is, on its own field.
func TestUploadEvidenceContent(t *testing.T) {
	for _, c := range []struct {
		data []byte
		want string
	}{
		{lettertest.PNG(200, 280), ""},
		{lettertest.PNGHeader(60000, 60000), "upload.error.image_too_large"},
		{append(lettertest.PDF(), lettertest.MZ...), "upload.error.trailing"},
	} {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		fw, _ := mw.CreateFormFile("file", "清退通知")
		_, _ = fw.Write(c.data)
		_ = mw.Close()
		r := httptest.NewRequest("POST", "/irregular/1/evidence", &b)
		r.Header.Set("Content-Type", mw.FormDataContentType())
		_, err := readEvidence(httptest.NewRecorder(), r)
		var got string
		if e, ok := err.(*secondment.Error); ok && len(e.Fields) == 1 && e.Fields[0].Field == "file" {
			got = e.Fields[0].Message.ID
		} else if err != nil {
			t.Fatalf("not a field error on the file: %v", err)
		}
		if got != c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

// FuzzLetter feeds the content checks alone: whatever the bytes, no
// panic, no hang, and an accepted file is a field error nowhere.
func FuzzLetter(f *testing.F) {
	f.Add(lettertest.PDF())
	f.Add(lettertest.ScanPDF())
	f.Add(update(lettertest.PDF(), 4, "<< /Producer (扫描仪) >>"))
	f.Add(lettertest.Doc{Catalog: "/OpenAction 4 0 R", Objects: []string{"<< /S /Java#53cript /J#53 (x) >>"}}.Bytes())
	f.Add(zipInUpdate(lettertest.PDF()))
	f.Add(lettertest.PNG(16, 16))
	f.Add(lettertest.PNGHeader(12000, 3333))
	f.Add(lettertest.JPEG(16, 16))
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		_, err := checkUpload("letter", "信", data)
		if err != nil {
			refusal(t, err)
		}
		if d := time.Since(start); d > 1*time.Second {
			t.Fatalf("checking %d bytes took %v", len(data), d)
		}
	})
}
