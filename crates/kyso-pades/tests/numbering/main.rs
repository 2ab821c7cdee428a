//! Issue 17 item 4: number and date filled after the personal signature, then sealed.
//! The format step, the certification P=2 personal signature, the clerk's fill, the
//! organization signature locking the fields; kyso's change analysis, its verdict and pyHanko
//! (strict) on the result; tampered fills refused by both.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use kyso_pades::numbering::{self, DATE_FIELD, NUMBER_FIELD};
use kyso_pades::revisions::{changes_after, ChangeReport, Verdict};
use kyso_pades::{sign_bytes, SignOptions};
use kyso_pdf::compose::{Align, Block, Composer, Margins, Style};
use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Document, Limits, MemSource, Object};
use kyso_x509::Cert;
use time::macros::{date, datetime};

#[path = "../support/mod.rs"]
mod support;
use support::{TestCa, TestSigner};

/// One root, a leader (personal) and the agency (organization: CN = O).
struct Pki {
    root_pem: String,
    leader: TestSigner,
    agency: TestSigner,
    stranger: TestSigner,
}

fn pki() -> Pki {
    let ca = TestCa::new("Numbering Test Root");
    let agency = "Sở Khoa học và Công nghệ tỉnh Hồng Lam";
    Pki {
        root_pem: ca.pem.clone(),
        leader: ca.issue("Trần Minh Quân", None, false),
        agency: ca.issue(agency, Some(agency), false),
        stranger: ca.issue("Người Lạ", None, false),
    }
}

fn opts() -> SignOptions {
    let mut o = SignOptions::new(datetime!(2026-12-06 02:30:05 UTC));
    o.durable = false;
    o
}

/// A Decree 30 draft awaiting its number and date.
fn draft(number_line: &str, date_line: &str) -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    let center = |size: f64| Style::new(size).align(Align::Center).spacing(1.15);
    let agency = Block::new()
        .text("UBND TỈNH HỒNG LAM", &center(12.0))
        .text("SỞ KHOA HỌC VÀ CÔNG NGHỆ", &center(12.0).bold())
        .rule(25.0, Align::Center);
    let nation = Block::new()
        .text("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", &center(12.0).bold())
        .text("Độc lập - Tự do - Hạnh phúc", &center(13.0).bold())
        .rule(50.0, Align::Center);
    c.columns_of(&agency, &nation, 0.4).unwrap();
    c.spacer(2.0);
    c.columns(
        (number_line, &center(13.0)),
        (date_line, &center(13.0).italic()),
        0.4,
    )
    .unwrap();
    c.spacer(6.0);
    c.paragraph("QUYẾT ĐỊNH", &center(14.0).bold()).unwrap();
    c.paragraph(
        "Về việc ban hành quy chế sử dụng chữ ký số chuyên dùng công vụ",
        &Style::new(14.0),
    )
    .unwrap();
    c.spacer(10.0);
    let recipients = Block::new()
        .text("Nơi nhận:", &Style::new(12.0).bold())
        .text("- Như trên;", &Style::new(11.0))
        .text("- Lưu: VT.", &Style::new(11.0));
    let signer = Block::new()
        .text("GIÁM ĐỐC", &center(14.0).bold())
        .space(30.0)
        .text("Trần Minh Quân", &center(14.0).bold());
    c.columns_of(&recipients, &signer, 0.45).unwrap();
    c.finish(&Default::default()).unwrap()
}

fn standard_draft() -> Vec<u8> {
    draft(
        "Số: ......../QĐ-SKHCN",
        "Hồng Lam, ngày ...... tháng ...... năm 2026",
    )
}

/// The whole flow: (formatted, personally signed, filled, sealed).
fn flow(p: &Pki) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let (formatted, places) = numbering::place_fields_bytes(&standard_draft()).unwrap();
    assert!(
        places.number.from_text && places.date.from_text,
        "{places:?}"
    );
    let personal = numbering::personal_certification(opts());
    let signed = sign_bytes(&formatted, &personal, &p.leader, None).unwrap();
    let filled = numbering::fill_bytes(&signed, "15/QĐ-SKHCN", date!(2026 - 12 - 06)).unwrap();
    let org = numbering::organization_signature(opts());
    let sealed = sign_bytes(&filled, &org, &p.agency, None).unwrap();
    (formatted, signed, filled, sealed)
}

fn signed_ends(pdf: &[u8]) -> Vec<u64> {
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(MemSource::new(pdf.to_vec()))).unwrap();
    reports
        .iter()
        .map(|r| {
            let [_, _, c, d] = r.signature.byte_range.unwrap();
            c + d
        })
        .collect()
}

fn changes(pdf: &[u8], i: usize) -> ChangeReport {
    let end = signed_ends(pdf)[i];
    changes_after(
        Arc::new(MemSource::new(pdf.to_vec())),
        end,
        Limits::default(),
    )
    .unwrap()
}

fn codes(r: &ChangeReport, allowed: bool) -> Vec<&'static str> {
    let mut c: Vec<_> = r
        .changes
        .iter()
        .filter(|c| c.allowed == allowed)
        .map(|c| c.code)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// pyHanko's strict validation of each signature of `pdf`, `root_pem` the only trust anchor:
/// `field intact valid trusted bottom_line docmdp modification_level docmdp_ok coverage`.
fn pyhanko(dir: &Path, name: &str, pdf: &[u8], root_pem: &str) -> Option<Vec<Vec<String>>> {
    let script = r#"
import sys
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
root = load_cert_from_pemder(sys.argv[1])
with open(sys.argv[2], 'rb') as f:
    r = PdfFileReader(f, strict=True)
    for s in r.embedded_signatures:
        st = validate_pdf_signature(s, ValidationContext(trust_roots=[root], allow_fetching=False))
        lvl = st.modification_level
        d = s.docmdp_level
        print(s.field_name, st.intact, st.valid, st.trusted, st.bottom_line,
              None if d is None else int(d.value),
              None if lvl is None else lvl.name, st.docmdp_ok, st.coverage.name)
"#;
    if !kyso_testkit::need_python("pyhanko") {
        return None;
    }
    let file = dir.join(name);
    std::fs::write(&file, pdf).unwrap();
    let root = dir.join("root.pem");
    std::fs::write(&root, root_pem).unwrap();
    let out = kyso_testkit::run(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(&root)
            .arg(&file),
    )
    .ok_or_fail("pyHanko validation")?;
    let rows: Vec<Vec<String>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split(' ').map(str::to_owned).collect())
        .collect();
    assert!(!rows.is_empty(), "pyHanko found no signature in {name}");
    Some(rows)
}

#[test]
fn the_fields_sit_between_the_label_and_the_notation_and_over_the_date_phrase() {
    let standard = standard_draft();
    let doc = Document::open(Arc::new(MemSource::new(standard)), Limits::default()).unwrap();
    let page = doc.pages().unwrap().remove(0);
    let lines = kyso_pdf::text::page_text(&doc, 0).unwrap().lines;
    let word = |t: &str| {
        lines
            .iter()
            .flat_map(|l| &l.words)
            .find(|w| w.text == t)
            .unwrap_or_else(|| panic!("no word {t:?}"))
            .bbox
    };
    let places = numbering::locate(&doc, &page).unwrap();
    let so = word("Số:");
    let notation = word("......../QĐ-SKHCN");
    let n = places.number.rect;
    assert!(places.number.from_text);
    assert!(n[0] >= so[2] && n[0] - so[2] < 3.0, "{n:?} after {so:?}");
    assert!(
        n[2] > notation[0] && n[2] < notation[2],
        "{n:?} ends at the slash of {notation:?}"
    );
    assert!((places.number.size_pt - 13.0).abs() < 0.01);
    let ngay = word("ngày");
    let year = word("2026");
    let d = places.date.rect;
    assert!(
        d[0] < ngay[0] && ngay[0] - d[0] < 3.0,
        "{d:?} starts at {ngay:?}"
    );
    assert!(d[2] >= year[2], "{d:?} reaches the year {year:?}");
    assert!(d[1] <= ngay[1] && d[3] >= ngay[3]);

    // A blank number ("Số:        /QĐ") and a date without the year's digits.
    let other = draft(
        "Số:           /QĐ-SKHCN",
        "Hồng Lam, ngày     tháng     năm",
    );
    let doc = Document::open(Arc::new(MemSource::new(other)), Limits::default()).unwrap();
    let page = doc.pages().unwrap().remove(0);
    let p2 = numbering::locate(&doc, &page).unwrap();
    assert!(p2.number.from_text && p2.date.from_text, "{p2:?}");
    assert!(p2.number.rect[2] - p2.number.rect[0] > 8.0);
    assert!(
        p2.date.rect[2] - p2.date.rect[0] > 80.0,
        "room for the year: {p2:?}"
    );
}

#[test]
fn without_the_lines_the_fields_go_to_the_decree_30_positions() {
    let blank = kyso_pdf::writer::classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>",
        "<< /Type /Page /Parent 2 0 R >>",
    ]);
    let (out, places) = numbering::place_fields_bytes(&blank).unwrap();
    assert!(!places.number.from_text && !places.date.from_text);
    assert!(places.number.rect[2] < places.date.rect[0]);
    assert_eq!(places.number.rect[1], places.date.rect[1]);
    // The two fields exist, empty, and the prefix is the draft.
    assert!(out.starts_with(&blank));
    let issued = numbering::issued_in(Arc::new(MemSource::new(out)), Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(issued.number, None);
    assert_eq!(issued.date, None);
}

#[test]
fn fields_are_placed_once_and_only_before_signing() {
    let p = pki();
    let (formatted, signed, ..) = flow(&p);
    assert!(matches!(
        numbering::place_fields_bytes(&formatted),
        Err(kyso_pades::Error::FieldExists(_))
    ));
    assert!(matches!(
        numbering::place_fields_bytes(&signed),
        Err(kyso_pades::Error::Structure(_))
    ));
    // A certification must be the first signature.
    let first = sign_bytes(&formatted, &opts(), &p.stranger, None).unwrap();
    assert!(sign_bytes(
        &first,
        &numbering::personal_certification(opts()),
        &p.leader,
        None
    )
    .is_err());
}

#[test]
fn kyso_calls_the_fill_form_filling_and_reports_the_number_and_date() {
    let p = pki();
    let (_, signed, filled, sealed) = flow(&p);
    assert!(filled.starts_with(&signed) && sealed.starts_with(&filled));

    // The personal signature: a certification with P=2; the fill and the seal are allowed.
    let r = changes(&sealed, 0);
    assert_eq!(r.docmdp, Some(2));
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:?}", r.changes);
    assert!(
        codes(&r, true).contains(&"FORM_FILLING"),
        "{:?}",
        codes(&r, true)
    );
    assert!(codes(&r, true).contains(&"NEW_SIGNATURE_FIELD"));
    let filled_fields: Vec<&str> = r
        .changes
        .iter()
        .filter(|c| c.code == "FORM_FILLING")
        .map(|c| c.detail.as_str())
        .collect();
    assert!(filled_fields.iter().any(|d| d.contains(NUMBER_FIELD)));
    assert!(filled_fields.iter().any(|d| d.contains(DATE_FIELD)));
    // The organization signature covers the whole file.
    let r = changes(&sealed, 1);
    assert!(r.covers_whole_file && r.changes.is_empty());

    // The verdict carries the number and date.
    let mut trust = kyso_x509::path::TrustStore::new();
    trust.add(
        Cert::from_pem_chain(p.root_pem.as_bytes())
            .unwrap()
            .remove(0),
    );
    let vopts = kyso_pades::validate::ValidateOptions::new(trust, datetime!(2026-12-07 00:00 UTC));
    let v = kyso_pades::validate::validate(Arc::new(MemSource::new(sealed)), &vopts).unwrap();
    for s in &v.signatures {
        assert!(s.intact, "{}", s.field);
        let c = s.changes.as_ref().unwrap();
        assert_eq!(
            c.verdict,
            Verdict::AllowedOnly,
            "{}: {:?}",
            s.field,
            c.changes
        );
    }
    let n = v.numbering.unwrap();
    assert_eq!(n.number.as_deref(), Some("15/QĐ-SKHCN"));
    assert_eq!(n.date_text.as_deref(), Some("ngày 06 tháng 12 năm 2026"));
    assert_eq!(n.date, Some(date!(2026 - 12 - 06)));
    // Before the fill, the fields are there and empty.
    let v = kyso_pades::validate::validate(Arc::new(MemSource::new(signed)), &vopts).unwrap();
    let n = v.numbering.unwrap();
    assert_eq!((n.number, n.date), (None, None));
}

#[test]
fn the_fill_changes_only_the_two_fields_and_is_refused_twice() {
    let p = pki();
    let (_, signed, filled, sealed) = flow(&p);
    let before = Document::open(Arc::new(MemSource::new(signed)), Limits::default()).unwrap();
    let after =
        Document::open(Arc::new(MemSource::new(filled.clone())), Limits::default()).unwrap();
    let changed: Vec<u32> = after
        .xref()
        .iter()
        .filter(|(n, e)| before.xref().get(n) != Some(*e))
        .map(|(n, _)| *n)
        .filter(|n| before.xref().contains_key(n))
        .collect();
    assert_eq!(
        changed.len(),
        2,
        "only the two field objects are redefined: {changed:?}"
    );
    assert!(numbering::fill_bytes(&filled, "16", date!(2026 - 12 - 07)).is_err());
    assert!(numbering::fill_bytes(&sealed, "16", date!(2026 - 12 - 07)).is_err());
    for bad in ["", "  ", "1\n2", &"9".repeat(65)] {
        assert!(numbering::fill_bytes(&signed_only(&p), bad, date!(2026 - 12 - 06)).is_err());
    }
}

fn signed_only(p: &Pki) -> Vec<u8> {
    let (formatted, _) = numbering::place_fields_bytes(&standard_draft()).unwrap();
    sign_bytes(
        &formatted,
        &numbering::personal_certification(opts()),
        &p.leader,
        None,
    )
    .unwrap()
}

/// The clerk's update also redefines the page's content stream (a tampered fill).
fn fill_and_change_content(signed: &[u8]) -> Vec<u8> {
    let filled = numbering::fill_bytes(signed, "15/QĐ-SKHCN", date!(2026 - 12 - 06)).unwrap();
    let doc = Document::open(Arc::new(MemSource::new(filled.clone())), Limits::default()).unwrap();
    let page = doc.pages().unwrap().remove(0);
    let Some(Object::Ref(contents)) = page.dict.get("Contents").cloned() else {
        panic!("page without a content reference")
    };
    let mut u = IncrementalUpdate::new(&doc);
    u.set(
        contents,
        Object::Stream(kyso_pdf::Stream {
            dict: kyso_pdf::Dict::new(),
            data: kyso_pdf::StreamData::Owned(
                b"BT /F1 12 Tf 72 720 Td (Noi dung khac) Tj ET".to_vec(),
            ),
        }),
    );
    let (bytes, _) = u.serialize(filled.len() as u64).unwrap();
    [filled, bytes].concat()
}

#[test]
fn a_fill_that_also_changes_page_content_is_refused_by_kyso_and_pyhanko() {
    let p = pki();
    let (_, signed, ..) = flow(&p);
    let tampered = fill_and_change_content(&signed);
    let sealed = sign_bytes(
        &tampered,
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    let r = changes(&sealed, 0);
    assert_eq!(r.verdict, Verdict::Disallowed);
    assert!(
        codes(&r, false).contains(&"PAGE_CONTENT_CHANGED"),
        "{:?}",
        r.changes
    );
    let dir = tempfile::tempdir().unwrap();
    if let Some(v) = pyhanko(dir.path(), "tampered.pdf", &sealed, &p.root_pem) {
        // intact, but not valid as a whole: the modification is beyond form filling.
        assert_eq!(v[0][1], "True", "{v:?}");
        assert_eq!(v[0][4], "False", "{v:?}");
        assert_ne!(v[0][7], "True", "{v:?}");
    }
}

#[test]
fn changing_the_number_after_the_seal_is_refused_by_kyso_and_pyhanko() {
    let p = pki();
    let (_, _, _, sealed) = flow(&p);
    // A second fill after the seal: the fields are locked by the organization signature.
    let doc = Document::open(Arc::new(MemSource::new(sealed.clone())), Limits::default()).unwrap();
    let f = doc
        .resolve_dict(&Object::Ref(field_ref(&doc, NUMBER_FIELD)), "number field")
        .unwrap();
    let mut f2 = f.clone();
    f2.set("V", kyso_pdf::writer::text_string("99/QĐ-SKHCN"));
    let mut u = IncrementalUpdate::new(&doc);
    u.set(field_ref(&doc, NUMBER_FIELD), f2);
    let (bytes, _) = u.serialize(sealed.len() as u64).unwrap();
    let changed = [sealed, bytes].concat();
    let r = changes(&changed, 1);
    assert_eq!(r.verdict, Verdict::Disallowed, "{:?}", r.changes);
    assert!(r
        .changes
        .iter()
        .any(|c| c.code == "FORM_FILLING" && !c.allowed && c.detail.contains("locked")));
    let dir = tempfile::tempdir().unwrap();
    if let Some(v) = pyhanko(dir.path(), "relocked.pdf", &changed, &p.root_pem) {
        assert_eq!(v[1][1], "True", "{v:?}");
        assert_eq!(v[1][4], "False", "{v:?}");
    }
}

fn field_ref(doc: &Document, name: &str) -> kyso_pdf::ObjRef {
    let catalog = doc.catalog().unwrap();
    let form = doc
        .resolve_dict(catalog.get("AcroForm").unwrap(), "AcroForm")
        .unwrap();
    let fields = doc.resolve(form.get("Fields").unwrap()).unwrap();
    for f in fields.as_array().unwrap() {
        let r = f.as_ref().unwrap();
        let d = doc.resolve_dict(f, "field").unwrap();
        if d.get("T").and_then(Object::as_string) == Some(name.as_bytes()) {
            return r;
        }
    }
    panic!("no field {name}")
}

#[test]
fn pyhanko_strict_accepts_the_sealed_document_with_the_fill_as_form_filling() {
    let p = pki();
    let (_, _, _, sealed) = flow(&p);
    let dir = tempfile::tempdir().unwrap();
    let Some(v) = pyhanko(dir.path(), "sealed.pdf", &sealed, &p.root_pem) else {
        return;
    };
    assert_eq!(v.len(), 2, "{v:?}");
    for s in &v {
        assert_eq!(&s[1..5], ["True", "True", "True", "True"], "{v:?}");
    }
    // The personal signature: certified P=2, the fill and the seal are form filling.
    assert_eq!(&v[0][5..8], ["2", "FORM_FILLING", "True"], "{v:?}");
    assert_eq!(v[1][8], "ENTIRE_FILE", "{v:?}");
}

// ---------------------------------------------------------------------------------------------
// The server's upload check (issue 17 item 3).

use kyso_pades::upload::{check_upload, ExpectedSignature, Step, UploadRefusal};

fn seal_step() -> Step {
    Step::Seal {
        number: Some("15/QĐ-SKHCN".into()),
        date: Some(date!(2026 - 12 - 06)),
    }
}

fn expect(who: &TestSigner, step: Step) -> ExpectedSignature {
    ExpectedSignature::new(vec![who.cert.clone()], step)
}

#[test]
fn upload_of_each_step_from_kyso_signer_is_accepted() {
    let p = pki();
    let (formatted, signed, _, sealed) = flow(&p);
    let ok = check_upload(&formatted, &signed, &expect(&p.leader, Step::Personal)).unwrap();
    assert_eq!(ok.certified, Some(2));
    assert_eq!(ok.revisions_added, 1);
    assert_eq!(ok.signer.der(), p.leader.cert.der());
    let n = ok.numbering.unwrap();
    assert_eq!((n.number, n.date), (None, None));

    let ok = check_upload(&signed, &sealed, &expect(&p.agency, seal_step())).unwrap();
    assert_eq!(ok.certified, None);
    assert_eq!(ok.revisions_added, 2, "the fill and the signature");
    assert!(ok.changes.contains(&"FORM_FILLING"), "{:?}", ok.changes);
    let n = ok.numbering.unwrap();
    assert_eq!(n.number.as_deref(), Some("15/QĐ-SKHCN"));
    assert_eq!(n.date, Some(date!(2026 - 12 - 06)));
    // Without expected values, any filled number and date will do.
    let any = Step::Seal {
        number: None,
        date: None,
    };
    check_upload(&signed, &sealed, &expect(&p.agency, any)).unwrap();

    // An approval signature (what another signing service makes) is accepted as well.
    let approval = sign_bytes(&formatted, &opts(), &p.leader, None).unwrap();
    let ok = check_upload(&formatted, &approval, &expect(&p.leader, Step::Personal)).unwrap();
    assert_eq!(ok.certified, None);
}

#[test]
fn uploads_are_refused_with_the_reason() {
    let p = pki();
    let (formatted, signed, filled, sealed) = flow(&p);
    let personal = expect(&p.leader, Step::Personal);
    let seal = expect(&p.agency, seal_step());

    // The prefix changed (one byte of the previous version), or nothing was appended.
    let mut changed = signed.clone();
    changed[20] ^= 0x01;
    assert_eq!(
        check_upload(&formatted, &changed, &personal).unwrap_err(),
        UploadRefusal::PrefixChanged
    );
    assert_eq!(
        check_upload(&formatted, &formatted, &personal).unwrap_err(),
        UploadRefusal::PrefixChanged
    );
    // Filled but not sealed: no new signature.
    assert_eq!(
        check_upload(&signed, &filled, &seal).unwrap_err(),
        UploadRefusal::NoNewSignature
    );
    // Two signatures at once.
    let twice = sign_bytes(&sealed, &opts(), &p.agency, None).unwrap();
    assert_eq!(
        check_upload(&signed, &twice, &seal).unwrap_err(),
        UploadRefusal::TooManySignatures(2)
    );
    // Someone else's key.
    assert!(matches!(
        check_upload(&formatted, &signed, &expect(&p.stranger, Step::Personal)).unwrap_err(),
        UploadRefusal::WrongSigner { .. }
    ));
    // The signature value damaged.
    let reports =
        kyso_pades::verify::verify_integrity(Arc::new(MemSource::new(sealed.clone()))).unwrap();
    let value = &reports.last().unwrap().cms.as_ref().unwrap().signature;
    let hex: String = value.iter().map(|b| format!("{b:02X}")).collect();
    let at = sealed
        .windows(hex.len())
        .position(|w| w == hex.as_bytes())
        .unwrap()
        + hex.len() / 2;
    let mut broken = sealed.clone();
    broken[at] = if broken[at] == b'0' { b'1' } else { b'0' };
    assert!(matches!(
        check_upload(&signed, &broken, &seal).unwrap_err(),
        UploadRefusal::InvalidSignature { .. }
    ));
    // Bytes after the signature.
    let trailing = [sealed.clone(), b"1 0 obj\n(x)\nendobj\n".to_vec()].concat();
    assert_eq!(
        check_upload(&signed, &trailing, &seal).unwrap_err(),
        UploadRefusal::NotWholeFile
    );
    // A tampered fill: page content changed in the clerk's update.
    let tampered = sign_bytes(
        &fill_and_change_content(&signed),
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    match check_upload(&signed, &tampered, &seal).unwrap_err() {
        UploadRefusal::DisallowedChange { codes, .. } => {
            assert!(codes.contains(&"PAGE_CONTENT_CHANGED"), "{codes:?}")
        }
        other => panic!("{other:?}"),
    }
    // Sealed without the fill, or with another number than the register's.
    let unfilled = sign_bytes(
        &signed,
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    assert!(matches!(
        check_upload(&signed, &unfilled, &seal).unwrap_err(),
        UploadRefusal::WrongNumbering { .. }
    ));
    let other_number = Step::Seal {
        number: Some("16/QĐ-SKHCN".into()),
        date: None,
    };
    assert!(matches!(
        check_upload(&signed, &sealed, &expect(&p.agency, other_number)).unwrap_err(),
        UploadRefusal::WrongNumbering { .. }
    ));
    // A certification forbidding every change (P=1) would forbid the seal.
    let mut locked = opts();
    locked.certify = Some(kyso_pades::mdp::DocMdp::NoChanges);
    let p1 = sign_bytes(&formatted, &locked, &p.leader, None).unwrap();
    assert_eq!(
        check_upload(&formatted, &p1, &personal).unwrap_err(),
        UploadRefusal::WrongCertification(1)
    );
}

/// A formatted draft with a third text field ("ghi_chu") the leader's signature covers.
fn formatted_with_note() -> Vec<u8> {
    let (formatted, _) = numbering::place_fields_bytes(&standard_draft()).unwrap();
    let doc = Document::open(
        Arc::new(MemSource::new(formatted.clone())),
        Limits::default(),
    )
    .unwrap();
    let page = doc.pages().unwrap().remove(0);
    let mut u = IncrementalUpdate::new(&doc);
    let program = kyso_pdf::font::FontProgram::liberation_serif_regular().unwrap();
    let mut emb = kyso_pdf::font::FontEmbedder::new(&program);
    let st = kyso_pdf::textfield::FieldStyle {
        size_pt: 12.0,
        align: kyso_pdf::appearance::Align::Left,
        background: None,
    };
    let ap = kyso_pdf::textfield::text_appearance(&mut u, &mut emb, 100.0, 14.0, "", &st).unwrap();
    let note = u.add(kyso_pdf::textfield::text_field(
        "ghi_chu",
        page.id,
        [300.0, 60.0, 400.0, 74.0],
        &st,
        None,
        ap,
    ));
    let mut page_dict = page.dict.clone();
    let mut annots = page_dict
        .get("Annots")
        .unwrap()
        .as_array()
        .unwrap()
        .to_vec();
    annots.push(Object::Ref(note));
    page_dict.set("Annots", Object::Array(annots));
    u.set(page.id, page_dict);
    let form_ref = doc
        .catalog()
        .unwrap()
        .get("AcroForm")
        .unwrap()
        .as_ref()
        .unwrap();
    let mut form = doc
        .resolve_dict(&Object::Ref(form_ref), "AcroForm")
        .unwrap();
    let mut fields = form.get("Fields").unwrap().as_array().unwrap().to_vec();
    fields.push(Object::Ref(note));
    form.set("Fields", Object::Array(fields));
    u.set(form_ref, form);
    let (bytes, _) = u.serialize(formatted.len() as u64).unwrap();
    [formatted, bytes].concat()
}

/// An update redefining field `name` of `pdf` through `edit`.
fn edit_field(pdf: &[u8], name: &str, edit: impl FnOnce(&mut kyso_pdf::Dict)) -> Vec<u8> {
    let doc = Document::open(Arc::new(MemSource::new(pdf.to_vec())), Limits::default()).unwrap();
    let r = field_ref(&doc, name);
    let mut d = doc.resolve_dict(&Object::Ref(r), "field").unwrap();
    edit(&mut d);
    let mut u = IncrementalUpdate::new(&doc);
    u.set(r, d);
    let (bytes, _) = u.serialize(pdf.len() as u64).unwrap();
    [pdf.to_vec(), bytes].concat()
}

#[test]
fn the_upload_check_refuses_a_clerk_who_also_fills_another_field() {
    let p = pki();
    let formatted = formatted_with_note();
    let signed = sign_bytes(
        &formatted,
        &numbering::personal_certification(opts()),
        &p.leader,
        None,
    )
    .unwrap();
    let filled = numbering::fill_bytes(&signed, "15/QĐ-SKHCN", date!(2026 - 12 - 06)).unwrap();
    let noted = edit_field(&filled, "ghi_chu", |d| {
        d.set("V", kyso_pdf::writer::text_string("đã sửa"))
    });
    let sealed = sign_bytes(
        &noted,
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    // DocMDP P=2 allows filling any unlocked field: kyso's verifier and pyHanko accept it...
    let r = changes(&sealed, 0);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:?}", r.changes);
    // ...the server does not: the clerk's step fills the number and date only.
    match check_upload(&signed, &sealed, &expect(&p.agency, seal_step())).unwrap_err() {
        UploadRefusal::DisallowedChange { codes, details } => {
            assert_eq!(codes, ["FORM_FILLING"]);
            assert!(details.iter().all(|d| d.contains("ghi_chu")), "{details:?}");
        }
        other => panic!("{other:?}"),
    }
    // Without the note, the same document is accepted.
    let sealed = sign_bytes(
        &filled,
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    check_upload(&signed, &sealed, &expect(&p.agency, seal_step())).unwrap();
}

#[test]
fn a_fill_that_moves_a_field_is_refused_by_kyso_pyhanko_and_the_upload_check() {
    let p = pki();
    let (_, signed, filled, _) = flow(&p);
    let moved = edit_field(&filled, DATE_FIELD, |d| {
        d.set(
            "Rect",
            Object::Array([72, 72, 300, 90].map(Object::Int).to_vec()),
        )
    });
    let sealed = sign_bytes(
        &moved,
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    let r = changes(&sealed, 0);
    assert_eq!(r.verdict, Verdict::Disallowed, "{:?}", r.changes);
    assert!(matches!(
        check_upload(&signed, &sealed, &expect(&p.agency, seal_step())).unwrap_err(),
        UploadRefusal::DisallowedChange { .. }
    ));
    let dir = tempfile::tempdir().unwrap();
    if let Some(v) = pyhanko(dir.path(), "moved.pdf", &sealed, &p.root_pem) {
        assert_eq!(v[0][1], "True", "{v:?}");
        assert_eq!(v[0][4], "False", "{v:?}");
    }
}

#[test]
fn the_decree_30_visible_flow_is_accepted_by_kyso_pyhanko_and_the_upload_check() {
    use kyso_pades::forms::{widget_builder, Position, VisibleForm};
    let p = pki();
    let (formatted, _) = numbering::place_fields_bytes(&standard_draft()).unwrap();
    let personal = numbering::personal_signature(opts());
    let image = kyso_pki::images::signature_png().unwrap();
    let widget = widget_builder(
        VisibleForm::Personal {
            image,
            position: Position::Anchor {
                page: None,
                text: "GIÁM ĐỐC".into(),
            },
        },
        personal.signing_time,
    )
    .unwrap();
    let signed = sign_bytes(&formatted, &personal, &p.leader, Some(widget)).unwrap();
    check_upload(&formatted, &signed, &expect(&p.leader, Step::Personal)).unwrap();
    let filled = numbering::fill_bytes(&signed, "15/QĐ-SKHCN", date!(2026 - 12 - 06)).unwrap();
    let org = numbering::organization_signature(opts());
    let seal = widget_builder(
        VisibleForm::Organization {
            seal: kyso_pki::images::seal_png().unwrap(),
            diameter_mm: None,
            page: None,
            position: None,
        },
        org.signing_time,
    )
    .unwrap();
    let sealed = sign_bytes(&filled, &org, &p.agency, Some(seal)).unwrap();
    let ok = check_upload(&signed, &sealed, &expect(&p.agency, seal_step())).unwrap();
    assert!(
        ok.changes.contains(&"SEAL_OVER_SIGNATURE"),
        "{:?}",
        ok.changes
    );
    let r = changes(&sealed, 0);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:?}", r.changes);
    let dir = tempfile::tempdir().unwrap();
    if let Some(v) = pyhanko(dir.path(), "visible.pdf", &sealed, &p.root_pem) {
        for s in &v {
            assert_eq!(&s[1..5], ["True", "True", "True", "True"], "{v:?}");
        }
        // An approval signature: pyHanko refuses a new visible signature after a
        // certification, even at P=2 (stricter than Acrobat).
        assert_eq!(&v[0][5..8], ["None", "FORM_FILLING", "True"], "{v:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// What the issued letter reads: the number field holds the number alone when the draft prints
// the notation after the dots, the number and notation when it does not; both at the line's
// own size, on its baseline.

/// The first page's text as poppler extracts it (form field appearances included), or `None`
/// when pdftotext is missing (a listed skip; a failure under `KYSO_REQUIRE_ALL=1`).
fn pdftotext(pdf: &[u8], args: &[&str]) -> Option<String> {
    if !kyso_testkit::need("pdftotext", &["-v"]) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("issued.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftotext")
        .args(args)
        .args(["-f", "1", "-l", "1"])
        .arg(&file)
        .arg("-")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    Some(String::from_utf8(out.stdout).unwrap())
}

/// `[xMin, yMin, xMax, yMax]` of the first word `word` in `pdftotext -bbox` output.
fn word_box(bbox_html: &str, word: &str) -> [f64; 4] {
    let line = bbox_html
        .lines()
        .find(|l| l.contains(&format!(">{word}</word>")))
        .unwrap_or_else(|| panic!("no word {word:?} in {bbox_html}"));
    let attr = |name: &str| -> f64 {
        let at = line.find(&format!("{name}=\"")).unwrap() + name.len() + 2;
        let rest = &line[at..];
        rest[..rest.find('"').unwrap()].parse().unwrap()
    };
    [attr("xMin"), attr("yMin"), attr("xMax"), attr("yMax")]
}

fn number_field_value(pdf: &[u8]) -> Option<String> {
    let doc = Document::open(Arc::new(MemSource::new(pdf.to_vec())), Limits::default()).unwrap();
    let f = doc
        .resolve_dict(&Object::Ref(field_ref(&doc, NUMBER_FIELD)), "field")
        .unwrap();
    f.get("V")
        .and_then(Object::as_string)
        .map(|v| String::from_utf8_lossy(v).into_owned())
}

/// `draft` formatted, signed by the leader, filled with `number` on 6 December 2026.
fn issue(p: &Pki, draft: &[u8], number: &str) -> (numbering::Places, Vec<u8>) {
    let (formatted, places) = numbering::place_fields_bytes(draft).unwrap();
    let signed = sign_bytes(
        &formatted,
        &numbering::personal_signature(opts()),
        &p.leader,
        None,
    )
    .unwrap();
    let filled = numbering::fill_bytes(&signed, number, date!(2026 - 12 - 06)).unwrap();
    let sealed = sign_bytes(
        &filled,
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    check_upload(
        &signed,
        &sealed,
        &expect(
            &p.agency,
            Step::Seal {
                number: Some(number.into()),
                date: Some(date!(2026 - 12 - 06)),
            },
        ),
    )
    .unwrap();
    (places, sealed)
}

#[test]
fn with_the_notation_printed_the_field_holds_the_number_alone_and_the_letter_reads_it_once() {
    let p = pki();
    let draft = draft(
        "Số: ......../SKHCN-VP",
        "Demo, ngày ...... tháng ...... năm 2026",
    );
    let (places, sealed) = issue(&p, &draft, "01/SKHCN-VP");
    assert_eq!(places.notation.as_deref(), Some("/SKHCN-VP"));
    assert!((places.number.size_pt - 13.0).abs() < 0.01, "{places:?}");
    // The field holds "01"; the document's number and notation, as read, is the whole.
    assert_eq!(number_field_value(&sealed).as_deref(), Some("01"));
    let issued = numbering::issued_in(Arc::new(MemSource::new(sealed.clone())), Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(issued.number.as_deref(), Some("01/SKHCN-VP"));
    assert_eq!(issued.printed_notation.as_deref(), Some("/SKHCN-VP"));
    assert_eq!(
        issued.date_text.as_deref(),
        Some("ngày 06 tháng 12 năm 2026")
    );
    // The text layer keeps the draft's dots under the field's white background (the format
    // step does not rewrite the draft's content), so poppler reads "01" as a word of its own:
    // on the line of "Số:", at its size, between the label and the printed "/", and the
    // notation once.
    let Some(text) = pdftotext(&sealed, &[]) else {
        return;
    };
    assert_eq!(text.matches("SKHCN-VP").count(), 1, "{text}");
    let boxes = pdftotext(&sealed, &["-bbox"]).unwrap();
    let (so, num) = (word_box(&boxes, "Số:"), word_box(&boxes, "01"));
    let dots = word_box(&boxes, "......../SKHCN-VP");
    assert!(
        (num[1] - so[1]).abs() < 0.5 && (num[3] - so[3]).abs() < 0.5,
        "{num:?} {so:?}"
    );
    assert!(
        num[0] > so[2] && num[2] < dots[2] - 50.0,
        "{num:?} {so:?} {dots:?}"
    );
    let (demo, d12) = (word_box(&boxes, "Demo,"), word_box(&boxes, "12"));
    assert!(
        (d12[3] - d12[1] - (demo[3] - demo[1])).abs() < 0.5,
        "{d12:?} {demo:?}"
    );
}

#[test]
fn without_a_printed_notation_the_field_holds_number_and_notation_at_the_lines_size() {
    let p = pki();
    for line in ["Số: ........................", "Số:"] {
        let draft = draft(line, "Demo, ngày ...... tháng ...... năm 2026");
        let (places, sealed) = issue(&p, &draft, "01/SKHCN-VP");
        assert_eq!(places.notation, None, "{line}");
        assert!(places.number.from_text, "{line}");
        assert_eq!(number_field_value(&sealed).as_deref(), Some("01/SKHCN-VP"));
        let issued =
            numbering::issued_in(Arc::new(MemSource::new(sealed.clone())), Limits::default())
                .unwrap()
                .unwrap();
        assert_eq!(issued.number.as_deref(), Some("01/SKHCN-VP"));
        assert_eq!(issued.printed_notation, None);
        let Some(text) = pdftotext(&sealed, &[]) else {
            return;
        };
        assert_eq!(text.matches("01/SKHCN-VP").count(), 1, "{line}: {text}");
        let boxes = pdftotext(&sealed, &["-bbox"]).unwrap();
        let (so, num) = (word_box(&boxes, "Số:"), word_box(&boxes, "01/SKHCN-VP"));
        assert!(
            (num[1] - so[1]).abs() < 0.5 && (num[3] - so[3]).abs() < 0.5,
            "{line}: {num:?} {so:?}"
        );
        assert!(
            num[0] > so[2] && num[0] - so[2] < 8.0,
            "{line}: {num:?} {so:?}"
        );
    }
}

#[test]
fn a_number_with_another_notation_than_the_printed_one_is_refused() {
    let p = pki();
    let draft = draft(
        "Số: ......../SKHCN-VP",
        "Demo, ngày ...... tháng ...... năm 2026",
    );
    let (formatted, _) = numbering::place_fields_bytes(&draft).unwrap();
    let signed = sign_bytes(&formatted, &opts(), &p.leader, None).unwrap();
    assert!(numbering::fill_bytes(&signed, "01/QĐ-UBND", date!(2026 - 12 - 06)).is_err());
    // The number alone is the number: the notation is printed.
    let filled = numbering::fill_bytes(&signed, "7", date!(2026 - 12 - 06)).unwrap();
    let issued = numbering::issued_in(Arc::new(MemSource::new(filled)), Limits::default())
        .unwrap()
        .unwrap();
    assert_eq!(issued.number.as_deref(), Some("7/SKHCN-VP"));
    // A number/year/notation after a printed "/2026/NĐ-CP" or "/NĐ-CP".
    assert_eq!(
        numbering::number_in_field("12/2026/NĐ-CP", "/2026/NĐ-CP").unwrap(),
        "12"
    );
    assert_eq!(
        numbering::number_in_field("12/2026/NĐ-CP", "/NĐ-CP").unwrap(),
        "12/2026"
    );
    assert!(numbering::number_in_field("/NĐ-CP", "/NĐ-CP").is_err());
    assert!(numbering::same_number("01/SKHCN-VP", " 01/SKHCN-VP"));
    assert!(!numbering::same_number("01/SKHCN-VP", "01/SKHCN-V"));
    assert!(!numbering::same_number("01/SKHCN-VP", "01/skhcn-vp"));
}

#[test]
fn the_upload_check_refuses_a_field_holding_the_notation_the_draft_prints_already() {
    let p = pki();
    let draft = draft(
        "Số: ......../SKHCN-VP",
        "Demo, ngày ...... tháng ...... năm 2026",
    );
    let (formatted, _) = numbering::place_fields_bytes(&draft).unwrap();
    let signed = sign_bytes(&formatted, &opts(), &p.leader, None).unwrap();
    // A fill by another tool putting number and notation in the field: the letter would read
    // "01/SKHCN-VP/SKHCN-VP", and that is what kyso reports and the server refuses.
    let number = edit_field(&signed, NUMBER_FIELD, |d| {
        d.set("V", kyso_pdf::writer::text_string("01/SKHCN-VP"))
    });
    let filled = edit_field(&number, DATE_FIELD, |d| {
        d.set(
            "V",
            kyso_pdf::writer::text_string("ngày 06 tháng 12 năm 2026"),
        )
    });
    let sealed = sign_bytes(
        &filled,
        &numbering::organization_signature(opts()),
        &p.agency,
        None,
    )
    .unwrap();
    let seal = Step::Seal {
        number: Some("01/SKHCN-VP".into()),
        date: Some(date!(2026 - 12 - 06)),
    };
    match check_upload(&signed, &sealed, &expect(&p.agency, seal)).unwrap_err() {
        UploadRefusal::WrongNumbering { found } => assert_eq!(
            found.unwrap().number.as_deref(),
            Some("01/SKHCN-VP/SKHCN-VP")
        ),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A scan digitised: the copy stamp is drawn over the scanned page (its image covers the page),
// accepted only where the server allows it and only over a version no signature covers.

/// A one-page A4 PDF whose page is one grey image, as a scanner makes it.
fn scan_pdf() -> Vec<u8> {
    let pixels = [0x80u8; 16];
    let content = b"q 595 0 0 842 0 0 cm /Im1 Do Q\n";
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    let mut object = |out: &mut Vec<u8>, body: &[u8]| {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", offsets.len()).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    };
    object(&mut out, b"<< /Type /Catalog /Pages 2 0 R >>");
    object(&mut out, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
    object(
        &mut out,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] \
          /Resources << /XObject << /Im1 5 0 R >> >> /Contents 4 0 R >>",
    );
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(content);
    stream.extend_from_slice(b"endstream");
    object(&mut out, &stream);
    let mut image = format!(
        "<< /Type /XObject /Subtype /Image /Width 4 /Height 4 /ColorSpace /DeviceGray \
         /BitsPerComponent 8 /Length {} >>\nstream\n",
        pixels.len()
    )
    .into_bytes();
    image.extend_from_slice(&pixels);
    image.extend_from_slice(b"\nendstream");
    object(&mut out, &image);
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", offsets.len() + 1).as_bytes(),
    );
    for o in &offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            offsets.len() + 1
        )
        .as_bytes(),
    );
    out
}

/// `pdf` with the agency's SAO Y copy stamp (copy `number`) signed by `key`.
fn copy_stamped(pdf: &[u8], key: &TestSigner, number: &str) -> Vec<u8> {
    use kyso_pades::forms::{widget_builder, CopyForm, VisibleForm};
    let o = opts();
    let stamp = widget_builder(
        VisibleForm::Copy {
            form: CopyForm::Certified,
            org_name: "Sở Khoa học và Công nghệ".into(),
            number: Some(number.into()),
            place: None,
        },
        o.signing_time,
    )
    .unwrap();
    sign_bytes(pdf, &o, key, Some(stamp)).unwrap()
}

#[test]
fn a_copy_stamp_may_cover_a_scan_only_when_allowed_and_no_signature_covers_it() {
    let p = pki();
    let scan = scan_pdf();
    let digitised = copy_stamped(&scan, &p.agency, "01/SY");
    let strict = expect(&p.agency, Step::Attachment);
    let mut over_scan = strict.clone();
    over_scan.may_cover_unsigned = true;

    // By default a stamp over the page's image is an overlay, as for any upload.
    match check_upload(&scan, &digitised, &strict).unwrap_err() {
        UploadRefusal::DisallowedChange { codes, .. } => {
            assert_eq!(codes, ["ANNOTATION_OVERLAYS_CONTENT"])
        }
        other => panic!("{other:?}"),
    }
    // Allowed for a scan: accepted, the coverage said.
    let ok = check_upload(&scan, &digitised, &over_scan).unwrap();
    assert!(
        ok.changes.contains(&"NEW_SIGNATURE_FIELD"),
        "{:?}",
        ok.changes
    );
    // The digitised copy verifies as one signature over the whole file, nothing after it.
    let r = changes(&digitised, 0);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:?}", r.changes);

    // Over a version a signature covers, the allowance does not apply: the second stamp
    // would paint over what the first signature covers.
    let again = copy_stamped(&digitised, &p.agency, "02/SL");
    match check_upload(&digitised, &again, &over_scan).unwrap_err() {
        UploadRefusal::DisallowedChange { codes, .. } => {
            assert!(codes.contains(&"ANNOTATION_OVERLAYS_CONTENT"), "{codes:?}")
        }
        other => panic!("{other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    if let Some(v) = pyhanko(dir.path(), "digitised.pdf", &digitised, &p.root_pem) {
        assert_eq!(&v[0][1..5], ["True", "True", "True", "True"], "{v:?}");
    }
}
