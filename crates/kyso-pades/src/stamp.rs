//! What a signature's stamp says: the text lines of a signature field's visible appearance
//! (the Decree 30 attachment and copy stamps of `crate::forms` are text only: the main
//! document's number and notation, or the copy form, the copying body and the copy's number,
//! and the signing time).
//!
//! The server reads them from an uploaded attachment or copy to refuse a stamp that names
//! another document than the one it belongs to ([`carries_number`]): the signature itself
//! cannot say which document an attachment goes with, the stamp is what a reader sees.
//! The appearance is interpreted with `kyso_pdf::text` (fonts, ToUnicode maps, nested form
//! XObjects) within the document's limits, so a hostile appearance costs no more than a page.

use kyso_pdf::text::{self, content, layout, Resolver as _};
use kyso_pdf::{Dict, Document, Object};

use crate::{Error, Result};

/// Most widgets of one field read.
const MAX_WIDGETS: usize = 16;

/// The text lines (NFC, words separated by single spaces, top to bottom) shown by the normal
/// appearance of every widget of the signature field named `field` (its fully qualified
/// name); empty when it has no visible appearance. An unknown field is an error.
pub fn stamp_lines(doc: &Document, field: &str) -> Result<Vec<String>> {
    let node = crate::fields::form_fields(doc)?
        .into_iter()
        .find(|f| f.full_name == field)
        .ok_or(Error::Structure(
            "the signature field is not in the document",
        ))?;
    // A merged field/widget carries its own /AP; otherwise its /Kids are the widgets.
    let mut widgets: Vec<Dict> = Vec::new();
    if node.dict.get("AP").is_some() {
        widgets.push(node.dict.clone());
    } else if let Some(kids) = node.dict.get("Kids") {
        let kids = doc.resolve(kids)?;
        for k in kids.as_array().unwrap_or_default().iter().take(MAX_WIDGETS) {
            if let Ok(d) = doc.resolve_dict(k, "widget") {
                widgets.push(d);
            }
        }
    }
    let limits = doc.limits();
    let mut out = Vec::new();
    for w in widgets {
        let Some(ap) = w.get("AP") else { continue };
        let ap = doc.resolve(ap)?;
        let Some(n) = ap.as_dict().and_then(|d| d.get("N")) else {
            continue;
        };
        let Object::Stream(stream) = doc.resolve(n)? else {
            continue;
        };
        let data = doc.stream_data(&stream)?;
        let resources = match stream.dict.get("Resources") {
            Some(r) => match doc.resolve(r)? {
                Object::Dict(d) => d,
                _ => Dict::new(),
            },
            None => Dict::new(),
        };
        let glyphs = text::interpret_with(doc, &data, &resources, content::IDENTITY, limits)?;
        out.extend(layout::lines(&glyphs).into_iter().map(|l| l.text));
    }
    Ok(out)
}

/// Whether one of `lines` carries `number` (the number and notation "01/QĐ-SKHCN", or a copy's
/// "05/SY") as a whole: white space, Unicode composition and case aside, not as part of a
/// longer number ("101/QĐ-SKHCN", "01/QĐ-SKHCN-VP" do not carry "01/QĐ-SKHCN"). A line may
/// say more around it ("Số: 01/QĐ-SKHCN", "Kèm theo Quyết định số 01/QĐ-SKHCN").
pub fn carries_number(lines: &[String], number: &str) -> bool {
    let compact = |s: &str| layout::normalize(s).replace(' ', "");
    let want = compact(number);
    if want.is_empty() {
        return false;
    }
    let part = |c: char| c.is_alphanumeric() || c == '/' || c == '-' || c == '.';
    lines.iter().any(|line| {
        let have = compact(line);
        have.match_indices(want.as_str()).any(|(at, m)| {
            let before = have.get(..at).and_then(|s| s.chars().next_back());
            let after = have.get(at + m.len()..).and_then(|s| s.chars().next());
            // "Số:01/…" reads the number after the colon; a letter glued before a number
            // that starts with a digit ("số01/…" once spaces are gone) is a word, not a digit.
            let starts_digit = want.starts_with(|c: char| c.is_ascii_digit());
            let before_ok = before.is_none_or(|c| !part(c) || (starts_digit && c.is_alphabetic()));
            let after_ok =
                after.is_none_or(|c| !part(c) || c == '.' && at + m.len() + 1 == have.len());
            before_ok && after_ok
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_number_is_found_whole_and_only_whole() {
        let n = "01/QĐ-SKHCN";
        assert!(carries_number(
            &l(&["01/QĐ-SKHCN", "2026-06-01T09:00:00+07:00"]),
            n
        ));
        assert!(carries_number(&l(&["Số: 01/QĐ-SKHCN"]), n));
        assert!(carries_number(
            &l(&["Kèm theo Quyết định số 01/QĐ-SKHCN."]),
            n
        ));
        assert!(carries_number(&l(&["01 / qđ-skhcn"]), n));
        // Composed and decomposed letters (ế as e + U+0302 + U+0301).
        assert!(carries_number(&l(&["05/KH-SKHCN"]), "05/KH-SKHCN"));
        assert!(carries_number(&l(&["05/BC-S\u{0110}T"]), "05/BC-SĐT"));
        assert!(carries_number(
            &l(&["12/TB-TTKT\u{1ebf}"]),
            "12/TB-TTKTe\u{302}\u{301}"
        ));
        assert!(carries_number(&l(&["Số: 07/UBND-VP"]), "07/UBND-VP"));
        for other in [
            "101/QĐ-SKHCN",
            "01/QĐ-SKHCN-VP",
            "02/QĐ-SKHCN",
            "01/QĐ-UBND",
            "1/01/QĐ-SKHCN",
        ] {
            assert!(!carries_number(&l(&[other]), n), "{other}");
        }
        assert!(!carries_number(&l(&[]), n));
        assert!(!carries_number(&l(&["01/QĐ-SKHCN"]), " "));
        // A copy's number in its series.
        assert!(carries_number(&l(&["SAO Y", "Số: 05/SY"]), "05/SY"));
        assert!(!carries_number(&l(&["SAO Y", "Số: 15/SY"]), "05/SY"));
    }
}
