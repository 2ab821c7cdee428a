#!/usr/bin/env python3
"""Write a large PDF like a scanned annex, streaming (never held in memory).

usage: make_large.py OUT.pdf SIZE_MB

Page 1 is text; every other page holds one ~1 MiB image of seeded noise (incompressible, like a
scan), so SIZE_MB pages make a file of about SIZE_MB MiB. Deterministic for a given size.
"""
import random
import sys

W = H = 591  # 591 * 591 * 3 bytes = 1.0 MiB of RGB samples per page


def main():
    out, size_mb = sys.argv[1], int(sys.argv[2])
    n_img = max(1, size_mb)
    rnd = random.Random(size_mb)
    offsets = {}
    # Object numbers: 1 catalog, 2 pages, 3 font, then per page: page, content, image.
    kids = []
    with open(out + ".part", "wb") as f:
        pos = 0

        def emit(num, body, stream=None):
            nonlocal pos
            offsets[num] = pos
            data = b"%d 0 obj\n" % num + body
            if stream is not None:
                data += b"\nstream\n" + stream + b"\nendstream"
            data += b"\nendobj\n"
            f.write(data)
            pos += len(data)

        head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
        f.write(head)
        pos = len(head)
        pages = n_img + 1
        first = 4
        kids = [first + 3 * i for i in range(pages)]
        emit(1, b"<< /Type /Catalog /Pages 2 0 R >>")
        emit(2, b"<< /Type /Pages /Count %d /Kids [%s] >>"
             % (pages, b" ".join(b"%d 0 R" % k for k in kids)))
        emit(3, b"<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman "
                b"/Encoding /WinAnsiEncoding >>")
        for i in range(pages):
            page, content, image = first + 3 * i, first + 3 * i + 1, first + 3 * i + 2
            if i == 0:
                text = (b"BT /F1 14 Tf 72 770 Td (Phu luc: ban quet tai lieu kem theo) Tj "
                        b"0 -20 Td (%d trang anh) Tj ET" % n_img)
                emit(page, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                           b"/Contents %d 0 R /Resources << /Font << /F1 3 0 R >> >> >>" % content)
                emit(content, b"<< /Length %d >>" % len(text), text)
                emit(image, b"null")
            else:
                draw = b"q 540 0 0 540 28 150 cm /Im0 Do Q BT /F1 10 Tf 28 120 Td (Trang %d) Tj ET" % i
                emit(page, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
                           b"/Contents %d 0 R /Resources << /Font << /F1 3 0 R >> "
                           b"/XObject << /Im0 %d 0 R >> >> >>" % (content, image))
                emit(content, b"<< /Length %d >>" % len(draw), draw)
                pixels = rnd.randbytes(W * H * 3)
                emit(image, b"<< /Type /XObject /Subtype /Image /Width %d /Height %d "
                            b"/ColorSpace /DeviceRGB /BitsPerComponent 8 /Length %d >>"
                            % (W, H, len(pixels)), pixels)
        size = first + 3 * pages
        xref = pos
        f.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
        for n in range(1, size):
            f.write(b"%010d 00000 n \n" % offsets[n])
        f.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    import os
    os.replace(out + ".part", out)


if __name__ == "__main__":
    main()
