//! The issuing body an official document names (Decree 30/2020/NĐ-CP, Appendix I: the name of
//! the issuing agency, under the name of its governing body, at the top left of the first
//! page), and whether an organization signature's certificate names that body — the check a
//! clerk makes on an agency's seal.

use kyso_pdf::text::page_text;
use kyso_pdf::Document;

/// The header at the top left of page 1: governing body and issuing body lines, top to bottom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuingBody {
    pub lines: Vec<String>,
}

/// Share of the page, from the top, where the header is looked for.
const HEADER_HEIGHT: f64 = 0.22;
/// Share of the page, from the left, that the left header column occupies at most.
const HEADER_WIDTH: f64 = 0.55;

/// The header lines of `doc`'s first page (`None` when the page has no upright text there).
pub fn issuing_body(doc: &Document) -> Option<IssuingBody> {
    let page = doc.pages().ok()?.into_iter().next()?;
    let [x0, y0, x1, y1] = page.crop_box;
    let (left_end, top_start) = (
        x0 + HEADER_WIDTH * (x1 - x0),
        y1 - HEADER_HEIGHT * (y1 - y0),
    );
    let text = page_text(doc, 0).ok()?;
    let mut lines = Vec::new();
    for line in &text.lines {
        if line.dir != [1.0, 0.0] || line.bbox[1] < top_start {
            continue;
        }
        // The left column: words from the left until a gap of more than three quarters of
        // the type size (word spaces are about a quarter; the national motto's column starts
        // there).
        let mut sorted: Vec<&kyso_pdf::text::Word> = line.words.iter().collect();
        sorted.sort_by(|a, b| a.bbox[0].total_cmp(&b.bbox[0]));
        let mut words: Vec<&str> = Vec::new();
        let mut last_end: Option<f64> = None;
        for w in sorted {
            if w.bbox[2] > left_end
                || last_end.is_some_and(|e| w.bbox[0] - e > 0.75 * line.font_size)
            {
                break;
            }
            words.push(w.text.as_str());
            last_end = Some(w.bbox[2]);
        }
        let joined = words.join(" ");
        // The document number line ("Số: 12/TB-…") ends the header.
        if norm(&joined).starts_with("số") {
            break;
        }
        if !words.is_empty() {
            lines.push(joined);
        }
        if lines.len() == 3 {
            break;
        }
    }
    (!lines.is_empty()).then_some(IssuingBody { lines })
}

impl IssuingBody {
    /// The header as one line.
    pub fn text(&self) -> String {
        self.lines.join(" / ")
    }

    /// Does a certificate with these names (CN, O) name the issuing body? A name matches a
    /// header line exactly, or starts with it and goes on only with words of another header
    /// line ("Sở Khoa học và Công nghệ tỉnh Demo" under "ỦY BAN NHÂN DÂN TỈNH DEMO" /
    /// "SỞ KHOA HỌC VÀ CÔNG NGHỆ"); case and spacing do not matter.
    pub fn named_by(&self, names: &[String]) -> bool {
        let lines: Vec<String> = self.lines.iter().map(|l| norm(l)).collect();
        names.iter().map(|n| norm(n)).any(|name| {
            lines.iter().enumerate().any(|(i, line)| {
                if line.split(' ').count() < 2 {
                    return false;
                }
                if name == *line {
                    return true;
                }
                let Some(rest) = name.strip_prefix(line.as_str()) else {
                    return false;
                };
                let rest = rest.trim();
                !rest.is_empty()
                    && rest.len() < name.len()
                    && rest.starts_with(|c: char| c.is_alphanumeric())
                    && name.as_bytes().get(line.len()) == Some(&b' ')
                    && lines
                        .iter()
                        .enumerate()
                        .any(|(j, other)| j != i && contains_words(other, rest))
            })
        })
    }
}

/// Lower case, single spaces.
fn norm(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// `needle`'s words appear in `hay` as consecutive whole words.
fn contains_words(hay: &str, needle: &str) -> bool {
    let h: Vec<&str> = hay.split(' ').collect();
    let n: Vec<&str> = needle.split(' ').collect();
    !n.is_empty() && h.windows(n.len()).any(|w| w == n.as_slice())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(lines: &[&str]) -> IssuingBody {
        IssuingBody {
            lines: lines.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn a_department_is_named_with_or_without_its_province() {
        let b = body(&["ỦY BAN NHÂN DÂN TỈNH DEMO", "SỞ KHOA HỌC VÀ CÔNG NGHỆ"]);
        assert!(b.named_by(&["Sở Khoa học và Công nghệ".into()]));
        assert!(b.named_by(&["Sở Khoa học và Công nghệ tỉnh Demo".into()]));
        assert!(b.named_by(&["Ủy ban nhân dân tỉnh Demo".into()]));
        // Another province's department, or another department, is not this body.
        assert!(!b.named_by(&["Sở Khoa học và Công nghệ tỉnh Khác".into()]));
        assert!(!b.named_by(&["Sở Tài chính tỉnh Demo".into()]));
        assert!(!b.named_by(&["Sở".into()]));
        assert!(!body(&["SỞ"]).named_by(&["Sở".into()]));
    }
}
