//! An outgoing document of the Department of Science through the REST API, step by step, by
//! the people whose steps they are, with real signatures: its staff, its register, the
//! director's and the seal's certificates in the registry, the upload, the steps up to the
//! director's approval, the personal signature, the number and the seal; and attachments
//! signed with the Decree 30 attachment stamp.

use axum::http::StatusCode;
use kyso_pades::forms::{widget_builder, VisibleForm};
use kyso_pades::{numbering, sign_bytes};
use kyso_pdf::compose::{Align, Composer, Margins, Style};
use serde_json::{json, Value};

use super::app::{b64, App, Session};
use super::ca::Pki;
use super::{opts, register_cert, TestSigner};

/// The people of an agency who take the flow's steps: their API tokens.
pub struct Staff {
    /// `chuyenvien`, drafter.
    pub drafter: String,
    /// `truongphong`, reviewer.
    pub reviewer: String,
    /// `thethuc`, format checker.
    pub checker: String,
    /// `giamdoc`, signer (the director).
    pub signer: String,
    /// `vanthu`, clerk.
    pub clerk: String,
}

/// The number a clerk gave a document: its number and notation and its issue date.
pub struct Numbered {
    pub number: String,
    /// `YYYY-MM-DD`, as the API writes it.
    pub iso_day: String,
    pub day: time::Date,
}

/// The flow's people signed in as the sign-in page does: their sessions (the pages' cookie and
/// CSRF token), whose tokens are API bearer tokens as well.
pub struct Crew {
    pub drafter: Session,
    pub reviewer: Session,
    pub checker: Session,
    pub signer: Session,
    pub clerk: Session,
}

impl Crew {
    /// Their API tokens, for the flow's steps.
    pub fn staff(&self) -> Staff {
        Staff {
            drafter: self.drafter.token.clone(),
            reviewer: self.reviewer.token.clone(),
            checker: self.checker.token.clone(),
            signer: self.signer.token.clone(),
            clerk: self.clerk.token.clone(),
        }
    }
}

impl App {
    /// The flow's people at `agency` (the names and roles of [`App::staff`]), signed in as the
    /// sign-in page does.
    pub async fn crew(&self, agency: i64) -> Crew {
        Crew {
            drafter: self.session("chuyenvien", agency, "drafter").await,
            reviewer: self.session("truongphong", agency, "reviewer").await,
            checker: self.session("thethuc", agency, "format_checker").await,
            signer: self.session("giamdoc", agency, "signer").await,
            clerk: self.session("vanthu", agency, "clerk").await,
        }
    }

    /// The flow's people at `agency`, logged in through the API.
    pub async fn staff(&self, agency: i64) -> Staff {
        Staff {
            drafter: self.person("chuyenvien", agency, "drafter").await.1,
            reviewer: self.person("truongphong", agency, "reviewer").await.1,
            checker: self.person("thethuc", agency, "format_checker").await.1,
            signer: self.person("giamdoc", agency, "signer").await.1,
            clerk: self.person("vanthu", agency, "clerk").await.1,
        }
    }

    /// The registry of `agency` holds the director's certificate (an individual subscriber
    /// with the director's e-mail) and the agency's seal (an organization subscriber).
    pub async fn register_director_and_seal(&self, agency: i64, pki: &Pki) {
        self.register_keys(agency, &pki.director, &pki.agency).await;
    }

    /// The registry of `agency` holds `director` (an individual subscriber with the
    /// director's e-mail) and `seal` (an organization subscriber).
    pub async fn register_keys(&self, agency: i64, director: &TestSigner, seal: &TestSigner) {
        self.register_director(agency, director).await;
        self.register_seal(agency, "Sở KH&CN", seal).await;
    }

    /// The registry of `agency` holds `seal` under the organization subscriber `name`.
    pub async fn register_seal(&self, agency: i64, name: &str, seal: &TestSigner) {
        register_cert(self.store(), agency, "organization", name, "", seal).await;
    }

    /// The registry of `agency` holds `director`: an individual subscriber with the
    /// director's e-mail.
    pub async fn register_director(&self, agency: i64, director: &TestSigner) {
        register_cert(
            self.store(),
            agency,
            "individual",
            "Nguyễn Văn An",
            "giamdoc@demo.invalid",
            director,
        )
        .await;
    }

    /// The clerk opens the agency's outgoing register "VBĐ" (notation SKHCN).
    pub async fn open_outgoing_register(&self, clerk: &str, agency: i64) {
        self.post_created(
            "/api/v1/document-registers",
            clerk,
            json!({"agency_id": agency, "code": "VBĐ", "name": "Sổ văn bản đi",
                   "issuer_abbrev": "SKHCN"}),
        )
        .await;
    }

    /// The drafter uploads `file` as a new document of `agency` described by `meta`: its id.
    pub async fn upload_draft(&self, drafter: &str, agency: i64, meta: Value, file: &[u8]) -> i64 {
        let created = self
            .post_created(
                "/api/v1/documents",
                drafter,
                json!({"agency_id": agency, "meta": meta, "file_name": "du-thao.pdf",
                       "file_base64": b64(file)}),
            )
            .await;
        created["document"]["id"].as_i64().unwrap()
    }

    /// A step that must succeed: its answer.
    pub async fn step_ok(&self, token: &str, id: i64, action: &str) -> Value {
        let (status, body) = self.step(token, id, json!({"action": action})).await;
        assert_eq!(status, StatusCode::OK, "{action}: {body}");
        body
    }

    /// Submitted, forwarded, its format checked and approved by the director.
    pub async fn approve(&self, staff: &Staff, id: i64) {
        self.step_ok(&staff.drafter, id, "submit").await;
        self.step_ok(&staff.reviewer, id, "forward").await;
        self.step_ok(&staff.checker, id, "check_format").await;
        self.step_ok(&staff.signer, id, "approve").await;
    }

    /// The director signs the formatted draft with `key` (the personal signature awaiting
    /// the number): the signed file.
    pub async fn sign_personal(&self, signer: &str, id: i64, key: &TestSigner) -> Vec<u8> {
        let (status, formatted) = self
            .bytes(&format!("/api/v1/documents/{id}/file"), signer)
            .await;
        assert_eq!(status, StatusCode::OK);
        let personal = personally_signed(&formatted, key);
        let (status, body) = self
            .step(
                signer,
                id,
                json!({"action": "sign_personal", "file_base64": b64(&personal)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        personal
    }

    /// The clerk checks the document and gives it its number.
    pub async fn number(&self, clerk: &str, id: i64) -> Numbered {
        self.step_ok(clerk, id, "clerk_check").await;
        let out = self.step_ok(clerk, id, "number").await;
        let iso_day = out["document"]["issued_date"].as_str().unwrap().to_owned();
        Numbered {
            number: out["number_and_notation"].as_str().unwrap().to_owned(),
            day: time::Date::parse(
                &iso_day,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .unwrap(),
            iso_day,
        }
    }

    /// The clerk fills the number and date into `personal` and seals it with `key`: the
    /// issued file.
    pub async fn seal(
        &self,
        clerk: &str,
        id: i64,
        personal: &[u8],
        numbered: &Numbered,
        key: &TestSigner,
    ) -> Vec<u8> {
        let issued = sealed(personal, &numbered.number, numbered.day, key);
        let (status, body) = self
            .step(
                clerk,
                id,
                json!({"action": "org_sign", "file_base64": b64(&issued)}),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        issued
    }
}

/// `formatted` with the director's personal signature by `key`, awaiting the number (what the
/// signing service makes of the version to sign).
pub fn personally_signed(formatted: &[u8], key: &TestSigner) -> Vec<u8> {
    sign_bytes(formatted, &numbering::personal_signature(opts()), key, None).unwrap()
}

/// `personal` with `number` and `day` filled in and sealed by `key` (the organization
/// signature).
pub fn sealed(personal: &[u8], number: &str, day: time::Date, key: &TestSigner) -> Vec<u8> {
    let filled = numbering::fill_bytes(personal, number, day).unwrap();
    sign_bytes(
        &filled,
        &numbering::organization_signature(opts()),
        key,
        None,
    )
    .unwrap()
}

/// The metadata of the director's decision of [`super::draft`] ("Về việc ban hành Quy chế văn
/// thư", one page, signed by Nguyễn Văn An in his own right), addressed to `recipients`.
pub fn decision_meta(recipients: &[&str]) -> Value {
    json!({
        "doc_type": "quyet_dinh",
        "subject": "Về việc ban hành Quy chế văn thư",
        "place": "Demo",
        "signer": {"authority": "direct", "title": "Giám đốc", "name": "Nguyễn Văn An"},
        "recipients": recipients,
        "page_count": 1
    })
}

/// An attachment: a one-page PDF of kyso-pdf's composer.
pub fn annex(title: &str) -> Vec<u8> {
    let mut c = Composer::a4(Margins::decree30()).unwrap();
    c.paragraph(title, &Style::new(14.0).bold().align(Align::Center))
        .unwrap();
    c.paragraph("Kèm theo Quyết định số ....../QĐ-SKHCN", &Style::new(13.0))
        .unwrap();
    c.finish(&Default::default()).unwrap()
}

/// `pdf` signed by `key` with the Decree 30 attachment stamp naming `number`.
pub fn stamped(pdf: &[u8], number: &str, key: &TestSigner) -> Vec<u8> {
    let o = opts();
    let stamp = widget_builder(
        VisibleForm::Attachment {
            doc_number: number.into(),
        },
        o.signing_time,
    )
    .unwrap();
    sign_bytes(pdf, &o, key, Some(stamp)).unwrap()
}
