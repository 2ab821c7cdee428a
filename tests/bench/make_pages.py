#!/usr/bin/env python3
"""Write a text document of N pages, like a long decision with annexes (deterministic).

usage: make_pages.py OUT.pdf PAGES

Every page has 40 lines of text in a Flate-compressed content stream, one shared font, a
classic xref table. Used by scripts/bench.sh for the "100 pages, 5 signatures" verify figure.
"""
import sys
import zlib


def main():
    out, pages = sys.argv[1], int(sys.argv[2])
    objs = {}
    first = 4
    kids = [first + 2 * i for i in range(pages)]
    objs[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    objs[2] = (b"<< /Type /Pages /Count %d /Kids [%s] >>"
               % (pages, b" ".join(b"%d 0 R" % k for k in kids)))
    objs[3] = (b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman "
               b"/Encoding /WinAnsiEncoding >>")
    for i in range(pages):
        page, content = first + 2 * i, first + 2 * i + 1
        lines = [b"BT /F1 11 Tf 72 780 Td 14 TL"]
        for n in range(40):
            lines.append(b"(Trang %d, dong %d: Dieu %d. Quy dinh chi tiet thi hanh quyet dinh "
                         b"nay ve van ban dien tu.) '" % (i + 1, n + 1, i * 40 + n + 1))
        lines.append(b"ET")
        data = zlib.compress(b"\n".join(lines), 6)
        objs[page] = (b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
                      b"/Resources << /Font << /F1 3 0 R >> >> >>" % content)
        objs[content] = (b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(data)
                         + data + b"\nendstream")
    buf = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for num in sorted(objs):
        offsets[num] = len(buf)
        buf += b"%d 0 obj\n" % num + objs[num] + b"\nendobj\n"
    xref = len(buf)
    size = max(objs) + 1
    buf += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for num in range(1, size):
        buf += b"%010d 00000 n \n" % offsets[num]
    buf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref)
    with open(out, "wb") as f:
        f.write(buf)


if __name__ == "__main__":
    main()
