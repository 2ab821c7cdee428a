//! Issue 14/3, overlays: an annotation or widget added after a signature that paints over the
//! signed content is a disallowed change (`ANNOTATION_OVERLAYS_CONTENT`); the Decree 30
//! organization seal over the personal signature is the standard form (`SEAL_OVER_SIGNATURE`),
//! reported as such, without a warning — over kyso's personal signature and over pyHanko's.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Dict, Document, Limits, MemSource, Object};
use serde_json::Value;

use crate::common::*;

fn image() -> String {
    pki().join("signature.png").display().to_string()
}

fn seal() -> String {
    pki().join("seal.png").display().to_string()
}

/// The letter signed by its Deputy Director (visible, between the title and the name).
fn personal(dir: &Path) -> PathBuf {
    let out = dir.join("personal.pdf");
    let img = image();
    sign(
        &corpus("letter-classic.pdf"),
        &out,
        "personal2",
        &["--image", &img, "--anchor", "PHÓ GIÁM ĐỐC"],
    );
    out
}

/// The codes of the changes after signature `i`.
fn change_codes(v: &Value, i: usize) -> Vec<String> {
    v["signatures"][i]["changes_after"]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_owned())
        .collect()
}

fn report_text(file: &Path, lang: &str) -> String {
    let out = kyso()
        .arg("verify")
        .arg(file)
        .arg("--trust")
        .arg(root())
        .args(["--lang", lang])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

/// The seal's standard form is said as such in both languages, and no overlap warning.
fn assert_standard_form(file: &Path) {
    let (_, v) = verify_json(file, &root(), &[]);
    let first = &v["signatures"][0];
    assert_ne!(first["changes_after"]["verdict"], "disallowed", "{first:#}");
    let codes = change_codes(&v, 0);
    assert!(
        codes.iter().any(|c| c == "SEAL_OVER_SIGNATURE"),
        "{codes:?}"
    );
    assert!(!codes
        .iter()
        .any(|c| c == "ANNOTATION_OVERLAYS_CONTENT" || c == "NEW_SIGNATURE_OVERLAPS"));
    assert!(
        !first["reasons"]
            .as_array()
            .unwrap()
            .contains(&Value::from("DOCUMENT_MODIFIED")),
        "{first:#}"
    );
    let vi = report_text(file, "vi");
    assert!(vi.contains("đúng thể thức Nghị định 30"), "{vi}");
    assert!(!vi.contains("lưu ý"), "{vi}");
    let en = report_text(file, "en");
    assert!(en.contains("the Decree 30 form"), "{en}");
    assert!(!en.contains("note:"), "{en}");
}

#[test]
fn the_seal_over_a_kyso_personal_signature_is_the_standard_form() {
    let tmp = tempfile::tempdir().unwrap();
    let one = personal(tmp.path());
    let two = tmp.path().join("sealed.pdf");
    let s = seal();
    sign(
        &one,
        &two,
        "organization",
        &["--kind", "organization", "--image", &s],
    );
    assert_standard_form(&two);

    // The same seal signed with a personal certificate is not the organization's seal: it
    // paints over the signature and the title and name lines, a disallowed change.
    let fake = tmp.path().join("fake-seal.pdf");
    sign(
        &one,
        &fake,
        "personal",
        &["--kind", "organization", "--image", &s],
    );
    let (code, v) = verify_json(&fake, &root(), &[]);
    assert_eq!(code, Some(1), "{v:#}");
    assert_eq!(v["signatures"][0]["verdict"], "invalid");
    assert!(
        change_codes(&v, 0)
            .iter()
            .any(|c| c == "ANNOTATION_OVERLAYS_CONTENT"),
        "{v:#}"
    );
}

/// The page (0-based) and `/Rect` of the last signature widget of `file`.
fn last_widget(file: &Path) -> (usize, [f64; 4]) {
    let bytes = std::fs::read(file).unwrap();
    let doc = Document::open(Arc::new(MemSource::new(bytes)), Limits::default()).unwrap();
    let mut found = None;
    for (i, p) in doc.pages().unwrap().iter().enumerate() {
        let Some(a) = p.dict.get("Annots") else {
            continue;
        };
        for w in doc.resolve(a).unwrap().as_array().unwrap_or_default() {
            let d = doc.resolve(w).unwrap();
            if let Some(r) = d.as_dict().and_then(|d| d.get("Rect")) {
                if let Some(r) = doc.rect(r).unwrap() {
                    found = Some((i, r));
                }
            }
        }
    }
    found.unwrap()
}

#[test]
fn the_seal_over_a_pyhanko_visible_signature_is_the_standard_form() {
    if !kyso_testkit::need("pyhanko", &["--version"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // pyHanko signs where kyso would: the blank space between the title and the name.
    let (page, r) = last_widget(&personal(tmp.path()));
    let field = format!(
        "{}/{},{},{},{}/PyHankoSig",
        page + 1,
        r[0].round(),
        r[1].round(),
        r[2].round(),
        r[3].round()
    );
    let py = tmp.path().join("pyhanko.pdf");
    pyhanko_sign(
        &corpus("letter-classic.pdf"),
        &py,
        &pki().join("personal2.p12"),
        PW,
        &field,
        &[],
    );
    let two = tmp.path().join("sealed.pdf");
    let s = seal();
    sign(
        &py,
        &two,
        "organization",
        &["--kind", "organization", "--image", &s],
    );
    assert_standard_form(&two);
}

/// Append an annotation with an appearance at `rect` on page 1.
fn annotate(input: &Path, output: &Path, subtype: &str, rect: [i64; 4]) {
    let bytes = std::fs::read(input).unwrap();
    let doc = Document::open(Arc::new(MemSource::new(bytes.clone())), Limits::default()).unwrap();
    let page = doc.pages().unwrap().remove(0);
    let mut up = IncrementalUpdate::new(&doc);
    let data = b"q 1 1 1 rg 0 0 500 500 re f Q".to_vec();
    let mut ad = Dict::new();
    ad.set("Type", Object::name("XObject"));
    ad.set("Subtype", Object::name("Form"));
    ad.set(
        "BBox",
        Object::Array(vec![0.into(), 0.into(), 500.into(), 500.into()]),
    );
    ad.set("Length", Object::Int(data.len() as i64));
    let ap = up.add(Object::Stream(kyso_pdf::Stream {
        dict: ad,
        data: kyso_pdf::StreamData::Owned(data),
    }));
    let mut apd = Dict::new();
    apd.set("N", Object::Ref(ap));
    let mut a = Dict::new();
    a.set("Type", Object::name("Annot"));
    a.set("Subtype", Object::name(subtype));
    a.set(
        "Rect",
        Object::Array(rect.iter().map(|v| (*v).into()).collect()),
    );
    // A PDF text string in UTF-16BE with its byte order mark.
    let author: Vec<u8> = [0xfe, 0xff]
        .into_iter()
        .chain("Kẻ gian".encode_utf16().flat_map(u16::to_be_bytes))
        .collect();
    a.set("T", Object::string(author));
    a.set("Contents", Object::string(b"Da duyet".to_vec()));
    a.set("AP", apd);
    a.set("P", Object::Ref(page.id));
    let annot = up.add(a);
    let mut pd = page.dict.clone();
    let mut annots = doc
        .resolve(pd.get("Annots").unwrap_or(&Object::Null))
        .unwrap()
        .as_array()
        .unwrap_or_default()
        .to_vec();
    annots.push(Object::Ref(annot));
    pd.set("Annots", Object::Array(annots));
    up.set(page.id, Object::Dict(pd));
    let (tail, _) = up.serialize(bytes.len() as u64).unwrap();
    std::fs::write(output, [bytes, tail].concat()).unwrap();
}

#[test]
fn a_comment_over_the_signed_text_is_invalid_and_one_in_the_margin_is_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let one = personal(tmp.path());
    // The evil annotation: a FreeText whose white box covers the top of page 1.
    let evil = tmp.path().join("evil.pdf");
    annotate(&one, &evil, "FreeText", [0, 300, 595, 842]);
    let (code, v) = verify_json(&evil, &root(), &[]);
    assert_eq!(code, Some(1), "{v:#}");
    let listed = &v["signatures"][0]["changes_after"]["annotations"];
    assert_eq!(listed[0]["subtype"], "FreeText", "{v:#}");
    assert_eq!(listed[0]["code"], "ANNOTATION_OVERLAYS_CONTENT");
    assert_eq!(listed[0]["allowed"], false);
    assert_eq!(listed[0]["author"], "Kẻ gian");
    assert_eq!(listed[0]["pages"], serde_json::json!([1]));
    let vi = report_text(&evil, "vi");
    assert!(
        vi.contains("Chú thích thêm sau khi ký: chữ viết thêm (FreeText), trang 1, người tạo «Kẻ gian», nội dung «Da duyet» — KHÔNG được phép: che lên nội dung đã ký"),
        "{vi}"
    );

    // A square in the bottom margin covers nothing: allowed, and listed for the clerk.
    let margin = tmp.path().join("margin.pdf");
    annotate(&one, &margin, "Square", [5, 5, 30, 20]);
    let (_, v) = verify_json(&margin, &root(), &[]);
    let first = &v["signatures"][0];
    assert_eq!(first["changes_after"]["verdict"], "allowed", "{first:#}");
    assert_eq!(first["changes_after"]["annotations"][0]["allowed"], true);
    assert_eq!(
        first["changes_after"]["annotations"][0]["covers"],
        Value::Null
    );
    let vi = report_text(&margin, "vi");
    assert!(
        vi.contains("khung chữ nhật (Square), trang 1, người tạo «Kẻ gian», nội dung «Da duyet» — được phép, không che nội dung"),
        "{vi}"
    );
}

/// The organization's seal centred on the personal signature covers most of it: not the
/// Decree 30 form (the seal sits over about its left third), so a painting over the signature
/// and its block, a disallowed change.
#[test]
fn a_seal_centred_over_the_whole_signature_is_not_the_standard_form() {
    let tmp = tempfile::tempdir().unwrap();
    let one = personal(tmp.path());
    let (page, r) = last_widget(&one);
    let page = (page + 1).to_string();
    let rect = format!("{},{},{},{}", r[0], r[1], r[2], r[3]);
    let two = tmp.path().join("centred.pdf");
    let s = seal();
    sign(
        &one,
        &two,
        "organization",
        &[
            "--kind",
            "organization",
            "--image",
            &s,
            "--page",
            &page,
            "--rect",
            &rect,
        ],
    );
    let (code, v) = verify_json(&two, &root(), &[]);
    assert_eq!(code, Some(1), "{v:#}");
    let codes = change_codes(&v, 0);
    assert!(
        codes.iter().any(|c| c == "ANNOTATION_OVERLAYS_CONTENT"),
        "{codes:?}"
    );
    assert!(
        !codes.iter().any(|c| c == "SEAL_OVER_SIGNATURE"),
        "{codes:?}"
    );
}

/// Two stamps in the corner of page 1 (an electronic copy of a signed letter, then a copy of
/// that copy by another office): the second goes to the left of the first, in the top margin,
/// instead of painting over it (or over the national motto below it): every signature stays
/// valid.
#[test]
fn a_second_copy_stamp_goes_beside_the_first() {
    let tmp = tempfile::tempdir().unwrap();
    let one = tmp.path().join("signed.pdf");
    sign(&corpus("one-page.pdf"), &one, "personal", &["--invisible"]);
    let copy = tmp.path().join("copy.pdf");
    sign(
        &one,
        &copy,
        "organization",
        &["--kind", "copy", "--copy-form", "sao-y"],
    );
    let (page, first) = last_widget(&copy);
    assert_eq!(page, 0);
    let again = tmp.path().join("copy-of-copy.pdf");
    sign(
        &copy,
        &again,
        "organization",
        &["--kind", "copy", "--copy-form", "sao-luc"],
    );
    let (page, second) = last_widget(&again);
    assert_eq!(page, 0);
    assert!(
        second[2] <= first[0] && second[1] == first[1] && second[2] > second[0],
        "the second stamp {second:?} is left of the first {first:?}, on the same line"
    );
    // Nothing is served for revocation here: indeterminate for that alone, never invalid.
    let (code, v) = verify_json(&again, &root(), &["--offline"]);
    assert_eq!(code, Some(2), "{v:#}");
    let sigs = v["signatures"].as_array().unwrap();
    assert_eq!(sigs.len(), 3, "{v:#}");
    for (i, s) in sigs.iter().enumerate() {
        assert_eq!(s["intact"], true, "{s:#}");
        assert_eq!(
            s["reasons"],
            serde_json::json!(["REVOCATION_UNKNOWN"]),
            "{s:#}"
        );
        let after = &s["changes_after"]["verdict"];
        assert_eq!(after, if i < 2 { "allowed" } else { "none" }, "{s:#}");
    }
}
