//! The archive (NA-17, Decree 30 chapter IV): every registered outgoing and incoming document
//! filed as an entry of its agency's archive, grouped into dossiers (hồ sơ) that each keep a
//! retention period, and found again by a search over its metadata and its text.
//!
//! This module owns the rules: what a dossier's code, title and retention may be, what a search
//! asks ([`Query`], parsed from a form or the API), and the *tags* that let one text index answer
//! a search's filters (agency subtree, document type, months of the document's date) as words.
//! The store turns a [`Query`] into its engine's full-text query.

use serde::Deserialize as _;
use time::{Date, Month};

use crate::fields::{self, FieldError};
use crate::named_enum;
use crate::text::{fold, query_words, words};

named_enum! {
    /// Which side of the exchange an archived document was on.
    pub enum EntryKind ("archive entry kind", "loại văn bản lưu") {
        /// A document the agency issued (văn bản đi), filed once registered.
        Outgoing => "outgoing", "Văn bản đi", "Outgoing";
        /// A document the agency received (văn bản đến), filed once registered.
        Incoming => "incoming", "Văn bản đến", "Incoming";
    }
}

named_enum! {
    /// Where a dossier stands (Decree 30 art. 28–31: opened, closed once its matter ends,
    /// handed over to the agency's archive, later to the historical archive).
    pub enum DossierState ("dossier state", "trạng thái hồ sơ") {
        /// Documents are still being filed into it.
        Open => "open", "Đang lập", "Open";
        /// Its matter is done: nothing more is filed, its dates are fixed.
        Closed => "closed", "Đã kết thúc", "Closed";
        /// Exported as a hand-over package to the historical archive.
        HandedOver => "handed_over", "Đã nộp lưu", "Handed over";
    }
}

named_enum! {
    /// Whether an entry's text layer is in the index.
    pub enum TextState ("text layer", "lớp văn bản") {
        /// The PDF's text was extracted and indexed: its words find it.
        Indexed => "indexed", "Đã đánh chỉ mục nội dung", "Text indexed";
        /// The PDF has no text layer (a scan without OCR): only its metadata finds it.
        NoText => "no_text", "Bản quét, không có lớp văn bản", "No text layer (a scan)";
        /// The PDF's text could not be read (its reason is kept): only its metadata finds it.
        Unreadable => "unreadable", "Không đọc được nội dung", "Text could not be read";
    }
}

/// The retention periods a dossier may keep (Circular 10/2022/TT-BNV's table of periods), in
/// years; `None` is permanent (*vĩnh viễn*).
pub const RETENTION_YEARS: [u16; 7] = [5, 10, 15, 20, 30, 50, 70];

/// A dossier's retention period: a number of years from the year the dossier closes, or
/// permanent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Retention {
    Years(u16),
    Permanent,
}

impl Retention {
    /// The form's value: `permanent` or a number of years among [`RETENTION_YEARS`].
    pub fn parse(field: &'static str, value: &str) -> Result<Retention, FieldError> {
        let v = value.trim();
        if v == "permanent" {
            return Ok(Retention::Permanent);
        }
        match v.parse::<u16>() {
            Ok(y) if RETENTION_YEARS.contains(&y) => Ok(Retention::Years(y)),
            _ => Err(FieldError::new(
                field,
                "Hãy chọn thời hạn bảo quản: vĩnh viễn hoặc 5, 10, 15, 20, 30, 50, 70 năm.",
                "Choose the retention period: permanent or 5, 10, 15, 20, 30, 50 or 70 years.",
            )),
        }
    }

    /// Stored as a number of years, 0 for permanent.
    pub fn years(self) -> i64 {
        match self {
            Retention::Years(y) => i64::from(y),
            Retention::Permanent => 0,
        }
    }

    pub fn from_years(y: i64) -> Retention {
        match u16::try_from(y) {
            Ok(y) if y > 0 => Retention::Years(y),
            _ => Retention::Permanent,
        }
    }

    /// The form's value of this period.
    pub fn value(self) -> String {
        match self {
            Retention::Years(y) => y.to_string(),
            Retention::Permanent => "permanent".into(),
        }
    }

    pub fn label_vi(self) -> String {
        match self {
            Retention::Years(y) => format!("{y} năm"),
            Retention::Permanent => "Vĩnh viễn".into(),
        }
    }

    pub fn label_en(self) -> String {
        match self {
            Retention::Years(y) => format!("{y} years"),
            Retention::Permanent => "Permanent".into(),
        }
    }

    /// The last year a dossier closed in `closed_year` must be kept; `None` when permanent.
    pub fn keep_until(self, closed_year: i32) -> Option<i32> {
        match self {
            Retention::Years(y) => Some(closed_year + i32::from(y)),
            Retention::Permanent => None,
        }
    }
}

/// A dossier's code (*số và ký hiệu hồ sơ*, e.g. `01.TH`, `03/VP`): 1–30 letters, digits and
/// `.`, `-`, `/`, unique in its agency's list of the year.
pub fn dossier_code(field: &'static str, value: &str) -> Result<String, FieldError> {
    let v = fields::text(field, value, true)?;
    let ok = v.chars().count() <= 30
        && v.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '/'));
    if !ok {
        return Err(FieldError::new(
            field,
            "Số và ký hiệu hồ sơ chỉ gồm chữ, số và các dấu . - / (tối đa 30 ký tự), ví dụ 01.TH.",
            "A dossier code holds letters, digits and . - / (at most 30), e.g. 01.TH.",
        ));
    }
    Ok(v)
}

/// The tag of an agency: every entry holds the tags of its agency and of each agency above it,
/// so a subtree is one tag. Tags begin with `_`, which no folded word does, and go in a column
/// (or a vector) of their own: a typed word never matches a tag.
pub fn agency_tag(agency_id: i64) -> String {
    format!("_a{agency_id}")
}

/// The tag of a document type, from its name as stored (`quyet_dinh`) or as written.
pub fn type_tag(doc_type: &str) -> String {
    let folded: String = fold(doc_type)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    format!("_t{folded}")
}

/// The tag of a month (`_m202503`).
pub fn month_tag(year: i32, month: Month) -> String {
    format!("_m{year:04}{:02}", u8::from(month))
}

/// The agency ids of a materialized path (`/1/5/9/` → 1, 5, 9).
pub fn path_ids(path: &str) -> Vec<i64> {
    path.split('/').filter_map(|s| s.parse().ok()).collect()
}

/// Every tag of an entry: its agency's subtree, its type, the month of its date.
pub fn entry_tags(agency_path: &str, doc_type: &str, doc_date: Option<Date>) -> Vec<String> {
    let mut tags: Vec<String> = path_ids(agency_path).into_iter().map(agency_tag).collect();
    if !doc_type.trim().is_empty() {
        tags.push(type_tag(doc_type));
    }
    if let Some(d) = doc_date {
        tags.push(month_tag(d.year(), d.month()));
    }
    tags
}

/// A date range spanning more months than this is filtered by the dates alone, not by tags.
pub const MAX_MONTH_TAGS: usize = 36;

/// The month tags covering `from..=to`, or `None` when the range is open or too long for tags.
pub fn month_tags(from: Option<Date>, to: Option<Date>) -> Option<Vec<String>> {
    let (from, to) = (from?, to?);
    let mut out = Vec::new();
    let (mut y, mut m) = (from.year(), from.month());
    while (y, u8::from(m)) <= (to.year(), u8::from(to.month())) {
        if out.len() == MAX_MONTH_TAGS {
            return None;
        }
        out.push(month_tag(y, m));
        if m == Month::December {
            y += 1;
        }
        m = m.next();
    }
    Some(out)
}

/// The indexed text of an entry, in the index's five parts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexedText {
    /// The number and notation (`15/QĐ-UBND` → `15 qd ubnd`), the arrival number.
    pub code: String,
    /// The subject (*trích yếu*).
    pub subject: String,
    /// Who signed.
    pub signer: String,
    /// The other side (sender or recipients), the document type's name, the dossier.
    pub meta: String,
    /// The PDF's text layer.
    pub body: String,
}

/// At most this many characters of a document's text layer are indexed (a long annex's first
/// hundred pages, at about 2,000 characters a page).
pub const MAX_BODY_CHARS: usize = 200_000;

impl IndexedText {
    /// The folded words of each part, joined by spaces (what both engines' indexes are given).
    pub fn folded(code: &str, subject: &str, signer: &str, meta: &str, body: &str) -> IndexedText {
        let join = |s: &str| words(s).join(" ");
        let body: String = body.chars().take(MAX_BODY_CHARS).collect();
        IndexedText {
            code: join(code),
            subject: join(subject),
            signer: join(signer),
            meta: join(meta),
            body: join(&body),
        }
    }
}

/// An id of a form's field: a number, or nothing when the field is empty (a search form sends
/// every field, the empty ones as `agency_id=`) or not a number.
fn optional_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Number(i64),
        Text(String),
    }
    Ok(match Option::<Raw>::deserialize(d)? {
        Some(Raw::Number(n)) => Some(n),
        Some(Raw::Text(t)) => t.trim().parse().ok(),
        None => None,
    })
}

/// A search of the archive, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SearchForm {
    /// Words anywhere: the number and notation, subject, signer, sender or recipients, text.
    #[serde(default)]
    pub q: String,
    /// The number and notation (`15/QĐ-UBND`), or part of it.
    #[serde(default)]
    pub number: String,
    /// Words of the signer's name.
    #[serde(default)]
    pub signer: String,
    /// Only this agency's subtree (its id).
    #[serde(default, deserialize_with = "optional_id")]
    pub agency_id: Option<i64>,
    /// Only this document type (its stable name, e.g. `quyet_dinh`).
    #[serde(default)]
    pub doc_type: String,
    /// `outgoing` or `incoming`; empty for both.
    #[serde(default)]
    pub kind: String,
    /// From this date of the document (dd/mm/yyyy or yyyy-mm-dd).
    #[serde(default)]
    pub from: String,
    /// Up to this date of the document.
    #[serde(default)]
    pub to: String,
    /// Only the entries of this dossier.
    #[serde(default, deserialize_with = "optional_id")]
    pub dossier_id: Option<i64>,
    /// The page after this entry id (the `next` of the previous page).
    #[serde(default, deserialize_with = "optional_id")]
    pub after: Option<i64>,
}

/// A search of the archive, checked: folded words per part and the filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub words: Vec<String>,
    pub code: Vec<String>,
    pub signer: Vec<String>,
    pub agency_id: Option<i64>,
    pub doc_type: Option<String>,
    pub kind: Option<EntryKind>,
    pub from: Option<Date>,
    pub to: Option<Date>,
    pub dossier_id: Option<i64>,
    pub after: Option<i64>,
}

impl Query {
    pub fn parse(f: &SearchForm) -> Result<Query, FieldError> {
        for (field, v) in [("q", &f.q), ("number", &f.number), ("signer", &f.signer)] {
            fields::text(field, v, false)?;
        }
        let from = fields::parse_date("from", &f.from)?;
        let to = fields::parse_date("to", &f.to)?;
        if let (Some(a), Some(b)) = (from, to) {
            if a > b {
                return Err(FieldError::new(
                    "to",
                    "Ngày cuối của khoảng tìm phải sau ngày đầu.",
                    "The range's last day must come after its first.",
                ));
            }
        }
        let kind = match f.kind.trim() {
            "" => None,
            k => Some(fields::one_of("kind", k, &["outgoing", "incoming"])?),
        };
        let doc_type = Some(f.doc_type.trim())
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok(Query {
            words: query_words(&f.q),
            code: query_words(&f.number),
            signer: query_words(&f.signer),
            agency_id: f.agency_id,
            doc_type,
            kind,
            from,
            to,
            dossier_id: f.dossier_id,
            after: f.after,
        })
    }

    /// Whether the search names any word (else its filters alone choose the entries).
    pub fn has_words(&self) -> bool {
        !(self.words.is_empty() && self.code.is_empty() && self.signer.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn retention_parses_the_table_and_permanent() {
        assert_eq!(Retention::parse("r", "10"), Ok(Retention::Years(10)));
        assert_eq!(Retention::parse("r", "permanent"), Ok(Retention::Permanent));
        assert!(Retention::parse("r", "7").is_err());
        assert!(Retention::parse("r", "").is_err());
        assert_eq!(Retention::from_years(0), Retention::Permanent);
        assert_eq!(Retention::from_years(20).years(), 20);
        assert_eq!(Retention::Years(10).keep_until(2026), Some(2036));
        assert_eq!(Retention::Permanent.label_vi(), "Vĩnh viễn");
    }

    #[test]
    fn dossier_codes() {
        assert_eq!(dossier_code("code", " 01.TH ").unwrap(), "01.TH");
        assert!(dossier_code("code", "03/VP-HC").is_ok());
        assert!(dossier_code("code", "").is_err());
        assert!(dossier_code("code", "a b").is_err());
        assert!(dossier_code("code", &"x".repeat(31)).is_err());
    }

    #[test]
    fn tags_cover_the_path_type_and_month() {
        let tags = entry_tags("/1/5/9/", "quyet_dinh", Some(date!(2026 - 03 - 14)));
        assert_eq!(tags, ["_a1", "_a5", "_a9", "_tquyetdinh", "_m202603"]);
        assert_eq!(type_tag("Quyết định"), "_tquyetdinh");
        // A tag is never a word a query can hold.
        assert!(query_words("_a1 _m202603")
            .iter()
            .all(|w| !w.starts_with('_')));
    }

    #[test]
    fn month_tags_span_a_range_or_give_up() {
        let t = month_tags(Some(date!(2025 - 11 - 20)), Some(date!(2026 - 02 - 01))).unwrap();
        assert_eq!(t, ["_m202511", "_m202512", "_m202601", "_m202602"]);
        assert_eq!(month_tags(Some(date!(2026 - 01 - 01)), None), None);
        assert_eq!(
            month_tags(Some(date!(2020 - 01 - 01)), Some(date!(2026 - 01 - 01))),
            None
        );
    }

    #[test]
    fn a_query_folds_its_words_and_checks_its_dates() {
        let q = Query::parse(&SearchForm {
            q: "Quyết định  PHÊ DUYỆT".into(),
            number: "15/QĐ-UBND".into(),
            signer: "Trần Thị".into(),
            from: "01/03/2026".into(),
            to: "2026-03-31".into(),
            kind: "incoming".into(),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(q.words, ["quyet", "dinh", "phe", "duyet"]);
        assert_eq!(q.code, ["15", "qd", "ubnd"]);
        assert_eq!(q.signer, ["tran", "thi"]);
        assert_eq!(q.kind, Some(EntryKind::Incoming));
        assert_eq!(q.from, Some(date!(2026 - 03 - 01)));
        assert!(q.has_words());
        let backwards = SearchForm {
            from: "02/03/2026".into(),
            to: "01/03/2026".into(),
            ..Default::default()
        };
        assert_eq!(Query::parse(&backwards).unwrap_err().field, "to");
        let bad_kind = SearchForm {
            kind: "sideways".into(),
            ..Default::default()
        };
        assert_eq!(Query::parse(&bad_kind).unwrap_err().field, "kind");
        assert!(!Query::parse(&SearchForm::default()).unwrap().has_words());
    }

    #[test]
    fn a_form_s_empty_ids_are_none() {
        let f: SearchForm =
            serde_urlencoded::from_str("q=ke+hoach&agency_id=&dossier_id=7&after=x").unwrap();
        assert_eq!((f.agency_id, f.dossier_id, f.after), (None, Some(7), None));
        let j: SearchForm = serde_json::from_str(r#"{"agency_id": 5}"#).unwrap();
        assert_eq!(j.agency_id, Some(5));
    }

    #[test]
    fn indexed_text_is_folded_words() {
        let t = IndexedText::folded(
            "15/QĐ-UBND",
            "Về việc phê duyệt",
            "Trần Thị Hà",
            "",
            "Điều 1.",
        );
        assert_eq!(t.code, "15 qd ubnd");
        assert_eq!(t.subject, "duyet phe ve viec");
        assert_eq!(t.body, "1 dieu");
    }
}
