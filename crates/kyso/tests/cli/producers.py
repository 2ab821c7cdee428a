#!/usr/bin/env python3
"""PDFs as other producers write them, for the byte-fidelity test (fidelity.rs).

usage: producers.py PRODUCER OUT.pdf [IMAGE.png]

handmade      written here byte by byte: long reals (595.303937007874), hex strings, #xx-escaped
              names, escaped literal strings, /MediaBox and /Resources inherited from /Pages, a
              direct /Annots array on page 1 and an indirect one on page 2 (each with a link)
xmp-noxmp     handmade plus XMP that does not declare the xmp namespace
xmp-other     handmade plus XMP using the xap: prefix for the xmp namespace
xmp-zip       xmp-noxmp with the XMP in a Flate-compressed stream
xmp-bad       handmade plus XMP using an undeclared prefix (malformed already)
fpdf2         fpdf2: two pages, a Vietnamese title (UTF-16 hex string), compressed content
fpdf2-links   fpdf2 with a link on each page: fpdf2 writes link annotations as direct
              dictionaries inside /Annots
reportlab     reportlab canvas: two A4 pages (595.2755905511812 × 841.8897637795277), a link
img2pdf       img2pdf from IMAGE.png at 96 dpi (reals with many digits)
"""
import sys
import zlib


def classic(bodies, info=None):
    out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offs = []
    for i, b in enumerate(bodies):
        offs.append(len(out))
        out += b"%d 0 obj\n" % (i + 1) + b + b"\nendobj\n"
    x = len(out)
    n = len(bodies) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % n
    for o in offs:
        out += b"%010d 00000 n \n" % o
    extra = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s /ID [<0A1B2C3D4E5F60718293A4B5C6D7E8F9> <0a1b2c3d4e5f60718293a4b5c6d7e8f9>] >>\nstartxref\n%d\n%%%%EOF\n" % (n, extra, x)
    return out


def stream(data, extra=b""):
    return b"<< /Length %d%s >>\nstream\n" % (len(data), extra) + data + b"\nendstream"


XMP = b'''<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:format>application/pdf</dc:format>PROPS</rdf:Description>
</rdf:RDF></x:xmpmeta>
<?xpacket end="w"?>'''


def handmade(xmp=None):
    c1 = b"BT /F1 14 Tf 72.000000001 700.5 Td (C\\364ng v\\343n s\\366 1) Tj ET"
    c2 = b"BT /F#32 12 Tf 72 700 Td <48656c6c6f> Tj ET"
    catalog = b"<< /Type /Catalog /Pages 2 0 R /PageLabels << /Nums [0 << /S /D /P (Trang\\040) >>] >> /ViewerPreferences << /Direction /L2R >>%s >>" % (b" /Metadata 12 0 R" if xmp else b"")
    bodies = [
        catalog,
        b"<< /Type /Pages /Kids [3 0 R 6 0 R] /Count 2 /MediaBox [0 0 595.303937007874 841.889763779528] /Resources << /Font << /F1 5 0 R /F#32 5 0 R >> /ProcSet [/PDF /Text] >> /Rotate 0 >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 4 0 R /CropBox [0.0 0 595.30393700787400 841.88976377952800] /UserUnit 1.0000000000000000001 /PieceInfo << /K#C3#A9y#20x << /Private <4b79 736f 2d49> /LastModified (D:20240101000000+07'00') /Esc (a\\(b\\)c \\101\\102) /Nested (x(y)z) >> >> /Annots [9 0 R] /Group << /S /Transparency /CS /DeviceRGB >> >>",
        stream(c1),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Times#2DRoman /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Page /Parent 2 0 R /Contents 7 0 R /Annots 8 0 R /Dur 0.333333333333333314829616256247 /Tabs /S >>",
        stream(c2),
        b"[10 0 R]",
        b"<< /Type /Annot /Subtype /Link /Rect [72.0000001 690.25 300.123456789 720.987654321] /Border [0 0 0] /A << /S /URI /URI (https://example.org/a#20b) >> >>",
        b"<< /Type /Annot /Subtype /Link /Rect [72 690 300 720] /Border [0 0 0] /Dest [3 0 R /XYZ null 841.889763779528 0] >>",
        b"<< /Title <FEFF0043006F006E0067002000760103006E> /Producer (handmade \\(fidelity\\)) /CreationDate (D:20240101000000+07'00') >>",
    ]
    if xmp is not None:
        bodies.append(xmp)
    return classic(bodies, info=11)


def xmp_body(props, compressed=False):
    data = XMP.replace(b"PROPS", props)
    if compressed:
        z = zlib.compress(data)
        return stream(z, b" /Type /Metadata /Subtype /XML /Filter /FlateDecode")
    return stream(data, b" /Type /Metadata /Subtype /XML")


def main():
    kind, out = sys.argv[1], sys.argv[2]
    if kind == "handmade":
        data = handmade()
    elif kind == "xmp-noxmp":
        data = handmade(xmp_body(b""))
    elif kind == "xmp-other":
        data = handmade(xmp_body(b'<xap:CreateDate xmlns:xap="http://ns.adobe.com/xap/1.0/">2024-01-01T00:00:00+07:00</xap:CreateDate>'))
    elif kind == "xmp-zip":
        data = handmade(xmp_body(b"", compressed=True))
    elif kind == "xmp-bad":
        data = handmade(xmp_body(b"<xmp:ModifyDate>2024-01-01T00:00:00+07:00</xmp:ModifyDate>"))
    elif kind in ("fpdf2", "fpdf2-links"):
        from fpdf import FPDF
        pdf = FPDF()
        pdf.set_title("Công văn thử")
        pdf.set_font("helvetica", size=12)
        for i in range(2):
            pdf.add_page()
            link = "https://example.org" if kind == "fpdf2-links" else ""
            pdf.cell(text=f"Trang {i + 1}", link=link)
        pdf.output(out)
        return
    elif kind == "reportlab":
        from reportlab.lib.pagesizes import A4
        from reportlab.pdfgen import canvas
        c = canvas.Canvas(out, pagesize=A4)
        c.setTitle("Công văn thử")
        for i in range(2):
            c.drawString(72.123456789, 700.987654321, f"Page {i + 1}")
            c.linkURL("https://example.org", (72, 690, 300, 720.5), relative=0)
            c.showPage()
        c.save()
        return
    elif kind == "img2pdf":
        import img2pdf
        with open(out, "wb") as f:
            f.write(img2pdf.convert(sys.argv[3], layout_fun=img2pdf.get_fixed_dpi_layout_fun((96, 96))))
        return
    else:
        raise SystemExit(f"unknown producer {kind}")
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
