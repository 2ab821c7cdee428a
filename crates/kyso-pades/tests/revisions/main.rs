#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
//! Changes after signing, as stories: a document is signed with kyso's engine, then someone
//! appends incremental updates — later signatures (allowed) or attacks from the PDF signature
//! literature (incremental saving, shadow hide-and-replace, evil annotations, actions). Each
//! story checks the reason codes that `kyso_pades::revisions` reports, and for some of them
//! pyHanko's difference analysis serves as an independent oracle.

#[path = "../support/mod.rs"]
mod support;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use support::*;

use kyso_pades::forms::{widget_builder, CopyForm, VisibleForm};
use kyso_pades::revisions::{
    changes_after, changes_after_with, open_revision, revisions, ChangeKind, ChangeReport, Policy,
    Verdict,
};
use kyso_pades::sign_with;
use kyso_pdf::writer::IncrementalUpdate;
use kyso_pdf::{Dict, Document, Limits, MemSource, ObjRef, Object, Source, Stream, StreamData};

/// A one-page PDF written by hand: catalog 1, pages 2, page 3, content 4, font 5, and the
/// `extra` objects from 6 on (for example an orphan content stream nothing references).
fn base_pdf(catalog_extra: &str, extra: &[&str]) -> Vec<u8> {
    let catalog = format!("<< /Type /Catalog /Pages 2 0 R {catalog_extra}>>");
    let content = "BT /F1 24 Tf 72 720 Td (Tong tien: 1.000.000 VND) Tj ET";
    let mut bodies = vec![
        catalog,
        "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_string(),
        format!(
            "<< /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    bodies.extend(extra.iter().map(|s| s.to_string()));
    kyso_pdf::writer::classic_pdf(&bodies)
}

fn stream(data: &str) -> String {
    format!("<< /Length {} >>\nstream\n{data}\nendstream", data.len())
}

struct Story {
    dir: tempfile::TempDir,
    n: usize,
}

impl Story {
    fn new() -> Self {
        Story {
            dir: tempfile::tempdir().unwrap(),
            n: 0,
        }
    }
    fn path(&mut self, name: &str) -> PathBuf {
        self.n += 1;
        self.dir.path().join(format!("{}-{name}.pdf", self.n))
    }
    fn write(&mut self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }
    /// Sign `bytes` invisibly (or with a visible copy stamp) with kyso's engine.
    fn sign(&mut self, bytes: &[u8], who: &str, visible: bool) -> Vec<u8> {
        let widget = visible.then(|| {
            widget_builder(
                VisibleForm::Copy {
                    form: CopyForm::Certified,
                    org_name: "UBND tỉnh Thử Nghiệm".into(),
                    number: None,
                    place: None,
                },
                opts().signing_time,
            )
            .unwrap()
        });
        self.sign_with_widget(bytes, who, widget)
    }

    /// Sign with a widget of the test's own making (`None`: invisible).
    fn sign_with_widget(
        &mut self,
        bytes: &[u8],
        who: &str,
        widget: Option<Box<kyso_pades::WidgetBuilder<'static>>>,
    ) -> Vec<u8> {
        let input = self.write("in", bytes);
        let out = self.path("signed");
        let mut o = opts();
        o.field_name = Some(format!("Sig-{who}"));
        sign_with(&input, &out, &o, &test_signer(who), widget).unwrap();
        std::fs::read(out).unwrap()
    }
}

fn open(bytes: &[u8]) -> Document {
    Document::open(Arc::new(MemSource::new(bytes.to_vec())), Limits::default()).unwrap()
}

/// Append an incremental update built by `f` (a classic xref section with /Prev).
fn append(bytes: &[u8], f: impl FnOnce(&Document, &mut IncrementalUpdate)) -> Vec<u8> {
    let doc = open(bytes);
    let mut upd = IncrementalUpdate::new(&doc);
    f(&doc, &mut upd);
    let (tail, _) = upd.serialize(bytes.len() as u64).unwrap();
    let mut out = bytes.to_vec();
    out.extend_from_slice(&tail);
    out
}

/// The signature dictionaries' references and ByteRange ends, in signing order.
fn signatures(bytes: &[u8]) -> Vec<(ObjRef, u64)> {
    let doc = open(bytes);
    let mut out = Vec::new();
    for (num, _) in doc.xref().iter() {
        let r = ObjRef::new(*num, 0);
        let Ok(Object::Dict(d)) = doc.get(r) else {
            continue;
        };
        // Hand-made signature dictionaries of the attack stories have no /ByteRange.
        if let (true, Some(br)) = (
            d.get_name("Type").is_some_and(|t| t == "Sig"),
            d.get("ByteRange"),
        ) {
            let br: Vec<i64> = br
                .as_array()
                .unwrap()
                .iter()
                .map(|o| o.as_int().unwrap())
                .collect();
            out.push((r, (br[2] + br[3]) as u64));
        }
    }
    out.sort_by_key(|(_, end)| *end);
    out
}

fn report(bytes: &[u8], signed_end: u64) -> ChangeReport {
    keep(bytes);
    changes_after(
        Arc::new(MemSource::new(bytes.to_vec())),
        signed_end,
        Limits::default(),
    )
    .unwrap()
}

fn first_report(bytes: &[u8]) -> ChangeReport {
    report(bytes, signatures(bytes)[0].1)
}

fn codes(r: &ChangeReport) -> Vec<&'static str> {
    let mut c: Vec<_> = r.changes.iter().map(|c| c.code).collect();
    c.sort_unstable();
    c.dedup();
    c
}

fn disallowed(r: &ChangeReport) -> Vec<&'static str> {
    let mut c: Vec<_> = r
        .changes
        .iter()
        .filter(|c| !c.allowed)
        .map(|c| c.code)
        .collect();
    c.sort_unstable();
    c.dedup();
    c
}

/// pyHanko's verdict on each signature: the modification level, or SUSPICIOUS.
fn pyhanko(path: &Path) -> Option<Vec<String>> {
    let script = r#"
import sys
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import DEFAULT_DIFF_POLICY
from pyhanko.sign.diff_analysis.policy_api import SuspiciousModification
with open(sys.argv[1], 'rb') as f:
    r = PdfFileReader(f, strict=False)
    for s in r.embedded_signatures:
        try:
            s.compute_integrity_info()
            res = s.evaluate_modifications(DEFAULT_DIFF_POLICY)
        except Exception as e:
            import traceback; traceback.print_exc(file=sys.stderr)
            print('ERROR', type(e).__name__)
            continue
        if isinstance(res, SuspiciousModification):
            print('SUSPICIOUS')
        else:
            print(res.modification_level.name)
"#;
    if !kyso_testkit::need_python("pyhanko") {
        return None;
    }
    // pyHanko failing on the file (a traceback, a non-zero exit) fails the test with its message.
    let out = kyso_testkit::run(Command::new("python3").arg("-c").arg(script).arg(path))
        .ok_or_fail("pyHanko's diff analysis")?;
    let levels: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        !levels.is_empty(),
        "pyHanko found no signature in {}",
        path.display()
    );
    Some(levels)
}

fn pyhanko_allows(level: &str) -> bool {
    assert!(!level.starts_with("ERROR"), "pyHanko failed: {level}");
    matches!(level, "NONE" | "LTA_UPDATES" | "FORM_FILLING")
}

/// pyHanko calls the change illegal: a suspicious modification, or changes beyond form filling
/// and annotations (`OTHER`). Any other answer is not a refusal; an error fails the test.
fn pyhanko_refuses(level: &str) -> bool {
    assert!(!level.starts_with("ERROR"), "pyHanko failed: {level}");
    assert!(
        matches!(
            level,
            "SUSPICIOUS" | "OTHER" | "NONE" | "LTA_UPDATES" | "FORM_FILLING" | "ANNOTATIONS"
        ),
        "pyHanko answered {level:?}"
    );
    matches!(level, "SUSPICIOUS" | "OTHER")
}

fn signed_once(story: &mut Story) -> Vec<u8> {
    story.sign(&base_pdf("", &[]), "Nguyễn Văn An", false)
}

#[test]
fn a_freshly_signed_document_has_no_later_revision() {
    let mut story = Story::new();
    let base = base_pdf("", &[]);
    let signed = signed_once(&mut story);
    let doc = open(&signed);
    let revs = revisions(&doc).unwrap();
    assert_eq!(revs.len(), 2);
    assert_eq!(
        revs[0].end,
        base.len() as u64,
        "the original ends at its %%EOF"
    );
    assert_eq!(revs[1].end, signed.len() as u64);
    assert!(revs[1].objects.len() >= 3, "signature, field, page/catalog");

    let (_, end) = signatures(&signed)[0];
    assert_eq!(end, revs[1].end);
    let r = report(&signed, end);
    assert!(r.covers_whole_file);
    assert_eq!(r.later_revisions, 0);
    assert!(r.changes.is_empty());
    assert_eq!(r.verdict, Verdict::AllowedOnly);

    // The document as it was before signing can be read with the same reader.
    let src: Arc<dyn Source> = Arc::new(MemSource::new(signed.clone()));
    let before = open_revision(&src, revs[0].end, Limits::default()).unwrap();
    assert!(!before.catalog().unwrap().contains("AcroForm"));
    assert!(open(&signed).catalog().unwrap().contains("AcroForm"));
}

#[test]
fn a_second_signature_only_makes_allowed_changes() {
    let mut story = Story::new();
    let once = signed_once(&mut story);
    let twice = story.sign(&once, "Trần Thị Bình", true);
    let third = story.sign(&twice, "Lê Văn Cường", false);
    let sigs = signatures(&third);
    assert_eq!(sigs.len(), 3);

    let r = report(&third, sigs[0].1);
    assert!(!r.covers_whole_file);
    assert_eq!(r.later_revisions, 2);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    let c = codes(&r);
    for want in [
        "NEW_SIGNATURE_FIELD",
        "ACROFORM_FIELDS_APPENDED",
        "PAGE_ANNOTS_APPENDED",
    ] {
        assert!(c.contains(&want), "{want} missing in {c:?}");
    }
    assert!(r.changes.iter().all(|c| c.kind != ChangeKind::Freed));
    // The visible signature's appearance (form XObject, font, …) is part of the new field.
    assert!(
        r.changes
            .iter()
            .filter(|c| c.code == "NEW_SIGNATURE_FIELD" && c.revision == 2)
            .count()
            >= 3,
        "{:#?}",
        r.changes
    );
    assert_eq!(report(&third, sigs[1].1).verdict, Verdict::AllowedOnly);
    assert!(report(&third, sigs[2].1).covers_whole_file);

    let path = story.write("third", &third);
    if let Some(levels) = pyhanko(&path) {
        assert_eq!(levels.len(), 3, "{levels:?}");
        for l in &levels {
            assert!(pyhanko_allows(l), "pyHanko disagrees: {levels:?}");
        }
    }
}

#[test]
fn replacing_the_page_content_is_not_allowed() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    // Incremental saving attack: a new content stream, and the page re-pointed to it.
    let attacked = append(&signed, |doc, upd| {
        let data = b"BT /F1 24 Tf 72 720 Td (Tong tien: 9.000.000 VND) Tj ET".to_vec();
        let mut d = Dict::new();
        d.set("Length", Object::Int(data.len() as i64));
        let content = upd.add(Object::Stream(Stream {
            dict: d,
            data: StreamData::Owned(data),
        }));
        let page = doc.pages().unwrap()[0].clone();
        let mut pd = doc.get(page.id).unwrap().as_dict().unwrap().clone();
        pd.set("Contents", Object::Ref(content));
        upd.set(page.id, pd);
    });
    let r = first_report(&attacked);
    assert_eq!(r.verdict, Verdict::Disallowed);
    assert!(
        disallowed(&r).contains(&"PAGE_CONTENT_CHANGED"),
        "{:#?}",
        r.changes
    );

    let path = story.write("content", &attacked);
    if let Some(levels) = pyhanko(&path) {
        assert!(pyhanko_refuses(&levels[0]), "pyHanko: {levels:?}");
    }

    // The same, by redefining the content stream object itself.
    let redefined = append(&signed, |_, upd| {
        let data = b"BT /F1 24 Tf 72 720 Td (Tong tien: 9.000.000 VND) Tj ET".to_vec();
        let mut d = Dict::new();
        d.set("Length", Object::Int(data.len() as i64));
        upd.set(
            ObjRef::new(4, 0),
            Object::Stream(Stream {
                dict: d,
                data: StreamData::Owned(data),
            }),
        );
    });
    let r = first_report(&redefined);
    assert_eq!(disallowed(&r), vec!["PAGE_CONTENT_CHANGED"]);
    let path = story.write("content2", &redefined);
    if let Some(levels) = pyhanko(&path) {
        assert!(pyhanko_refuses(&levels[0]), "pyHanko: {levels:?}");
    }
}

#[test]
fn changing_a_font_is_a_resource_change() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let attacked = append(&signed, |_, upd| {
        let mut f = Dict::new();
        f.set("Type", Object::name("Font"));
        f.set("Subtype", Object::name("Type1"));
        f.set("BaseFont", Object::name("Courier"));
        upd.set(ObjRef::new(5, 0), f);
    });
    let r = first_report(&attacked);
    assert_eq!(disallowed(&r), vec!["PAGE_RESOURCES_CHANGED"]);
}

/// Over the signed text "Tong tien: 1.000.000 VND" of [`base_pdf`] (72 720, 24 pt).
const OVER_TEXT: [i64; 4] = [72, 700, 400, 750];
/// An empty margin of [`base_pdf`]'s page (bottom right).
const MARGIN: [i64; 4] = [420, 40, 560, 110];

/// An annotation over the signed text, with an appearance that paints a white box and new
/// text (the evil annotation attack).
fn add_annotation(signed: &[u8], subtype: &str) -> Vec<u8> {
    add_annotation_with(signed, subtype, OVER_TEXT, |_| {})
}

/// An annotation of `subtype` at `rect` on page 1 with an appearance stream (a white box and
/// "9.000.000"), an author and a comment; `more` adds or removes entries.
fn add_annotation_with(
    signed: &[u8],
    subtype: &str,
    rect: [i64; 4],
    more: impl FnOnce(&mut Dict),
) -> Vec<u8> {
    append(signed, |doc, upd| {
        let page = doc.pages().unwrap()[0].clone();
        let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
        let data = format!(
            "q 1 1 1 rg 0 0 {w} {h} re f 0 g BT /Helv 20 Tf 4 10 Td (Tong tien: 9.000.000 VND) Tj ET Q"
        )
        .into_bytes();
        let mut ad = Dict::new();
        ad.set("Type", Object::name("XObject"));
        ad.set("Subtype", Object::name("Form"));
        ad.set(
            "BBox",
            Object::Array(vec![0.into(), 0.into(), w.into(), h.into()]),
        );
        ad.set("Length", Object::Int(data.len() as i64));
        let mut a = Dict::new();
        a.set("Type", Object::name("Annot"));
        a.set("Subtype", Object::name(subtype));
        a.set(
            "Rect",
            Object::Array(rect.iter().map(|v| (*v).into()).collect()),
        );
        a.set(
            "Contents",
            Object::string(b"Tong tien: 9.000.000 VND".to_vec()),
        );
        a.set("T", Object::string(b"Mallory".to_vec()));
        a.set("F", Object::Int(4));
        if subtype == "Ink" {
            a.set(
                "InkList",
                Object::Array(vec![Object::Array(vec![
                    rect[0].into(),
                    rect[1].into(),
                    rect[2].into(),
                    rect[3].into(),
                ])]),
            );
        }
        a.set("P", Object::Ref(page.id));
        more(&mut a);
        // `/AP null` from `more`: no appearance.
        if a.get("AP") == Some(&Object::Null) {
            a.remove("AP");
        } else {
            let ap = upd.add(Object::Stream(Stream {
                dict: ad,
                data: StreamData::Owned(data),
            }));
            let mut apd = Dict::new();
            apd.set("N", Object::Ref(ap));
            a.set("AP", apd);
        }
        let annot = upd.add(a);
        let mut pd = doc.get(page.id).unwrap().as_dict().unwrap().clone();
        let mut annots = doc
            .resolve(pd.get("Annots").unwrap_or(&Object::Null))
            .unwrap()
            .as_array()
            .unwrap_or_default()
            .to_vec();
        annots.push(Object::Ref(annot));
        pd.set("Annots", Object::Array(annots));
        upd.set(page.id, pd);
    })
}

/// The annotation kinds of the evil annotation attack (issue 14/3).
const EVIL_SUBTYPES: [&str; 6] = ["FreeText", "Stamp", "Square", "Ink", "Redact", "Link"];

/// Issue 14/3: an annotation whose appearance paints over the signed text is not allowed,
/// whatever DocMDP says (without DocMDP, P=2, P=3), and is listed with what it covers.
#[test]
fn evil_annotations_over_signed_text_are_not_allowed_at_any_level() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let p2 = certified_pdf(2);
    let p3 = certified_pdf(3);
    for subtype in EVIL_SUBTYPES {
        for (level, base, end) in [
            ("none", &signed, signatures(&signed)[0].1),
            ("P=2", &p2, p2.len() as u64),
            ("P=3", &p3, p3.len() as u64),
        ] {
            let attacked = add_annotation(base, subtype);
            let r = report(&attacked, end);
            assert_eq!(r.verdict, Verdict::Disallowed, "{subtype} {level}");
            assert!(
                disallowed(&r).contains(&"ANNOTATION_OVERLAYS_CONTENT"),
                "{subtype} {level}: {:#?}",
                r.changes
            );
            let listed = &r.annotations;
            assert_eq!(listed.len(), 1, "{subtype} {level}: {listed:#?}");
            let a = &listed[0];
            assert_eq!(a.subtype, subtype);
            assert_eq!(a.pages, vec![1]);
            assert_eq!(a.author.as_deref(), Some("Mallory"));
            assert_eq!(a.contents.as_deref(), Some("Tong tien: 9.000.000 VND"));
            assert!(!a.allowed);
            assert_eq!(a.code, "ANNOTATION_OVERLAYS_CONTENT");
            assert!(
                a.covers.as_deref().is_some_and(|c| c.contains("Tong")),
                "{a:#?}"
            );
        }
        // pyHanko refuses these too (no DocMDP: annotations are not on its list).
        let path = story.write(subtype, &add_annotation(&signed, subtype));
        if let Some(levels) = pyhanko(&path) {
            assert!(pyhanko_refuses(&levels[0]), "{subtype}: pyHanko {levels:?}");
        }
    }
}

/// Issue 14/3: the same annotations in an empty margin cover nothing: allowed without DocMDP
/// and at P=3, listed in the report; still not allowed at P=2. Hidden, NoView, zero-size
/// annotations and links without an appearance cover nothing either.
#[test]
fn annotations_in_an_empty_margin_are_allowed_where_docmdp_allows_them_and_listed() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let p2 = certified_pdf(2);
    let p3 = certified_pdf(3);
    for subtype in EVIL_SUBTYPES {
        for (level, base, end, allowed) in [
            ("none", &signed, signatures(&signed)[0].1, true),
            ("P=2", &p2, p2.len() as u64, false),
            ("P=3", &p3, p3.len() as u64, true),
        ] {
            let annotated = add_annotation_with(base, subtype, MARGIN, |_| {});
            let r = report(&annotated, end);
            let a = &r.annotations[0];
            assert_eq!(r.annotations.len(), 1, "{subtype} {level}");
            assert_eq!(
                (a.subtype.as_str(), a.pages.as_slice(), a.author.as_deref()),
                (subtype, &[1][..], Some("Mallory"))
            );
            assert_eq!(a.covers, None, "{subtype} {level}: {a:#?}");
            assert_eq!(a.code, "ANNOTATION_ADDED");
            assert_eq!(a.allowed, allowed, "{subtype} {level}");
            if allowed {
                assert_eq!(
                    r.verdict,
                    Verdict::AllowedOnly,
                    "{subtype} {level}: {:#?}",
                    r.changes
                );
                assert!(codes(&r).contains(&"ANNOTATION_ADDED"));
            } else {
                assert_eq!(
                    disallowed(&r),
                    vec!["ANNOTATION_ADDED"],
                    "{subtype} {level}: {:#?}",
                    r.changes
                );
            }
        }
    }
    // Over the text, but shown nowhere: Hidden, NoView, a zero rectangle, a link without an
    // appearance (a viewer draws at most its border).
    let zero = Object::Array(vec![100.into(), 720.into(), 100.into(), 720.into()]);
    let cases = [
        ("hidden", "FreeText", "F", Object::Int(2)),
        ("noview", "Stamp", "F", Object::Int(32)),
        ("zero", "Square", "Rect", zero),
        ("plain-link", "Link", "AP", Object::Null),
    ];
    for (name, subtype, key, value) in cases {
        let annotated = add_annotation_with(&signed, subtype, OVER_TEXT, |a| a.set(key, value));
        let r = first_report(&annotated);
        assert_eq!(r.verdict, Verdict::AllowedOnly, "{name}: {:#?}", r.changes);
        assert_eq!(r.annotations.len(), 1, "{name}");
        assert_eq!(r.annotations[0].covers, None, "{name}");
    }
}

/// pyHanko agrees that annotations are not allowed at P=2, on a real certification signature
/// (pyHanko's, DocMDP P=2), even in an empty margin.
#[test]
fn pyhanko_agrees_annotations_are_not_allowed_at_p2() {
    let mut story = Story::new();
    let base = story.write("base", &base_pdf("", &[]));
    let certified = story.path("certified");
    if !pyhanko_sign_as(&base, &certified, false, "Cert", "certify2") {
        return;
    }
    let bytes = std::fs::read(&certified).unwrap();
    let annotated = add_annotation_with(&bytes, "FreeText", MARGIN, |_| {});
    let r = report(&annotated, bytes.len() as u64);
    assert_eq!(r.docmdp, Some(2));
    assert_eq!(disallowed(&r), vec!["ANNOTATION_ADDED"], "{:#?}", r.changes);
    let path = story.write("certified-annotated", &annotated);
    let levels = pyhanko(&path).unwrap();
    assert!(!pyhanko_allows(&levels[0]), "pyHanko: {levels:?}");
}

/// Issue 14/3: covering an image of the signed page, or an earlier annotation, is covering
/// content too.
#[test]
fn annotations_over_an_image_or_an_earlier_annotation_are_not_allowed() {
    let mut story = Story::new();
    // A page with an image XObject drawn at [300, 300, 400, 400] inside a form XObject.
    let content = "q 50 0 0 50 0 0 cm /Im1 Do Q";
    let pdf = kyso_pdf::writer::classic_pdf(&[
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 /MediaBox [0 0 595 842] >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Resources << /XObject << /Fm 5 0 R >> >> >>"
            .to_string(),
        stream("q 2 0 0 2 300 300 cm /Fm Do Q"),
        format!(
            "<< /Type /XObject /Subtype /Form /BBox [0 0 50 50] /Resources << /XObject << /Im1 6 0 R >> >> /Length {} >>\nstream\n{content}\nendstream",
            content.len()
        ),
        "<< /Type /XObject /Subtype /Image /Width 1 /Height 1 /ColorSpace /DeviceGray /BitsPerComponent 8 /Length 1 >>\nstream\n\x00\nendstream".to_string(),
    ]);
    let signed = story.sign(&pdf, "Nguyễn Văn An", false);
    let over_image = add_annotation_with(&signed, "Stamp", [350, 350, 500, 500], |_| {});
    let r = first_report(&over_image);
    assert!(
        disallowed(&r).contains(&"ANNOTATION_OVERLAYS_CONTENT"),
        "{:#?}",
        r.changes
    );
    assert!(r.annotations[0]
        .covers
        .as_deref()
        .unwrap()
        .contains("image"));
    let beside = add_annotation_with(&signed, "Stamp", [420, 350, 500, 500], |_| {});
    assert_eq!(first_report(&beside).verdict, Verdict::AllowedOnly);

    // A comment in the margin (allowed), then another one drawn over it.
    let signed = signed_once(&mut story);
    let first = add_annotation_with(&signed, "Square", MARGIN, |_| {});
    assert_eq!(first_report(&first).verdict, Verdict::AllowedOnly);
    let second = add_annotation_with(&first, "FreeText", [400, 60, 500, 90], |_| {});
    let r = first_report(&second);
    assert!(
        disallowed(&r).contains(&"ANNOTATION_OVERLAYS_CONTENT"),
        "{:#?}",
        r.changes
    );
    assert!(r
        .changes
        .iter()
        .any(|c| c.detail.contains("existing annotation")));
    assert_eq!(r.annotations.len(), 2, "{:#?}", r.annotations);
}

#[test]
fn an_open_action_with_javascript_is_not_allowed() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let attacked = append(&signed, |doc, upd| {
        let mut js = Dict::new();
        js.set("S", Object::name("JavaScript"));
        js.set("JS", Object::string(b"app.alert('hi')".to_vec()));
        let action = upd.add(js);
        let root = doc.catalog_ref().unwrap();
        let mut cat = doc.catalog().unwrap();
        cat.set("OpenAction", Object::Ref(action));
        upd.set(root, cat);
    });
    let r = first_report(&attacked);
    let d = disallowed(&r);
    assert!(d.contains(&"ACTION_ADDED"), "{:#?}", r.changes);
    assert!(r.changes.iter().all(|c| !c.allowed));
}

#[test]
fn optional_content_in_the_catalog_is_not_allowed() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let attacked = append(&signed, |doc, upd| {
        let mut ocg = Dict::new();
        ocg.set("Type", Object::name("OCG"));
        ocg.set("Name", Object::string(b"Layer".to_vec()));
        let ocg = upd.add(ocg);
        let mut d = Dict::new();
        d.set("OFF", Object::Array(vec![Object::Ref(ocg)]));
        let mut props = Dict::new();
        props.set("OCGs", Object::Array(vec![Object::Ref(ocg)]));
        props.set("D", d);
        let root = doc.catalog_ref().unwrap();
        let mut cat = doc.catalog().unwrap();
        cat.set("OCProperties", props);
        upd.set(root, cat);
    });
    let r = first_report(&attacked);
    assert!(
        disallowed(&r).contains(&"CATALOG_CHANGED"),
        "{:#?}",
        r.changes
    );
}

#[test]
fn shadow_hide_and_replace_through_an_unused_object_is_detected() {
    let mut story = Story::new();
    // The attacker prepares the document: an alternative content stream (6 0 obj) that nothing
    // references, so no viewer shows it and the signer does not notice.
    let base = base_pdf(
        "",
        &[&stream(
            "BT /F1 24 Tf 72 720 Td (Tong tien: 9.000.000 VND) Tj ET",
        )],
    );
    let signed = story.sign(&base, "Nguyễn Văn An", false);
    let attacked = append(&signed, |doc, upd| {
        let page = doc.pages().unwrap()[0].clone();
        let mut pd = doc.get(page.id).unwrap().as_dict().unwrap().clone();
        pd.set("Contents", Object::Ref(ObjRef::new(6, 0)));
        upd.set(page.id, pd);
    });
    let r = first_report(&attacked);
    let d = disallowed(&r);
    assert!(d.contains(&"REPOINTED_UNUSED_OBJECT"), "{:#?}", r.changes);
    assert!(d.contains(&"PAGE_CONTENT_CHANGED"));
    let repointed = r
        .changes
        .iter()
        .find(|c| c.code == "REPOINTED_UNUSED_OBJECT")
        .unwrap();
    assert_eq!(repointed.object, ObjRef::new(6, 0));
}

#[test]
fn redefining_the_first_signature_is_not_allowed() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let twice = story.sign(&signed, "Trần Thị Bình", false);
    let (sig_ref, end) = signatures(&twice)[0];
    let attacked = append(&twice, |doc, upd| {
        let mut sd = doc.get(sig_ref).unwrap().as_dict().unwrap().clone();
        sd.set("Reason", Object::string(b"Khong dong y".to_vec()));
        upd.set(sig_ref, sd);
    });
    let r = report(&attacked, end);
    assert_eq!(r.verdict, Verdict::Disallowed);
    let c = r.changes.iter().find(|c| c.object == sig_ref).unwrap();
    assert!(!c.allowed);
    assert_eq!(c.code, "OBJECT_OVERRIDDEN");
    // The second signature is still fine up to its own revision, not after it.
    let (_, end2) = signatures(&twice)[1];
    assert_eq!(report(&twice, end2).verdict, Verdict::AllowedOnly);
    assert_eq!(report(&attacked, end2).verdict, Verdict::Disallowed);
}

fn add_dss(bytes: &[u8], vri_key: &str) -> Vec<u8> {
    let vri_key = vri_key.to_string();
    append(bytes, move |doc, upd| {
        let cert = b"\x30\x03\x02\x01\x01".to_vec();
        let mut sd = Dict::new();
        sd.set("Length", Object::Int(cert.len() as i64));
        let cert = upd.add(Object::Stream(Stream {
            dict: sd,
            data: StreamData::Owned(cert),
        }));
        let mut vri = Dict::new();
        vri.set("Cert", Object::Array(vec![Object::Ref(cert)]));
        let mut vris = Dict::new();
        vris.set(&vri_key, vri);
        let mut dss = Dict::new();
        dss.set("Type", Object::name("DSS"));
        dss.set("Certs", Object::Array(vec![Object::Ref(cert)]));
        dss.set("VRI", vris);
        let dss = upd.add(dss);
        let root = doc.catalog_ref().unwrap();
        let mut cat = doc.catalog().unwrap();
        cat.set("DSS", Object::Ref(dss));
        upd.set(root, cat);
    })
}

#[test]
fn adding_a_dss_is_allowed() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let with_dss = add_dss(&signed, "0123456789ABCDEF0123456789ABCDEF01234567");
    let r = first_report(&with_dss);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    assert_eq!(codes(&r), vec!["DSS_UPDATE"]);
    assert_eq!(r.changes.len(), 3, "catalog, DSS, certificate");
    // A second DSS update replacing the first is allowed too.
    let again = add_dss(&with_dss, "76543210FEDCBA9876543210FEDCBA9876543210");
    assert_eq!(first_report(&again).verdict, Verdict::AllowedOnly);

    // A malformed VRI key (pyHanko refuses it too).
    let bad = add_dss(&signed, "ABCDEF");
    let r = first_report(&bad);
    assert_eq!(disallowed(&r), vec!["DSS_UPDATE"], "{:#?}", r.changes);

    let path = story.write("dss", &with_dss);
    if let Some(levels) = pyhanko(&path) {
        assert!(pyhanko_allows(&levels[0]), "pyHanko: {levels:?}");
    }
}

#[test]
fn metadata_and_trailing_garbage_are_reported() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let with_info = append(&signed, |_, upd| {
        let mut info = Dict::new();
        info.set("Title", Object::string(b"Khac".to_vec()));
        let info = upd.add(info);
        upd.set_trailer("Info", Object::Ref(info));
    });
    let r = first_report(&with_info);
    assert_eq!(disallowed(&r), vec!["METADATA_CHANGED"], "{:#?}", r.changes);

    // Objects appended without a cross-reference section.
    let mut garbage = signed.clone();
    garbage.extend_from_slice(b"\n4 0 obj\n<< /Length 3 >>\nstream\nabc\nendstream\nendobj\n");
    let r = first_report(&garbage);
    assert!(!r.covers_whole_file);
    assert_eq!(disallowed(&r), vec!["TRAILING_DATA"]);
    // Whitespace only after %%EOF is harmless.
    let mut ws = signed.clone();
    ws.extend_from_slice(b"\r\n  \n");
    assert_eq!(first_report(&ws).verdict, Verdict::AllowedOnly);
}

/// A document "certified" with DocMDP level `p` (the certification signature's dictionary,
/// enough for the difference analysis: its value is not checked here).
fn certified_pdf(p: u8) -> Vec<u8> {
    base_pdf(
        "/Perms << /DocMDP 6 0 R >> ",
        &[&format!(
            "<< /Type /Sig /Filter /Adobe.PPKLite /SubFilter /ETSI.CAdES.detached \
             /Reference [<< /Type /SigRef /TransformMethod /DocMDP \
             /TransformParams << /Type /TransformParams /P {p} /V /1.2 >> >>] >>"
        )],
    )
}

#[test]
fn docmdp_levels_are_applied() {
    let mut story = Story::new();
    // P=1: the engine refuses to sign, and a signature added by other means is not allowed.
    let p1 = certified_pdf(1);
    let p2 = certified_pdf(2);
    let p3 = certified_pdf(3);
    let signed2 = story.sign(&p2, "Trần Thị Bình", false);
    let r = report(&signed2, p2.len() as u64);
    assert_eq!(r.docmdp, Some(2));
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);

    // Same bytes, P patched to 1 in the certified revision (same length, same offsets).
    let needle = b"/P 2 /V";
    let at = signed2
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut signed1 = signed2.clone();
    signed1[at + 3] = b'1';
    assert_eq!(&signed1[..p1.len()], &p1[..]);
    let r = report(&signed1, p1.len() as u64);
    assert_eq!(r.docmdp, Some(1));
    assert_eq!(r.verdict, Verdict::Disallowed);
    assert!(r.changes.iter().all(|c| !c.allowed));
    assert!(codes(&r).contains(&"NEW_SIGNATURE_FIELD"));
    let p1_path = story.write("p1", &p1);
    let refused = sign_with(
        &p1_path,
        &story.path("refused"),
        &opts(),
        &test_signer("X"),
        None,
    );
    assert!(refused.is_err());

    // Annotations covering nothing: not allowed at P=2, allowed at P=3.
    let annotated2 = add_annotation_with(&p2, "FreeText", MARGIN, |_| {});
    let r = report(&annotated2, p2.len() as u64);
    assert!(disallowed(&r).contains(&"ANNOTATION_ADDED"));
    let annotated3 = add_annotation_with(&p3, "FreeText", MARGIN, |_| {});
    let r = report(&annotated3, p3.len() as u64);
    assert_eq!(r.docmdp, Some(3));
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    assert!(codes(&r).contains(&"ANNOTATION_ADDED"));
    // Even at P=3, page content stays protected.
    let content3 = append(&annotated3, |_, upd| {
        let mut d = Dict::new();
        d.set("Length", Object::Int(2));
        upd.set(
            ObjRef::new(4, 0),
            Object::Stream(Stream {
                dict: d,
                data: StreamData::Owned(b"q Q".to_vec()),
            }),
        );
    });
    assert_eq!(
        report(&content3, p3.len() as u64).verdict,
        Verdict::Disallowed
    );
}

/// A form with one text field (7 0 obj, widget on the page), optionally locked by FieldMDP.
fn form_pdf() -> Vec<u8> {
    base_pdf(
        "/AcroForm << /Fields [7 0 R] >> ",
        &[
            "<< /Type /Sig >>",
            "<< /FT /Tx /T (amount) /V (1000) /Type /Annot /Subtype /Widget \
             /Rect [72 600 300 620] >>",
        ],
    )
}

#[test]
fn form_filling_is_allowed_unless_locked() {
    let base = form_pdf();
    let filled = append(&base, |doc, upd| {
        let r = ObjRef::new(7, 0);
        let mut f = doc.get(r).unwrap().as_dict().unwrap().clone();
        f.set("V", Object::string(b"9000000".to_vec()));
        upd.set(r, f);
    });
    let r = report(&filled, base.len() as u64);
    assert_eq!(codes(&r), vec!["FORM_FILLING"]);
    assert_eq!(r.verdict, Verdict::AllowedOnly);

    // Changing anything else of the field (its rectangle) is not form filling.
    let moved = append(&base, |doc, upd| {
        let r = ObjRef::new(7, 0);
        let mut f = doc.get(r).unwrap().as_dict().unwrap().clone();
        f.set(
            "Rect",
            Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
        );
        upd.set(r, f);
    });
    assert_eq!(
        report(&moved, base.len() as u64).verdict,
        Verdict::Disallowed
    );
}

#[test]
fn qpdf_linearized_output_is_one_revision() {
    let mut story = Story::new();
    let base = story.write("plain", &base_pdf("", &[]));
    let lin = story.path("linearized");
    if kyso_testkit::run(Command::new("qpdf").arg("--linearize").arg(&base).arg(&lin))
        .ok_or_fail("qpdf")
        .is_none()
    {
        return;
    }
    let bytes = std::fs::read(&lin).unwrap();
    let doc = open(&bytes);
    assert!(doc.sections().len() >= 2, "first-page and main sections");
    let revs = revisions(&doc).unwrap();
    assert_eq!(revs.len(), 1, "{revs:?}");
    assert_eq!(revs[0].end, bytes.len() as u64);

    let signed = story.sign(&bytes, "Nguyễn Văn An", false);
    let revs = revisions(&open(&signed)).unwrap();
    assert_eq!(revs.len(), 2);
    let twice = story.sign(&signed, "Trần Thị Bình", false);
    assert_eq!(first_report(&twice).verdict, Verdict::AllowedOnly);
}

#[test]
fn a_signed_end_inside_a_revision_is_an_error() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let err = changes_after(
        Arc::new(MemSource::new(signed.clone())),
        100,
        Limits::default(),
    );
    assert!(err.is_err());
}

#[test]
fn a_fieldmdp_lock_forbids_filling_the_locked_field() {
    // A signed signature field (8 0 obj) locking the text field "amount".
    let base = base_pdf(
        "/AcroForm << /Fields [7 0 R 8 0 R] /SigFlags 3 >> ",
        &[
            "<< /Type /Sig >>",
            "<< /FT /Tx /T (amount) /V (1000) /Type /Annot /Subtype /Widget \
             /Rect [72 600 300 620] >>",
            "<< /FT /Sig /T (Approval) /V 6 0 R /Type /Annot /Subtype /Widget \
             /Rect [0 0 0 0] /Lock << /Type /SigFieldLock /Action /Include \
             /Fields [(amount)] >> >>",
        ],
    );
    let filled = append(&base, |doc, upd| {
        let r = ObjRef::new(7, 0);
        let mut f = doc.get(r).unwrap().as_dict().unwrap().clone();
        f.set("V", Object::string(b"9000000".to_vec()));
        upd.set(r, f);
    });
    let r = report(&filled, base.len() as u64);
    assert_eq!(disallowed(&r), vec!["FORM_FILLING"], "{:#?}", r.changes);
    assert!(r.changes[0].detail.contains("locked"));
}

#[test]
fn documents_with_object_streams_sign_twice_cleanly() {
    let mut story = Story::new();
    let base = story.write("plain", &base_pdf("", &[]));
    let packed = story.path("objstm");
    if kyso_testkit::run(
        Command::new("qpdf")
            .arg("--object-streams=generate")
            .arg(&base)
            .arg(&packed),
    )
    .ok_or_fail("qpdf")
    .is_none()
    {
        return;
    }
    let bytes = std::fs::read(&packed).unwrap();
    assert_eq!(
        open(&bytes).sections()[0].kind,
        kyso_pdf::xref::SectionKind::Stream
    );
    let once = story.sign(&bytes, "Nguyễn Văn An", false);
    let twice = story.sign(&once, "Trần Thị Bình", true);
    let r = first_report(&twice);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    assert!(codes(&r).contains(&"XREF_CONTAINER"));

    // An attack in an xref-stream update is still seen.
    let attacked = add_annotation(&twice, "FreeText");
    assert!(disallowed(&first_report(&attacked)).contains(&"ANNOTATION_OVERLAYS_CONTENT"));
    let path = story.write("objstm-attacked", &attacked);
    if let Some(levels) = pyhanko(&path) {
        assert!(pyhanko_refuses(&levels[0]), "pyHanko: {levels:?}");
        assert!(pyhanko_refuses(&levels[1]), "pyHanko: {levels:?}");
    }
}

#[test]
fn pyhanko_agrees_on_the_attack_stories() {
    let mut story = Story::new();
    let base = base_pdf(
        "",
        &[&stream(
            "BT /F1 24 Tf 72 720 Td (Tong tien: 9.000.000 VND) Tj ET",
        )],
    );
    let signed = story.sign(&base, "Nguyễn Văn An", false);
    let hide_and_replace = append(&signed, |doc, upd| {
        let page = doc.pages().unwrap()[0].clone();
        let mut pd = doc.get(page.id).unwrap().as_dict().unwrap().clone();
        pd.set("Contents", Object::Ref(ObjRef::new(6, 0)));
        upd.set(page.id, pd);
    });
    let annotated = add_annotation(&signed, "FreeText");
    for (name, bytes) in [("shadow", hide_and_replace), ("annot", annotated)] {
        assert_eq!(first_report(&bytes).verdict, Verdict::Disallowed, "{name}");
        let path = story.write(name, &bytes);
        if let Some(levels) = pyhanko(&path) {
            assert!(pyhanko_refuses(&levels[0]), "{name}: pyHanko {levels:?}");
        }
    }
}

#[test]
fn damaged_files_never_panic() {
    let mut story = Story::new();
    let once = signed_once(&mut story);
    let twice = story.sign(&once, "Trần Thị Bình", true);
    let (_, end) = signatures(&twice)[0];
    // Cut anywhere, or with bytes flipped: an answer or an error, never a panic.
    for cut in (0..twice.len()).step_by(89) {
        let _ = changes_after(
            Arc::new(MemSource::new(twice[..cut].to_vec())),
            end,
            Limits::default(),
        );
    }
    for at in (0..twice.len()).step_by(61) {
        let mut b = twice.clone();
        b[at] ^= 0x5a;
        let _ = changes_after(Arc::new(MemSource::new(b)), end, Limits::default());
    }
}

#[test]
fn a_dss_update_cannot_rewrite_objects_the_document_uses() {
    let mut story = Story::new();
    // An embedded file (6 0 obj) that the attacker also lists as a DSS certificate.
    let base = base_pdf(
        "/Names << /EmbeddedFiles << /Names [(a.txt) << /Type /Filespec /F (a.txt) \
         /EF << /F 6 0 R >> >>] >> >> /DSS 7 0 R ",
        &[&stream("so tien 1000"), "<< /Certs [6 0 R] >>"],
    );
    let signed = story.sign(&base, "Nguyễn Văn An", false);
    let attacked = append(&signed, |_, upd| {
        let data = b"so tien 9000".to_vec();
        let mut d = Dict::new();
        d.set("Length", Object::Int(data.len() as i64));
        upd.set(
            ObjRef::new(6, 0),
            Object::Stream(Stream {
                dict: d,
                data: StreamData::Owned(data),
            }),
        );
    });
    let r = first_report(&attacked);
    assert_eq!(
        disallowed(&r),
        vec!["OBJECT_OVERRIDDEN"],
        "{:#?}",
        r.changes
    );
}

#[test]
fn removing_a_widget_from_the_page_is_not_allowed() {
    let mut story = Story::new();
    let once = signed_once(&mut story);
    let twice = story.sign(&once, "Trần Thị Bình", false);
    let attacked = append(&twice, |doc, upd| {
        let page = doc.pages().unwrap()[0].clone();
        let mut pd = doc.get(page.id).unwrap().as_dict().unwrap().clone();
        pd.set("Annots", Object::Array(vec![]));
        upd.set(page.id, pd);
    });
    let r = first_report(&attacked);
    assert!(
        disallowed(&r).contains(&"ANNOTATION_CHANGED"),
        "{:#?}",
        r.changes
    );
    // The visible second signature is reported as such.
    let visible = story.sign(&once, "Lê Văn Cường", true);
    let r = first_report(&visible);
    assert!(r
        .changes
        .iter()
        .any(|c| c.code == "NEW_SIGNATURE_FIELD" && c.detail.contains("visible")));
}

#[test]
fn signing_an_existing_empty_signature_field_is_allowed() {
    // A document prepared with an empty signature field (7 0 obj) on the page.
    let base = base_pdf(
        "/AcroForm << /Fields [7 0 R] /SigFlags 1 >> ",
        &[
            "<< /Type /Font /Subtype /Type1 /BaseFont /Courier >>",
            "<< /FT /Sig /T (GiamDoc) /Type /Annot /Subtype /Widget /F 4 \
             /Rect [300 100 500 160] /P 3 0 R >>",
        ],
    )
    .replace_annots();
    let sign_field = |bytes: &[u8], extra: Option<(&str, Object)>| {
        append(bytes, |doc, upd| {
            let mut sig = Dict::new();
            sig.set("Type", Object::name("Sig"));
            sig.set("Filter", Object::name("Adobe.PPKLite"));
            let sig = upd.add(sig);
            let data = b"q 0 0 1 rg 0 0 200 60 re f Q".to_vec();
            let mut ad = Dict::new();
            ad.set("Type", Object::name("XObject"));
            ad.set("Subtype", Object::name("Form"));
            ad.set(
                "BBox",
                Object::Array(vec![0.into(), 0.into(), 200.into(), 60.into()]),
            );
            ad.set("Length", Object::Int(data.len() as i64));
            let ap = upd.add(Object::Stream(Stream {
                dict: ad,
                data: StreamData::Owned(data),
            }));
            let r = ObjRef::new(7, 0);
            let mut f = doc.get(r).unwrap().as_dict().unwrap().clone();
            f.set("V", Object::Ref(sig));
            let mut apd = Dict::new();
            apd.set("N", Object::Ref(ap));
            f.set("AP", apd);
            if let Some((k, val)) = extra {
                f.set(k, val);
            }
            upd.set(r, f);
        })
    };
    let signed = sign_field(&base, None);
    let r = report(&signed, base.len() as u64);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    assert_eq!(codes(&r), vec!["NEW_SIGNATURE_FIELD"]);
    assert_eq!(r.changes.len(), 3, "field, signature, appearance");

    // Moving the field while signing it is not allowed.
    let moved = sign_field(
        &base,
        Some((
            "Rect",
            Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
        )),
    );
    assert_eq!(
        report(&moved, base.len() as u64).verdict,
        Verdict::Disallowed
    );
}

trait ReplaceAnnots {
    fn replace_annots(self) -> Vec<u8>;
}

impl ReplaceAnnots for Vec<u8> {
    /// Put the empty signature widget (7 0 R) on the page and rebuild the cross-reference
    /// table (the offsets move).
    fn replace_annots(self) -> Vec<u8> {
        let text = String::from_utf8_lossy(&self).into_owned();
        let old = "/Contents 4 0 R /Resources";
        assert!(text.contains(old));
        rebuild(&text.replacen(old, "/Contents 4 0 R /Annots [7 0 R] /Resources", 1))
    }
}

/// Recompute the classic cross-reference table of a hand-written single-revision PDF.
fn rebuild(text: &str) -> Vec<u8> {
    let body_end = text.find("xref\n").unwrap();
    let body = &text[..body_end];
    let mut offsets = Vec::new();
    let mut n = 1;
    while let Some(at) = body.find(&format!("\n{n} 0 obj\n")) {
        offsets.push(at + 1);
        n += 1;
    }
    let mut out = body.as_bytes().to_vec();
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

/// Append a hand-written update: `objects` (number, body) written out, plus cross-reference
/// entries `extra` pointing wherever the attacker likes.
fn append_raw(bytes: &[u8], objects: &[(u32, String)], extra: &[(u32, u64)]) -> Vec<u8> {
    append_raw_freeing(bytes, objects, extra, &[])
}

/// [`append_raw`], also marking the objects `free` as freed.
fn append_raw_freeing(
    bytes: &[u8],
    objects: &[(u32, String)],
    extra: &[(u32, u64)],
    free: &[u32],
) -> Vec<u8> {
    let doc = open(bytes);
    let mut out = bytes.to_vec();
    let mut entries: Vec<(u32, u64)> = extra.to_vec();
    for (num, body) in objects {
        entries.push((*num, out.len() as u64));
        out.extend_from_slice(format!("{num} 0 obj\n{body}\nendobj\n").as_bytes());
    }
    entries.sort_unstable();
    let xref = out.len();
    out.extend_from_slice(b"xref\n");
    for (num, off) in &entries {
        out.extend_from_slice(format!("{num} 1\n{off:010} 00000 n \n").as_bytes());
    }
    for num in free {
        out.extend_from_slice(format!("{num} 1\n0000000000 00001 f \n").as_bytes());
    }
    let size = doc
        .size()
        .max(entries.iter().map(|e| e.0 + 1).max().unwrap_or(0));
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {size} /Root 1 0 R /Prev {} >>\nstartxref\n{xref}\n%%EOF\n",
            doc.startxref()
        )
        .as_bytes(),
    );
    out
}

#[test]
fn an_object_hidden_in_the_signed_bytes_cannot_be_brought_to_life() {
    let mut story = Story::new();
    // Stream 6 hides the body of an object 40 that no cross-reference entry lists.
    let hidden = "\n40 0 obj\n<< /Type /DSS /Certs [] >>\nendobj\n";
    let base = base_pdf("", &[&stream(hidden)]);
    let signed = story.sign(&base, "Nguyễn Văn An", false);
    let at = signed.windows(9).position(|w| w == b"\n40 0 obj").unwrap() as u64 + 1;
    let doc = open(&signed);
    let mut cat = doc.catalog().unwrap();
    cat.set("DSS", Object::Ref(ObjRef::new(40, 0)));
    let mut body = Vec::new();
    kyso_pdf::writer::write_object(&mut body, &Object::Dict(cat));
    let attacked = append_raw(
        &signed,
        &[(1, String::from_utf8(body).unwrap())],
        &[(40, at)],
    );
    let r = first_report(&attacked);
    let hidden = r
        .changes
        .iter()
        .find(|c| c.object.num == 40)
        .unwrap_or_else(|| panic!("{:#?}", r.changes));
    assert!(!hidden.allowed);
    assert_eq!(hidden.code, "OBJECT_OVERRIDDEN");
    assert!(hidden.detail.contains("earlier revision"));
    assert_eq!(r.verdict, Verdict::Disallowed);
}

/// pyHanko as a second, independent signer: sign `input` into `output` with a throwaway key.
const PYHANKO_SIGN: &str = r#"
import sys, datetime
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.sign import signers
from pyhanko.sign.fields import SigFieldSpec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko_certvalidator.registry import SimpleCertificateStore
from asn1crypto import keys as akeys, x509 as ax509
key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pyHanko test")])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(1).not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256()))
signer = signers.SimpleSigner(
    signing_cert=ax509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
    signing_key=akeys.PrivateKeyInfo.load(key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())),
    cert_registry=SimpleCertificateStore())
visible = len(sys.argv) > 3 and sys.argv[3] == 'visible'
with open(sys.argv[1], 'rb') as inf:
    w = IncrementalPdfFileWriter(inf, strict=False)
    spec = SigFieldSpec(sys.argv[4], box=(300, 100, 500, 160)) if visible else None
    certify = len(sys.argv) > 5 and sys.argv[5] == 'certify2'
    from pyhanko.sign.fields import MDPPerm
    meta = signers.PdfSignatureMetadata(field_name=sys.argv[4], certify=certify,
                                        docmdp_permissions=MDPPerm.FILL_FORMS)
    with open(sys.argv[2], 'wb') as outf:
        signers.sign_pdf(w, meta, signer=signer, output=outf, new_field_spec=spec)
"#;

/// Sign with pyHanko; `false` when pyHanko is missing (a listed skip, or a failure under
/// `KYSO_REQUIRE_ALL=1`). pyHanko failing to sign fails the test with its message.
fn pyhanko_sign(input: &Path, output: &Path, visible: bool, field: &str) -> bool {
    pyhanko_sign_as(input, output, visible, field, "approval")
}

/// [`pyhanko_sign`] as an approval signature or, with `mode` "certify2", a certification
/// signature with DocMDP P=2.
fn pyhanko_sign_as(input: &Path, output: &Path, visible: bool, field: &str, mode: &str) -> bool {
    kyso_testkit::need_python("pyhanko")
        && kyso_testkit::run(
            Command::new("python3")
                .arg("-c")
                .arg(PYHANKO_SIGN)
                .arg(input)
                .arg(output)
                .arg(if visible { "visible" } else { "invisible" })
                .arg(field)
                .arg(mode),
        )
        .ok_or_fail("pyHanko signing")
        .is_some()
}

#[test]
fn signatures_added_by_pyhanko_are_allowed_changes() {
    let mut story = Story::new();
    let once = signed_once(&mut story);
    let once_path = story.write("kyso", &once);
    let twice_path = story.path("pyhanko-visible");
    if !pyhanko_sign(&once_path, &twice_path, true, "PyHanko1") {
        return;
    }
    let thrice_path = story.path("pyhanko-invisible");
    assert!(pyhanko_sign(&twice_path, &thrice_path, false, "PyHanko2"));
    let thrice = std::fs::read(&thrice_path).unwrap();
    let r = first_report(&thrice);
    assert_eq!(r.later_revisions, 2);
    // pyHanko updates /Info (producer, modification date) when it signs: not allowed under
    // kyso's strict default, allowed under pyHanko's own policy. Everything else is allowed.
    assert_eq!(disallowed(&r), vec!["METADATA_CHANGED"], "{:#?}", r.changes);
    assert!(codes(&r).contains(&"NEW_SIGNATURE_FIELD"));
    let lenient = changes_after_with(
        Arc::new(MemSource::new(thrice.clone())),
        signatures(&thrice)[0].1,
        Limits::default(),
        Policy {
            allow_metadata: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        lenient.verdict,
        Verdict::AllowedOnly,
        "{:#?}",
        lenient.changes
    );

    // And kyso signing after pyHanko.
    let mixed = story.sign(&thrice, "Trần Thị Bình", true);
    let ends: Vec<u64> = revisions(&open(&mixed))
        .unwrap()
        .iter()
        .map(|r| r.end)
        .collect();
    assert_eq!(ends.len(), 5);
    // Signatures after the last pyHanko one see only kyso's allowed changes.
    for end in &ends[3..] {
        let r = report(&mixed, *end);
        assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    }
}

/// Append a hand-made signature field on page 1: a merged field/widget whose `/V` (if any) is a
/// new dictionary of type `value_type`, with a visible appearance if `visible`.
fn append_sig_field(bytes: &[u8], value_type: Option<&str>, visible: bool) -> Vec<u8> {
    let value_type = value_type.map(str::to_owned);
    append(bytes, move |doc, upd| {
        let page = doc.pages().unwrap()[0].clone();
        let mut field = Dict::new();
        field.set("Type", Object::name("Annot"));
        field.set("Subtype", Object::name("Widget"));
        field.set("FT", Object::name("Sig"));
        field.set("T", Object::string(b"Extra".to_vec()));
        field.set("P", Object::Ref(page.id));
        if let Some(t) = &value_type {
            let mut sd = Dict::new();
            sd.set("Type", Object::name(t));
            sd.set("Filter", Object::name("Adobe.PPKLite"));
            field.set("V", Object::Ref(upd.add(sd)));
        }
        if visible {
            let data = b"BT /F1 24 Tf 72 720 Td (Tong tien: 9.000.000 VND) Tj ET".to_vec();
            let mut ad = Dict::new();
            ad.set("Type", Object::name("XObject"));
            ad.set("Subtype", Object::name("Form"));
            ad.set(
                "BBox",
                Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
            );
            ad.set("Length", Object::Int(data.len() as i64));
            let ap = upd.add(Object::Stream(Stream {
                dict: ad,
                data: StreamData::Owned(data),
            }));
            let mut apd = Dict::new();
            apd.set("N", Object::Ref(ap));
            field.set("AP", apd);
            field.set(
                "Rect",
                Object::Array(vec![0.into(), 0.into(), 595.into(), 842.into()]),
            );
        } else {
            field.set(
                "Rect",
                Object::Array(vec![0.into(), 0.into(), 0.into(), 0.into()]),
            );
        }
        let field = upd.add(field);
        // Page /Annots and AcroForm /Fields, as kyso's signer would do it.
        let mut pd = doc.get(page.id).unwrap().as_dict().unwrap().clone();
        let mut annots = doc
            .resolve(pd.get("Annots").unwrap_or(&Object::Null))
            .unwrap()
            .as_array()
            .unwrap_or_default()
            .to_vec();
        annots.push(Object::Ref(field));
        pd.set("Annots", Object::Array(annots));
        upd.set(page.id, pd);
        let cat = doc.catalog().unwrap();
        let form_ref = cat.get("AcroForm").unwrap().as_ref().unwrap();
        let mut form = doc.get(form_ref).unwrap().as_dict().unwrap().clone();
        let mut fields = doc
            .resolve(form.get("Fields").unwrap())
            .unwrap()
            .as_array()
            .unwrap()
            .to_vec();
        fields.push(Object::Ref(field));
        form.set("Fields", Object::Array(fields));
        upd.set(form_ref, form);
    })
}

#[test]
fn document_timestamps_and_sneaky_signatures() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);

    let timestamped = append_sig_field(&signed, Some("DocTimeStamp"), false);
    let r = first_report(&timestamped);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    assert!(codes(&r).contains(&"DOC_TIMESTAMP"));

    // Sneaky signature: an unsigned signature field whose appearance draws new content over
    // the signed text.
    let sneaky = append_sig_field(&signed, None, true);
    let r = first_report(&sneaky);
    assert!(
        disallowed(&r).contains(&"ANNOTATION_OVERLAYS_CONTENT"),
        "{:#?}",
        r.changes
    );
    // An empty invisible signature field is harmless.
    let empty = append_sig_field(&signed, None, false);
    assert_eq!(first_report(&empty).verdict, Verdict::AllowedOnly);
    // Signed by the attacker, the visible field is not allowed either (issue 14/3; pyHanko
    // would allow it): its appearance covers the page's text, which the report names.
    let signed_visible = append_sig_field(&signed, Some("Sig"), true);
    let r = first_report(&signed_visible);
    assert_eq!(r.verdict, Verdict::Disallowed, "{:#?}", r.changes);
    assert!(
        r.changes
            .iter()
            .any(|c| c.code == "ANNOTATION_OVERLAYS_CONTENT"
                && !c.allowed
                && c.detail.contains("Tong tien")),
        "{:#?}",
        r.changes
    );
    assert!(r.changes.iter().all(|c| c.code != "NEW_SIGNATURE_OVERLAPS"));
}

/// A second visible signature drawn over the first one's stamp covers an earlier annotation:
/// not allowed (issue 14/3), and the report names the stamp covered. Neither is the Decree 30
/// seal (the test certificates are personal).
#[test]
fn a_visible_signature_over_another_signatures_stamp_is_not_allowed() {
    let mut story = Story::new();
    let once = signed_once(&mut story);
    let stamped = story.sign(&once, "Lê Văn Cường", true);
    // A second signature whose widget is drawn exactly where the first stamp is (kyso itself
    // would place a second stamp beside the first; another producer may not).
    let doc = open(&stamped);
    let page = doc.pages().unwrap()[0].clone();
    let annots = doc.resolve(page.dict.get("Annots").unwrap()).unwrap();
    let rect = annots
        .as_array()
        .unwrap()
        .iter()
        .map(|a| doc.resolve(a).unwrap().as_dict().unwrap().clone())
        .filter_map(|d| d.get("Rect").and_then(|r| doc.rect(r).unwrap()))
        .find(|r| r[2] - r[0] > 1.0)
        .unwrap();
    let over: Box<kyso_pades::WidgetBuilder<'static>> = Box::new(move |_doc, upd| {
        let (w, h) = (rect[2] - rect[0], rect[3] - rect[1]);
        let mut d = Dict::new();
        d.set("Type", Object::name("XObject"));
        d.set("Subtype", Object::name("Form"));
        d.set(
            "BBox",
            Object::Array(vec![
                Object::Int(0),
                Object::Int(0),
                Object::Real(w.into()),
                Object::Real(h.into()),
            ]),
        );
        let ap = upd.add(Object::Stream(Stream {
            dict: d,
            data: StreamData::Owned(format!("1 1 1 rg 0 0 {w} {h} re f").into_bytes()),
        }));
        Ok(kyso_pades::Widget {
            page: 0,
            rect,
            appearance: Some(ap),
        })
    });
    let twice = story.sign_with_widget(&stamped, "Trần Thị Bình", Some(over));
    let r = report(&twice, signatures(&twice)[1].1);
    assert_eq!(r.verdict, Verdict::Disallowed, "{:#?}", r.changes);
    let flagged: Vec<&str> = r
        .changes
        .iter()
        .filter(|c| c.code == "ANNOTATION_OVERLAYS_CONTENT")
        .map(|c| c.detail.as_str())
        .collect();
    assert!(
        flagged.iter().any(|d| d.contains("Sig-Lê Văn Cường")),
        "{:#?}",
        r.changes
    );
}

#[test]
fn freeing_or_adding_pages_is_not_allowed() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    let freed = append_raw_freeing(&signed, &[], &[], &[4]);
    let r = first_report(&freed);
    assert_eq!(disallowed(&r), vec!["OBJECT_FREED"], "{:#?}", r.changes);

    let more_pages = append(&signed, |doc, upd| {
        let pages_ref = doc
            .catalog()
            .unwrap()
            .get("Pages")
            .unwrap()
            .as_ref()
            .unwrap();
        let mut page = Dict::new();
        page.set("Type", Object::name("Page"));
        page.set("Parent", Object::Ref(pages_ref));
        page.set("Contents", Object::Ref(ObjRef::new(4, 0)));
        let page = upd.add(page);
        let mut pages = doc.get(pages_ref).unwrap().as_dict().unwrap().clone();
        let mut kids = pages.get("Kids").unwrap().as_array().unwrap().to_vec();
        kids.push(Object::Ref(page));
        pages.set("Kids", Object::Array(kids));
        pages.set("Count", Object::Int(2));
        upd.set(pages_ref, pages);
    });
    let r = first_report(&more_pages);
    assert_eq!(
        disallowed(&r),
        vec!["PAGE_TREE_CHANGED"],
        "{:#?}",
        r.changes
    );
}

#[test]
fn many_pages_are_analysed_in_reasonable_time() {
    // 600 pages, each with its own content stream and shared font.
    let n = 600;
    let mut bodies = vec![
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        format!(
            "<< /Type /Pages /Kids [{}] /Count {n} /MediaBox [0 0 595 842] >>",
            (0..n)
                .map(|i| format!("{} 0 R", 4 + 2 * i))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    for i in 0..n {
        bodies.push(format!(
            "<< /Type /Page /Parent 2 0 R /Contents {} 0 R /Resources << /Font << /F1 3 0 R >> >> >>",
            5 + 2 * i
        ));
        bodies.push(stream(&format!("BT /F1 12 Tf 72 720 Td (Trang {i}) Tj ET")));
    }
    let pdf = kyso_pdf::writer::classic_pdf(&bodies);
    let mut story = Story::new();
    let once = story.sign(&pdf, "Nguyễn Văn An", false);
    let twice = story.sign(&once, "Trần Thị Bình", true);
    let thrice = story.sign(&twice, "Lê Văn Cường", false);
    let started = std::time::Instant::now();
    let r = first_report(&thrice);
    eprintln!(
        "analysis of {n} pages, 2 later revisions: {:?}",
        started.elapsed()
    );
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

#[test]
fn object_bodies_without_cross_reference_entries_are_reported() {
    let mut story = Story::new();
    let signed = signed_once(&mut story);
    // A catalog update (allowed-looking DSS) whose bytes also carry a new content stream body
    // for object 4 that the cross-reference section does not list.
    let with_dss = add_dss(&signed, "0123456789ABCDEF0123456789ABCDEF01234567");
    let mut smuggled = signed.clone();
    smuggled.extend_from_slice(
        format!("\n4 0 obj\n{}\nendobj\n", stream("BT (9.000.000) Tj ET")).as_bytes(),
    );
    let attacked = add_dss(&smuggled, "0123456789ABCDEF0123456789ABCDEF01234567");
    assert_eq!(first_report(&with_dss).verdict, Verdict::AllowedOnly);
    let r = first_report(&attacked);
    let c = r
        .changes
        .iter()
        .find(|c| c.code == "OBJECT_ADDED")
        .unwrap_or_else(|| panic!("{:#?}", r.changes));
    assert_eq!(c.object, ObjRef::new(4, 0));
    assert!(!c.allowed);
    assert!(c.detail.contains("no cross-reference"));
}

#[test]
fn form_resources_may_grow_but_not_change() {
    let base = base_pdf(
        "/AcroForm << /Fields [] /DR << /Font << /Helv 5 0 R >> >> >> ",
        &[],
    );
    let update_dr = |font_name: &'static str, base_font: &'static str| {
        append(&base, move |doc, upd| {
            let mut f = Dict::new();
            f.set("Type", Object::name("Font"));
            f.set("Subtype", Object::name("Type1"));
            f.set("BaseFont", Object::name(base_font));
            let font = upd.add(f);
            let root = doc.catalog_ref().unwrap();
            let mut cat = doc.catalog().unwrap();
            let mut form = cat.get("AcroForm").unwrap().as_dict().unwrap().clone();
            let mut dr = form.get("DR").unwrap().as_dict().unwrap().clone();
            let mut fonts = dr.get("Font").unwrap().as_dict().unwrap().clone();
            fonts.set(font_name, Object::Ref(font));
            dr.set("Font", fonts);
            form.set("DR", dr);
            cat.set("AcroForm", form);
            upd.set(root, cat);
        })
    };
    let grown = update_dr("ZaDb", "ZapfDingbats");
    let r = report(&grown, base.len() as u64);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    let swapped = update_dr("Helv", "Courier");
    let r = report(&swapped, base.len() as u64);
    assert!(
        disallowed(&r).contains(&"CATALOG_CHANGED"),
        "{:#?}",
        r.changes
    );
}

const XMP_OK: &str = "<?xpacket begin=\"\u{feff}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
    <x:xmpmeta xmlns:x=\"adobe:ns:meta/\"><rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\
    <rdf:Description rdf:about=\"\" xmlns:dc=\"http://purl.org/dc/elements/1.1/\"><dc:format>application/pdf</dc:format>\
    </rdf:Description></rdf:RDF></x:xmpmeta>\n<?xpacket end=\"w\"?>";

fn xmp_stream(xml: &str, compressed: bool) -> Object {
    let mut d = Dict::new();
    d.set("Type", Object::name("Metadata"));
    d.set("Subtype", Object::name("XML"));
    let data = if compressed {
        d.set("Filter", Object::name("FlateDecode"));
        kyso_pdf::filter::deflate(xml.as_bytes())
    } else {
        xml.as_bytes().to_vec()
    };
    Object::Stream(Stream {
        dict: d,
        data: StreamData::Owned(data),
    })
}

fn lenient_first_report(bytes: &[u8]) -> ChangeReport {
    changes_after_with(
        Arc::new(MemSource::new(bytes.to_vec())),
        signatures(bytes)[0].1,
        Limits::default(),
        Policy {
            allow_metadata: true,
            ..Default::default()
        },
    )
    .unwrap()
}

/// Issue 24: an XMP update after a signature is allowed (under pyHanko's lenient policy, the
/// one `kyso verify` uses) only when the new metadata is well-formed XML with declared
/// prefixes; otherwise it is a disallowed `METADATA_CHANGED`, as in pyHanko.
#[test]
fn xmp_updates_after_a_signature_must_be_well_formed() {
    let mut story = Story::new();
    let meta = format!(
        "<< /Type /Metadata /Subtype /XML /Length {} >>\nstream\n{XMP_OK}\nendstream",
        XMP_OK.len()
    );
    let signed = story.sign(
        &base_pdf("/Metadata 6 0 R ", &[&meta]),
        "Nguyễn Văn An",
        false,
    );
    let with_modify_date = XMP_OK.replace(
        " xmlns:dc=",
        " xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" xmp:ModifyDate=\"2026-12-06T00:00:00Z\" xmlns:dc=",
    );
    let other_prefix = with_modify_date
        .replace("xmp:", "xap:")
        .replace("xmlns:xmp", "xmlns:xap");
    let undeclared = XMP_OK.replace(
        "<dc:format>",
        "<xmp:ModifyDate>2026-12-06T00:00:00Z</xmp:ModifyDate><dc:format>",
    );
    let unclosed = XMP_OK.replace("</rdf:RDF>", "");
    let not_xmp = "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>";
    // (XMP, compressed, re-pointed to a new object, allowed, name for pyHanko's file)
    let cases = [
        (with_modify_date.as_str(), false, false, true, "modify-date"),
        (
            other_prefix.as_str(),
            true,
            false,
            true,
            "other-prefix-compressed",
        ),
        (with_modify_date.as_str(), false, true, true, "repointed"),
        (
            undeclared.as_str(),
            false,
            false,
            false,
            "undeclared-prefix",
        ),
        (
            undeclared.as_str(),
            true,
            true,
            false,
            "undeclared-repointed",
        ),
        (unclosed.as_str(), false, false, false, "unclosed"),
        (not_xmp, false, false, false, "not-xmpmeta"),
    ];
    // pyHanko as the oracle: missing, it fails the test under KYSO_REQUIRE_ALL=1, else a listed
    // skip of that part.
    let have_pyhanko = kyso_testkit::need_python("pyhanko");
    for (xml, compressed, repoint, allowed, name) in cases {
        let updated = append(&signed, |doc, upd| {
            let stream = xmp_stream(xml, compressed);
            if repoint {
                let r = upd.add(stream);
                let mut cat = doc.catalog().unwrap();
                cat.set("Metadata", Object::Ref(r));
                upd.set(doc.catalog_ref().unwrap(), cat);
            } else {
                upd.set(ObjRef::new(6, 0), stream);
            }
        });
        let r = lenient_first_report(&updated);
        if allowed {
            assert_eq!(r.verdict, Verdict::AllowedOnly, "{name}: {:#?}", r.changes);
            assert!(codes(&r).contains(&"METADATA_CHANGED"), "{name}");
        } else {
            assert_eq!(
                disallowed(&r),
                vec!["METADATA_CHANGED"],
                "{name}: {:#?}",
                r.changes
            );
            assert!(
                r.changes
                    .iter()
                    .any(|c| !c.allowed && c.detail.contains("XMP metadata is not well-formed")),
                "{name}: {:#?}",
                r.changes
            );
        }
        let path = story.write(name, &updated);
        if have_pyhanko {
            let levels = pyhanko(&path).expect("pyHanko failed");
            assert_eq!(
                pyhanko_allows(&levels[0]),
                allowed,
                "{name}: pyHanko {levels:?}"
            );
        }
    }
    // A /Metadata that is not an indirect reference is refused too (as pyHanko does).
    let direct = append(&signed, |doc, upd| {
        let mut cat = doc.catalog().unwrap();
        cat.set("Metadata", Object::name("XML"));
        upd.set(doc.catalog_ref().unwrap(), cat);
    });
    assert_eq!(
        disallowed(&lenient_first_report(&direct)),
        vec!["METADATA_CHANGED"]
    );
}

/// Issue 14: objects kyso rewrites keep every value they do not change as it was written.
#[test]
fn signing_rewrites_pages_and_forms_without_changing_a_value() {
    let mut story = Story::new();
    let content = "BT /F1 12 Tf 72 720 Td (Xin chao) Tj ET";
    // Inherited /MediaBox and /Resources on /Pages, long reals, a hex string, escaped names,
    // an escaped literal string, a direct /Annots array on page 1, an indirect one on page 2,
    // an AcroForm with a direct /Fields array and a /DA string.
    let bodies = [
        "<< /Type /Catalog /Pages 2 0 R /AcroForm << /Fields [] /DA (/Helv 0 Tf 0 g) /NeedAppearances false >> /PageLabels << /Nums [0 << /P (Trang\\040) >>] >> >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R 7 0 R] /Count 2 /MediaBox [0 0 595.303937007874 841.889763779528] /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /CropBox [0.0 0 595.30393700787400 841.88976377952800] /UserUnit 1.000000000000000001 /PieceInfo << /K#C3#A9y#20x <4b79 736f> /Lit (a(b)c\\101\\)) /Big 123456789012345678901234567890 >> /Annots [] >>".to_string(),
        stream(content),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
        "[]".to_string(),
        "<< /Type /Page /Parent 2 0 R /Contents 4 0 R /Rotate 90 /Annots 6 0 R /Dur 0.333333333333333314829616256247 >>".to_string(),
    ];
    let base = kyso_pdf::writer::classic_pdf(&bodies);
    let once = story.sign(&base, "Nguyễn Văn An", true);
    let tail = &once[base.len()..];
    let text = String::from_utf8_lossy(tail);
    for lexeme in [
        "595.303937007874 841.889763779528",
        "[0.0 0 595.30393700787400 841.88976377952800]",
        "/UserUnit 1.000000000000000001",
        "/K#C3#A9y#20x <4b79 736f>",
        "/Lit (a(b)c\\101\\))",
        "/Big 123456789012345678901234567890",
        "/DA (/Helv 0 Tf 0 g)",
    ] {
        if lexeme.starts_with("595.") {
            // /Pages is not rewritten at all.
            assert!(!text.contains(lexeme), "{lexeme}");
            continue;
        }
        assert!(text.contains(lexeme), "{lexeme} not kept in:\n{text}");
    }
    // Page 2 (indirect /Annots) and its /Dur are not rewritten; signing on page 2 rewrites
    // only the array.
    let twice = story.sign(&once, "Trần Thị Bình", false);
    let r = first_report(&twice);
    assert_eq!(r.verdict, Verdict::AllowedOnly, "{:#?}", r.changes);
    // Every object of the first update that the second rewrites is value-equal apart from the
    // arrays that grew (and the AcroForm holding one).
    let (a, b) = (open(&once), open(&twice));
    for (num, _) in b.xref().iter() {
        let r = ObjRef::new(*num, 0);
        let (Ok(old), Ok(new)) = (a.get(r), b.get(r)) else {
            continue;
        };
        if let (Some(o), Some(n)) = (old.as_dict(), new.as_dict()) {
            for (k, v) in o.iter() {
                if !["Annots", "Fields", "AcroForm"].contains(&k.as_str().as_ref()) {
                    assert_eq!(n.get(&k.as_str()), Some(v), "{r} /{}", k.as_str());
                }
            }
        }
    }
    let path = story.write("fidelity", &twice);
    if kyso_testkit::need_python("pyhanko") {
        let levels = pyhanko(&path).expect("pyHanko failed");
        assert!(
            levels.iter().all(|l| pyhanko_allows(l)),
            "pyHanko: {levels:?}"
        );
    }
}
