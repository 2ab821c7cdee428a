//! The registers' books as their readers see them (the XLSX export, the printed book): an
//! outgoing register made by the system, and documents of a register whose later steps
//! (numbering, signatures, registration, dispatch — tests/documents.rs walks them with signed
//! files) are written directly, since only the book's reading is under test there.

use kyso_store::documents::{self, NewDocument, RegisterInput};
use kyso_store::{sqlx, Actor};
use serde_json::json;

use super::app::App;
use super::NOW;

/// Where a document stands in its register: its number of the year of `date` (`YYYY-MM-DD`,
/// also its issue date), its notation and its state.
pub struct Entry<'a> {
    pub number: i64,
    pub date: &'a str,
    pub notation: &'a str,
    pub state: &'a str,
}

impl App {
    /// The outgoing register "VBĐ" of `agency` with the issuer abbreviation `abbrev`, made by
    /// the system: its id.
    pub async fn outgoing_register(&self, agency: i64, abbrev: &str) -> i64 {
        documents::create_register(
            self.store(),
            &Actor::system(),
            &RegisterInput {
                agency_id: agency,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: abbrev.into(),
                doc_types: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap()
        .id
    }

    /// A `doc_type` document of `agency` about `subject` (signed by Trần Văn Bình, unit VP,
    /// to H99.05 and H99) uploaded through the store by `drafter`; with `entry`, its number,
    /// notation, issue date and state written directly. Its id.
    pub async fn book_document(
        &self,
        drafter: &Actor,
        agency: i64,
        doc_type: &str,
        subject: &str,
        entry: Option<Entry<'_>>,
    ) -> i64 {
        let s = self.store();
        let doc = documents::create_document(
            s,
            &self.blobs,
            drafter,
            &NewDocument {
                agency_id: agency,
                meta: serde_json::from_value(json!({
                    "doc_type": doc_type, "subject": subject, "place": "Demo",
                    "unit_abbrev": "VP",
                    "signer": {"title": "Giám đốc", "name": "Trần Văn Bình"},
                    "recipients": ["H99.05", "H99"]
                }))
                .unwrap(),
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: b"%PDF-1.7\n%%EOF\n".to_vec(),
            },
            NOW,
        )
        .await
        .unwrap();
        if let Some(e) = entry {
            sqlx::query(
                "UPDATE documents SET state = $1, number = $2, number_year = $3, \
                 notation = $4, issued_date = $5 WHERE id = $6",
            )
            .bind(e.state)
            .bind(e.number)
            .bind(e.date[..4].parse::<i64>().unwrap())
            .bind(e.notation)
            .bind(e.date)
            .bind(doc.id)
            .execute(s.pool())
            .await
            .unwrap();
        }
        doc.id
    }
}
