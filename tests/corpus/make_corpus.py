#!/usr/bin/env python3
"""Regenerate the PDF corpus the signing and verifying tests run on (see NOTES.md).

usage: python3 tests/corpus/make_corpus.py   (needs fpdf2, Pillow, qpdf; LibreOffice for
libreoffice.pdf, which is kept as committed when soffice is missing)

Every document is fictional. Output is deterministic except libreoffice.pdf (LibreOffice stamps
its own IDs), so it is only rebuilt with LO=1.
"""
import datetime
import io
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zlib

from fpdf import FPDF

HERE = os.path.dirname(os.path.abspath(__file__))
FONTS = os.path.join(HERE, "..", "..", "crates", "kyso-pdf", "assets", "fonts")
AGENCY = "SỞ KHOA HỌC VÀ CÔNG NGHỆ"
PROVINCE = "ỦY BAN NHÂN DÂN TỈNH DEMO"
BODY = ("Căn cứ Luật Giao dịch điện tử ngày 22 tháng 6 năm 2023; căn cứ Nghị định số "
        "68/2024/NĐ-CP của Chính phủ quy định về chữ ký số chuyên dùng công vụ; theo đề nghị "
        "của Chánh Văn phòng Sở. Sở Khoa học và Công nghệ tỉnh Demo thông báo kế hoạch triển "
        "khai chữ ký số trong các cơ quan nhà nước trên địa bàn tỉnh năm 2026 như sau. ")
FIXED = datetime.datetime(2026, 1, 2, 8, 0, tzinfo=datetime.timezone.utc)


def out(name):
    return os.path.join(HERE, name)


def letter(pages=2):
    """An official letter (Decree 30 layout, simplified): header, body, signature block."""
    pdf = FPDF(format="A4")
    # Decree 30 Appendix I: top margin 20-25 mm, left 30-35 mm, right 15-20 mm.
    pdf.set_margins(30, 25, 15)
    pdf.set_creation_date(FIXED)
    pdf.set_title("Thông báo kế hoạch triển khai chữ ký số")
    pdf.set_author(AGENCY.title())
    pdf.set_producer("fpdf2 (kyso test corpus)")
    pdf.add_font("Serif", fname=os.path.join(FONTS, "LiberationSerif-Regular.ttf"))
    pdf.add_font("Serif", style="B", fname=os.path.join(FONTS, "LiberationSerif-Bold.ttf"))
    for p in range(pages):
        pdf.add_page()
        if p == 0:
            pdf.set_font("Serif", size=13)
            pdf.set_xy(20, 25)
            pdf.cell(80, 6, PROVINCE, align="C")
            pdf.set_font("Serif", "B", size=13)
            pdf.cell(0, 6, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_x(20)
            pdf.cell(80, 6, AGENCY, align="C")
            pdf.cell(0, 6, "Độc lập - Tự do - Hạnh phúc", align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Serif", size=13)
            pdf.set_x(20)
            pdf.cell(80, 8, "Số: 123/TB-SKHCN", align="C")
            pdf.cell(0, 8, "Tỉnh Demo, ngày 02 tháng 01 năm 2026", align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(6)
            pdf.set_font("Serif", "B", size=14)
            pdf.cell(0, 8, "THÔNG BÁO", align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.cell(0, 8, "Về kế hoạch triển khai chữ ký số năm 2026", align="C", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(4)
        pdf.set_font("Serif", size=13)
        pdf.multi_cell(0, 7, (BODY * (3 if p + 1 < pages else 2)).strip(), align="J")
        if p + 1 == pages:
            pdf.ln(8)
            y = pdf.get_y()
            pdf.set_font("Serif", "B", size=12)
            pdf.set_xy(30, y)
            pdf.cell(80, 6, "Nơi nhận:", new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Serif", size=11)
            for line in ["- Như trên;", "- UBND tỉnh (để b/c);", "- Lưu: VT, VP."]:
                pdf.set_x(30)
                pdf.cell(80, 5, line, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Serif", "B", size=13)
            pdf.set_xy(110, y)
            pdf.cell(85, 6, "KT. GIÁM ĐỐC", align="C")
            pdf.set_xy(110, y + 6)
            pdf.cell(85, 6, "PHÓ GIÁM ĐỐC", align="C")
            pdf.set_xy(110, y + 40)
            pdf.cell(85, 6, "Trần Thị Bình", align="C")
        pdf.set_auto_page_break(False)
        pdf.set_font("Serif", size=10)
        pdf.set_xy(0, 285)
        pdf.cell(0, 5, f"Trang {p + 1}/{pages}", align="C")
        pdf.set_auto_page_break(True, margin=20)
    return pdf


def qpdf(*args, deterministic=True):
    det = ["--deterministic-id"] if deterministic else ["--static-id"]
    subprocess.run(["qpdf", *det, *args], check=True)


def scan():
    """An image-only page, as a scanner writes it (one JPEG per page, no text)."""
    from PIL import Image, ImageDraw
    img = Image.new("L", (827, 1169), 250)
    d = ImageDraw.Draw(img)
    r = random.Random(7)
    for y in range(120, 1000, 28):
        x = 90
        while x < 740:
            w = r.randint(20, 90)
            d.rectangle([x, y, x + w, y + 10], fill=r.randint(30, 90))
            x += w + r.randint(8, 16)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=60)
    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED)
    pdf.set_producer("kyso corpus scanner emulation")
    pdf.add_page()
    pdf.image(buf, x=0, y=0, w=210, h=297)
    return pdf


def hybrid(path):
    """A hybrid-reference file (PDF 1.5 §7.5.8.4): a classic xref table for old readers plus
    /XRefStm naming an xref stream for the objects kept in an object stream."""
    content = (b"BT /F1 14 Tf 72 760 Td (Hybrid-reference file) Tj 0 -24 Td "
               b"(KT. GIAM DOC) Tj ET")
    objs = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        3: b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
           b"/Resources << /Font << /F1 5 0 R >> >> >>",
        4: b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    }
    # Object 5 (the font) lives only in object stream 6; classic readers do not see it.
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    header = b"5 0 "
    objstm = header + font
    buf = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offs = {}
    for n in sorted(objs):
        offs[n] = len(buf)
        buf += b"%d 0 obj\n" % n + objs[n] + b"\nendobj\n"
    offs[6] = len(buf)
    buf += (b"6 0 obj\n<< /Type /ObjStm /N 1 /First %d /Length %d >>\nstream\n"
            % (len(header), len(objstm)) + objstm + b"\nendstream\nendobj\n")
    # The xref stream (object 7) covers object 5 (compressed) and itself.
    xs_off = len(buf)
    rows = bytes([2]) + (6).to_bytes(3, "big") + (0).to_bytes(2, "big")
    rows_self = bytes([1]) + xs_off.to_bytes(3, "big") + (0).to_bytes(2, "big")
    data = rows + b"" + rows_self
    buf += (b"7 0 obj\n<< /Type /XRef /Size 8 /W [1 3 2] /Index [5 1 7 1] /Length %d >>\n"
            b"stream\n" % len(data) + data + b"\nendstream\nendobj\n")
    xref_off = len(buf)
    buf += b"xref\n0 8\n0000000000 65535 f \n"
    for n in range(1, 8):
        if n in offs:
            buf += b"%010d 00000 n \n" % offs[n]
        else:
            buf += b"0000000000 00000 f \n"
    buf += (b"trailer\n<< /Size 8 /Root 1 0 R /XRefStm %d >>\nstartxref\n%d\n%%%%EOF\n"
            % (xs_off, xref_off))
    with open(path, "wb") as f:
        f.write(buf)


def incremental(src, dst):
    """Append one incremental update (a new /Info) to a classic-xref file, as editors do."""
    data = open(src, "rb").read()
    startxref = int(re.findall(rb"startxref\s+(\d+)", data)[-1])
    trailer = re.findall(rb"trailer\s*<<(.*?)>>\s*startxref", data, re.S)[-1]
    size = int(re.search(rb"/Size (\d+)", trailer).group(1))
    root = re.search(rb"/Root (\d+ \d+ R)", trailer).group(1)
    if not data.endswith(b"\n"):
        data += b"\n"
    off = len(data)
    info = (b"%d 0 obj\n<< /Title (Updated revision) /Producer (kyso corpus incremental) >>\n"
            b"endobj\n" % size)
    xref = len(data) + len(info)
    tail = (b"xref\n%d 1\n%010d 00000 n \ntrailer\n<< /Size %d /Root %s /Info %d 0 R /Prev %d >>\n"
            b"startxref\n%d\n%%%%EOF\n" % (size, off, size + 1, root, size, startxref, xref))
    open(dst, "wb").write(data + info + tail)


def libreoffice():
    if shutil.which("soffice") is None or os.environ.get("LO") != "1":
        print("libreoffice.pdf: kept (set LO=1 with LibreOffice installed to rebuild)")
        return
    paras = "".join(f"<text:p text:style-name='P'>{t}</text:p>" for t in [
        PROVINCE, AGENCY, "Số: 45/KH-SKHCN", "KẾ HOẠCH", BODY, BODY,
        "KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "", "", "", "Trần Thị Bình"])
    fodt = f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"
 xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0"
 office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.text">
 <office:font-face-decls><style:font-face style:name="Liberation Serif"
  svg:font-family="'Liberation Serif'" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0"/></office:font-face-decls>
 <office:automatic-styles><style:style style:name="P" style:family="paragraph">
  <style:text-properties style:font-name="Liberation Serif" fo:font-size="13pt"/></style:style>
 </office:automatic-styles>
 <office:body><office:text>{paras}</office:text></office:body></office:document>"""
    with tempfile.TemporaryDirectory() as t:
        src = os.path.join(t, "libreoffice.fodt")
        open(src, "w", encoding="utf-8").write(fodt)
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{t}/profile",
                        "--convert-to", "pdf", "--outdir", t, src], check=True,
                       stdout=subprocess.DEVNULL)
        shutil.copy(os.path.join(t, "libreoffice.pdf"), out("libreoffice.pdf"))


def main():
    letter().output(out("letter-classic.pdf"))
    letter(pages=1).output(out("one-page.pdf"))
    qpdf("--object-streams=generate", out("letter-classic.pdf"), out("letter-objstm.pdf"))
    qpdf("--linearize", out("letter-classic.pdf"), out("letter-linearized.pdf"))
    qpdf("--object-streams=generate", "--force-version=2.0", out("letter-classic.pdf"),
         out("letter-pdf20.pdf"))
    for deg in (90, 180, 270):
        qpdf(f"--rotate=+{deg}", out("one-page.pdf"), out(f"rotated-{deg}.pdf"))
    hybrid(out("hybrid.pdf"))
    incremental(out("letter-classic.pdf"), out("letter-incremental.pdf"))
    scan().output(out("scan.pdf"))
    libreoffice()
    # Refused inputs.
    qpdf("--encrypt", "user", "owner", "256", "--", out("one-page.pdf"), out("bad-encrypted.pdf"),
         deterministic=False)
    data = open(out("one-page.pdf"), "rb").read()
    open(out("bad-truncated.pdf"), "wb").write(data[: len(data) // 2])
    broken = re.sub(rb"startxref\s+\d+", b"startxref\n999999", data)
    broken = broken.replace(b"xref\n0 ", b"xref\nX ")
    open(out("bad-broken-xref.pdf"), "wb").write(broken)
    open(out("bad-not-a-pdf.pdf"), "wb").write(b"Day khong phai tep PDF.\n")
    for name in sorted(os.listdir(HERE)):
        if name.endswith(".pdf"):
            print(f"{name:28} {os.path.getsize(out(name)):8} bytes")


if __name__ == "__main__":
    sys.exit(main())
