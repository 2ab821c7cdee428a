//! What the store's document test files share: the tests' clock, agencies of the province and
//! the people acting in them (their actors as a login gives them), the outgoing register, and
//! steps of the outgoing-document flow with stand-in files (signatures appended as bytes: the
//! store keeps files, it does not check signatures).
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use kyso_domain::documents::DocAction;
use kyso_domain::incoming::{Channel, Verdict};
use kyso_domain::roles::Role;
use kyso_store::accounts::{self, NewUser, RoleOn};
use kyso_store::blobs::Blobs;
use kyso_store::documents::{self as docs, RegisterInput, StepInput};
use kyso_store::incoming::{NewIncoming, Verification};
use kyso_store::registry::{self, AgencyInput};
use kyso_store::{Actor, Grant, Store};
use serde_json::json;
use time::macros::datetime;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// The tests' "now".
pub const NOW: OffsetDateTime = datetime!(2026-06-01 09:00 +07:00);
/// A draft's bytes.
pub const DRAFT: &[u8] = b"%PDF-1.7\n% draft of a decision\n%%EOF\n";

/// An agency of the registry: its id, code and path.
pub struct Agency {
    pub id: i64,
    pub code: String,
    pub path: String,
}

/// An agency of `kind` ("province", "department", "other") made by the system at `NOW`.
pub async fn agency(
    store: &Store,
    code: &str,
    name: &str,
    kind: &str,
    parent: Option<i64>,
) -> Agency {
    let a = registry::create_agency(
        store,
        &Actor::system(),
        &AgencyInput {
            code: code.into(),
            name: name.into(),
            kind: kind.into(),
            parent_id: parent,
            ..Default::default()
        },
        NOW,
    )
    .await
    .unwrap();
    Agency {
        id: a.id,
        code: a.code,
        path: a.path,
    }
}

/// An account (no e-mail) holding `role` at `at`, and the actor it acts as (its grants as a
/// login gives).
pub async fn person(store: &Store, name: &str, at: &Agency, role: Role) -> Actor {
    person_with_email(store, name, "", at, role).await
}

/// [`person`] with an e-mail address.
pub async fn person_with_email(
    store: &Store,
    name: &str,
    email: &str,
    at: &Agency,
    role: Role,
) -> Actor {
    account(store, name, email, at, &[role]).await
}

/// An account (e-mail `email`, possibly empty) holding every role of `roles` at `at`, and the
/// actor it acts as.
pub async fn account(store: &Store, name: &str, email: &str, at: &Agency, roles: &[Role]) -> Actor {
    let user = accounts::create_user(
        store,
        &Actor::system(),
        NewUser {
            username: name.into(),
            full_name: format!("Người dùng {name}"),
            email: email.into(),
            agency_id: at.id,
            password: Zeroizing::new("mat-khau-dai-12345-Ab".into()),
            roles: roles
                .iter()
                .map(|r| RoleOn {
                    role: r.as_str().into(),
                    agency_id: at.id,
                })
                .collect(),
            must_change_password: false,
        },
        NOW,
    )
    .await
    .unwrap();
    Actor {
        user_id: user.id,
        username: name.into(),
        grants: roles
            .iter()
            .map(|r| Grant {
                role: *r,
                agency_id: at.id,
                path: at.path.clone(),
            })
            .collect(),
        source: "127.0.0.1".into(),
    }
}

/// The clerk opens the outgoing register "VBĐ" (notation SKHCN) of `agency`: its id.
pub async fn outgoing_register(store: &Store, clerk: &Actor, agency: i64) -> i64 {
    docs::create_register(
        store,
        clerk,
        &RegisterInput {
            agency_id: agency,
            code: "VBĐ".into(),
            name: "Sổ văn bản đi".into(),
            issuer_abbrev: "SKHCN".into(),
            doc_types: Vec::new(),
        },
        NOW,
    )
    .await
    .unwrap()
    .id
}

/// `previous` with `who`'s stand-in signature appended, and the step input carrying it.
pub fn signed(previous: &[u8], who: &str) -> (Vec<u8>, StepInput) {
    let mut bytes = previous.to_vec();
    bytes.extend_from_slice(format!("% signature of {who}\n%%EOF\n").as_bytes());
    let input = StepInput {
        file: Some(bytes.clone()),
        file_name: format!("{who}.pdf"),
        ..Default::default()
    };
    (bytes, input)
}

/// Take `action` on document `id` as `who` with no input; it must succeed.
pub async fn go(store: &Store, blobs: &Blobs, who: &Actor, id: i64, action: DocAction) {
    docs::act(store, blobs, who, id, action, &StepInput::default(), NOW)
        .await
        .unwrap_or_else(|e| panic!("{action} by {}: {e:?}", who.username));
}

/// The province of the document tests: the People's Committee (H99) with its administrator,
/// the Department of Science (H99.37, the sender: its outgoing register and the people of
/// the flow) and the Department of Finance (H99.05, a recipient: its clerk).
pub struct Province {
    pub root: Agency,
    pub dost: Agency,
    pub finance: Agency,
    pub drafter: Actor,
    pub reviewer: Actor,
    pub checker: Actor,
    pub signer: Actor,
    pub clerk: Actor,
    pub finance_clerk: Actor,
    pub admin: Actor,
    /// The Department of Science's outgoing register.
    pub register: i64,
}

pub async fn province(store: &Store) -> Province {
    let root = agency(store, "H99", "UBND Tỉnh Demo", "province", None).await;
    let dost = agency(
        store,
        "H99.37",
        "Sở Khoa học và Công nghệ",
        "department",
        Some(root.id),
    )
    .await;
    let finance = agency(store, "H99.05", "Sở Tài chính", "department", Some(root.id)).await;
    let clerk = person(store, "vanthu", &dost, Role::Clerk).await;
    let register = outgoing_register(store, &clerk, dost.id).await;
    Province {
        drafter: person(store, "chuyenvien", &dost, Role::Drafter).await,
        reviewer: person(store, "truongphong", &dost, Role::Reviewer).await,
        checker: person(store, "thethuc", &dost, Role::FormatChecker).await,
        signer: person(store, "giamdoc", &dost, Role::Signer).await,
        finance_clerk: person(store, "vanthu.tc", &finance, Role::Clerk).await,
        admin: person(store, "quantri", &root, Role::DostAdmin).await,
        clerk,
        register,
        root,
        dost,
        finance,
    }
}

/// An outgoing decision of the Department of Science to the Department of Finance, taken to
/// its dispatch with stand-in signatures; its id.
pub async fn dispatched(store: &Store, blobs: &Blobs, p: &Province, subject: &str) -> i64 {
    use kyso_domain::documents::{DocType, DocumentMeta, SignAuthority, SignerBlock};
    let draft = format!("%PDF-1.7\n% {subject}\n%%EOF\n").into_bytes();
    let meta = DocumentMeta {
        doc_type: DocType::QuyetDinh,
        subject: subject.into(),
        place: "Demo".into(),
        signer: SignerBlock {
            authority: SignAuthority::Kt,
            principal_title: "Giám đốc".into(),
            title: "Phó Giám đốc".into(),
            name: "Nguyễn Văn An".into(),
            ..Default::default()
        },
        recipients: vec![p.finance.code.clone()],
        page_count: Some(1),
        ..Default::default()
    };
    let d = docs::create_document(
        store,
        blobs,
        &p.drafter,
        &docs::NewDocument {
            agency_id: p.dost.id,
            meta,
            signer_id: None,
            file_name: "du-thao.pdf".into(),
            file: draft.clone(),
        },
        NOW,
    )
    .await
    .unwrap();
    go(store, blobs, &p.drafter, d.id, DocAction::Submit).await;
    go(store, blobs, &p.reviewer, d.id, DocAction::Forward).await;
    go(store, blobs, &p.checker, d.id, DocAction::CheckFormat).await;
    go(store, blobs, &p.signer, d.id, DocAction::Approve).await;
    let (bytes, input) = signed(&draft, "giamdoc");
    docs::act(
        store,
        blobs,
        &p.signer,
        d.id,
        DocAction::SignPersonal,
        &input,
        NOW,
    )
    .await
    .unwrap();
    go(store, blobs, &p.clerk, d.id, DocAction::ClerkCheck).await;
    go(store, blobs, &p.clerk, d.id, DocAction::Number).await;
    let (_, input) = signed(&bytes, "vanthu");
    docs::act(
        store,
        blobs,
        &p.clerk,
        d.id,
        DocAction::OrgSign,
        &input,
        NOW,
    )
    .await
    .unwrap();
    go(store, blobs, &p.clerk, d.id, DocAction::Register).await;
    go(store, blobs, &p.clerk, d.id, DocAction::Dispatch).await;
    d.id
}

/// What a verification on arrival says: `verdict` with its `reasons`, as the server's validator
/// reports it.
pub fn verification(verdict: Verdict, reasons: &[&str]) -> Verification {
    let name = match verdict {
        Verdict::Passed => "valid",
        Verdict::Indeterminate => "indeterminate",
        Verdict::Failed => "invalid",
    };
    Verification {
        verdict,
        reasons: reasons.iter().map(|s| s.to_string()).collect(),
        report: json!({"schema": "kyso.verify/1", "verdict": name, "reasons": reasons}),
        report_pdf: None,
    }
}

/// A letter from the national CA to the Department of Finance, as the clerk uploads it.
pub fn letter(p: &Province, n: u32, verdict: Verdict) -> NewIncoming {
    NewIncoming {
        agency_id: p.finance.id,
        channel: Channel::Upload,
        scanned: false,
        sender_code: "G11.07.05".into(),
        sender_name: "Cục Chứng thực số và Bảo mật thông tin".into(),
        sender_email: "ca@bcy.gov.vn".into(),
        number: format!("{n:02}"),
        notation: "CTSBMTT-CĐ".into(),
        doc_date: "2026-05-28".into(),
        doc_type: "Công văn".into(),
        subject: format!("Về việc gia hạn chứng thư số, đợt {n}"),
        signer: "Cục trưởng Nguyễn Văn B".into(),
        file_name: "cong-van.pdf".into(),
        file: format!("%PDF-1.7\n% letter {n}\n%%EOF\n").into_bytes(),
        verification: verification(verdict, &[]),
        delivery_id: None,
    }
}
