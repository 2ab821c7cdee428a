//! Scans as scanner software writes them (img2pdf, then Ghostscript), and the clerk's upload
//! of one (tests incoming_scan.rs, incoming_copies.rs).

use std::path::Path;

use kyso_testkit::run_in;
use serde_json::{json, Value};

/// An A4 page at `dpi`: white paper with a red seal square (PPM), or grey (PGM).
pub fn page(dpi: f64, colour: bool) -> Vec<u8> {
    let w = (210.0 / 25.4 * dpi).round() as usize;
    let h = (297.0 / 25.4 * dpi).round() as usize;
    let mut out = if colour {
        format!("P6 {w} {h} 255\n")
    } else {
        format!("P5 {w} {h} 255\n")
    }
    .into_bytes();
    for y in 0..h {
        for x in 0..w {
            let seal = (w * 4 / 10..w * 6 / 10).contains(&x) && (h / 2..h * 6 / 10).contains(&y);
            match (colour, seal) {
                (true, true) => out.extend_from_slice(&[0xd0, 0x10, 0x10]),
                (true, false) => out.extend_from_slice(&[0xff, 0xff, 0xff]),
                (false, true) => out.push(90),
                (false, false) => out.push(240),
            }
        }
    }
    out
}

/// A scan as scanner software writes it: img2pdf on A4, then Ghostscript's pdfwrite at 1.5.
pub fn scan(dir: &Path, name: &str, image: &[u8], ext: &str) -> Vec<u8> {
    let img = format!("{name}.{ext}");
    std::fs::write(dir.join(&img), image).unwrap();
    let raw = format!("{name}-raw.pdf");
    run_in(dir, "img2pdf", &["--pagesize", "A4", &img, "-o", &raw]);
    let out = format!("{name}.pdf");
    run_in(
        dir,
        "gs",
        &[
            "-q",
            "-dBATCH",
            "-dNOPAUSE",
            "-dSAFER",
            "-sDEVICE=pdfwrite",
            "-dCompatibilityLevel=1.5",
            &format!("-sOutputFile={out}"),
            &raw,
        ],
    );
    std::fs::read(dir.join(out)).unwrap()
}

pub fn upload(agency: i64, number: &str, file: &[u8], scanned: bool) -> Value {
    json!({
        "agency_id": agency,
        "sender_name": "Sở Tài chính tỉnh Bắc",
        "number": number,
        "notation": "STC-NS",
        "doc_date": "2026-05-28",
        "doc_type": "Công văn",
        "subject": format!("Về việc quyết toán, số {number}"),
        "signer": "Giám đốc",
        "file_name": "ban-quet.pdf",
        "scanned": scanned,
        "file_base64": super::app::b64(file),
    })
}
