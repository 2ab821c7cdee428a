//! Times the renderers of this crate and prints the figures of BENCHMARKS.md: the verification
//! report with 1 and 5 signatures, and the 2,000-document register books (outgoing and
//! incoming), each the median of several runs after one warm-up.
//!
//! ```text
//! cargo run --release -p kyso-letters --example render_bench
//! ```

use std::time::{Duration, Instant};

use kyso_i18n::Lang;
use kyso_letters::register::RegisterKind;
use kyso_letters::report::{Check, Indication, SignatureRole, TimeSource};
use kyso_letters::{render_book, render_verification_report};
use kyso_letters::{RegisterBookData, RegisterEntry, ReportData, SignatureReport};
use time::macros::{date, datetime};

fn signature(i: usize) -> SignatureReport {
    SignatureReport {
        signer_name: format!("Nguyễn Văn An {i}"),
        signer_title: "Giám đốc".into(),
        organization: "Sở Khoa học và Công nghệ tỉnh Demo".into(),
        role: SignatureRole::Personal,
        indication: Indication::Indeterminate,
        reasons: vec!["chưa kiểm tra được tình trạng thu hồi chứng thư số".into()],
        integrity: Check::Passed,
        integrity_detail: String::new(),
        signing_time: Some(datetime!(2026-11-23 03:15 UTC)),
        time_source: TimeSource::Claimed,
        revocation: "chưa xác định được: không lấy được CRL/OCSP còn hiệu lực".into(),
        changes: "1 thay đổi trong 1 lần cập nhật sau chữ ký này, đều là thay đổi được phép".into(),
        etsi_indication: "INDETERMINATE".into(),
        etsi_sub_indication: Some("TRY_LATER".into()),
    }
}

fn report(n: usize) -> ReportData {
    ReportData {
        lang: Lang::Vi,
        title: String::new(),
        file_name: "cong-van-12-SKHCN.pdf".into(),
        sha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into(),
        checked_at: datetime!(2026-12-06 03:00 UTC),
        indication: Indication::Indeterminate,
        reasons: vec!["chưa kiểm tra được tình trạng thu hồi chứng thư số".into()],
        facts: vec![("Số, ký hiệu".into(), "12/SKHCN-VP".into())],
        signatures: (1..=n).map(signature).collect(),
    }
}

fn book(kind: RegisterKind) -> RegisterBookData {
    let subject =
        "Về việc báo cáo kết quả thực hiện nhiệm vụ khoa học và công nghệ cấp tỉnh năm 2026";
    let rows = (1..=2000)
        .map(|n| RegisterEntry {
            number: n,
            year: 2026,
            cells: match kind {
                RegisterKind::Outgoing => vec![
                    format!("{n:02}/CV-SKHCN"),
                    "01/04/2026".into(),
                    format!("Công văn: {subject}"),
                    "Trần Văn Bình".into(),
                    "H99.05; H99.10; H99".into(),
                    "VT, VP".into(),
                    "3".into(),
                    "02/04/2026".into(),
                    String::new(),
                    String::new(),
                ],
                RegisterKind::Incoming => vec![
                    "05/03/2026".into(),
                    format!("{n:02}"),
                    "Ủy ban nhân dân tỉnh Demo".into(),
                    format!("{n}/UBND-VP"),
                    "04/03/2026".into(),
                    format!("Công văn: {subject}"),
                    "Phòng Quản lý công nghệ".into(),
                    "06/03/2026".into(),
                    String::new(),
                    String::new(),
                ],
            },
        })
        .collect();
    RegisterBookData {
        agency_name: "Sở Khoa học và Công nghệ".into(),
        managing_agency_name: Some("UBND tỉnh Demo".into()),
        register_name: "Sổ văn bản".into(),
        register_code: "VB".into(),
        from: date!(2026 - 01 - 01),
        to: date!(2026 - 12 - 31),
        made_on: date!(2026 - 12 - 06),
        rows,
    }
}

/// The median of `runs` timed calls of `f` after one warm-up, and the output's size.
fn time<F: FnMut() -> Vec<u8>>(runs: usize, mut f: F) -> (Duration, usize) {
    let size = f().len();
    let mut t: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed()
        })
        .collect();
    t.sort();
    (t.get(runs / 2).copied().unwrap_or_default(), size)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    for n in [1, 5] {
        let data = report(n);
        render_verification_report(&data)?;
        let (d, size) = time(21, || render_verification_report(&data).unwrap_or_default());
        println!(
            "verification report, {n} signature(s): {:.2} ms ({} KiB)",
            d.as_secs_f64() * 1000.0,
            size / 1024
        );
    }
    for kind in [RegisterKind::Outgoing, RegisterKind::Incoming] {
        let data = book(kind);
        render_book(kind, &data)?;
        let (d, size) = time(5, || render_book(kind, &data).unwrap_or_default());
        println!(
            "register book {kind:?}, 2,000 documents: {:.0} ms ({} KiB)",
            d.as_secs_f64() * 1000.0,
            size / 1024
        );
    }
    Ok(())
}
