//! The archive in the store (issue 19 item 2): registering queues a document, filing makes its
//! entry and index row once, and the search finds it by number and notation, subject words
//! (with or without diacritics), signer, agency, type, dates and the words of its text —
//! scoped to the agencies where the reader may read the archive. Dossiers open, take entries
//! of their own agency, close and then refuse more. Every story on SQLite and on PostgreSQL.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use kyso_domain::archive::{DossierState, EntryKind, Query, SearchForm, TextState};
use kyso_domain::incoming::{IncomingAction, Verdict};
use kyso_domain::roles::Role;
use kyso_store::archive::{self, NewDossier, TextLayer, Unfiled};
use kyso_store::blobs::Blobs;
use kyso_store::incoming::{self as inc, IncomingStep, NewIncoming};
use kyso_store::testing::{backends, TestDb};
use kyso_store::{audit, Actor, Error, Store};

mod support;
use support::{dispatched, letter, person, province, Province, NOW};

/// A letter from the national CA to the Department of Finance, taken in and registered.
async fn registered_letter(store: &Store, blobs: &Blobs, p: &Province, n: u32) -> i64 {
    let got = inc::intake(
        store,
        blobs,
        &p.finance_clerk,
        &NewIncoming {
            signer: "Lê Quang Tùng".into(),
            file_name: format!("cv-{n}.pdf"),
            ..letter(p, n, Verdict::Passed)
        },
        NOW,
    )
    .await
    .unwrap();
    inc::act_incoming(
        store,
        &p.finance_clerk,
        got.id,
        IncomingAction::Register,
        &IncomingStep::default(),
        NOW,
    )
    .await
    .unwrap();
    got.id
}

fn form(f: impl FnOnce(&mut SearchForm)) -> Query {
    let mut s = SearchForm::default();
    f(&mut s);
    Query::parse(&s).unwrap()
}

async fn find(store: &Store, who: &Actor, f: impl FnOnce(&mut SearchForm)) -> Vec<String> {
    let hits = archive::search(store, who, &form(f), 50).await.unwrap();
    hits.entries.into_iter().map(|e| e.notation).collect()
}

/// File everything queued, each with its text.
async fn file_all(store: &Store, text: impl Fn(&Unfiled) -> TextLayer) -> Vec<i64> {
    let mut ids = Vec::new();
    for item in archive::queued(store, 100).await.unwrap() {
        assert!(!item.sha256.is_empty(), "{item:?} names its file");
        if let Some(id) = archive::file(store, &item, &text(&item), NOW)
            .await
            .unwrap()
        {
            ids.push(id);
        }
    }
    ids
}

#[tokio::test]
async fn registered_documents_are_filed_once_and_found_by_what_they_say() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(store).await;
        let plan = dispatched(
            store,
            &blobs,
            &p,
            "Phê duyệt kế hoạch chuyển đổi số năm 2026",
        )
        .await;
        let budget = dispatched(store, &blobs, &p, "Giao dự toán ngân sách khoa học").await;
        let letter = registered_letter(store, &blobs, &p, 7).await;

        // Registering queued all three (and the dispatch delivered two decisions to Finance,
        // not registered there yet: not queued).
        let queued = archive::queued(store, 100).await.unwrap();
        let mut kinds: Vec<(EntryKind, i64)> =
            queued.iter().map(|u| (u.kind, u.source_id)).collect();
        kinds.sort();
        assert_eq!(
            kinds,
            [
                (EntryKind::Outgoing, plan),
                (EntryKind::Outgoing, budget),
                (EntryKind::Incoming, letter)
            ],
            "{backend:?}"
        );
        let ids = file_all(store, |u| match (u.kind, u.source_id) {
            (EntryKind::Outgoing, id) if id == plan => TextLayer::Text(
                "QUYẾT ĐỊNH Phê duyệt Kế hoạch chuyển đổi số. Điều 1. Hạ tầng điện toán đám mây"
                    .into(),
            ),
            (EntryKind::Outgoing, _) => TextLayer::None,
            (EntryKind::Incoming, _) => TextLayer::Unreadable("bad font".into()),
        })
        .await;
        assert_eq!(ids.len(), 3, "{backend:?}");
        assert!(archive::queued(store, 100).await.unwrap().is_empty());
        // Filing again (a second node's job) files nothing twice.
        let again = Unfiled {
            kind: EntryKind::Outgoing,
            source_id: plan,
            sha256: String::new(),
            tries: 0,
        };
        assert_eq!(
            archive::file(store, &again, &TextLayer::None, NOW)
                .await
                .unwrap(),
            None
        );

        // The whole province (the administrator at the root).
        let all = find(store, &p.admin, |_| {}).await;
        assert_eq!(all.len(), 3, "{backend:?}: {all:?}");
        // Subject words, without and with diacritics, as prefixes.
        assert_eq!(
            find(store, &p.admin, |f| f.q = "phe duyet".into())
                .await
                .len(),
            1
        );
        assert_eq!(
            find(store, &p.admin, |f| f.q = "CHUYỂN ĐỔI".into())
                .await
                .len(),
            1
        );
        assert_eq!(
            find(store, &p.admin, |f| f.q = "ngan sach".into())
                .await
                .len(),
            1
        );
        // A word of the text layer alone.
        assert_eq!(
            find(store, &p.admin, |f| f.q = "đám mây".into())
                .await
                .len(),
            1
        );
        assert!(find(store, &p.admin, |f| f.q = "dien thoai".into())
            .await
            .is_empty());
        // The number and notation; the signer; the sender.
        let letter_hits = find(store, &p.admin, |f| f.number = "07/CTSBMTT".into()).await;
        assert_eq!(letter_hits, ["07/CTSBMTT-CĐ"], "{backend:?}");
        let by_notation = find(store, &p.admin, |f| f.number = "QĐ-SKHCN".into()).await;
        assert_eq!(by_notation.len(), 2, "{backend:?}: {by_notation:?}");
        assert_eq!(
            find(store, &p.admin, |f| f.signer = "le quang".into())
                .await
                .len(),
            1
        );
        // "Lê" is the letter's signer, not a word of its number: the parts are kept apart.
        assert!(find(store, &p.admin, |f| f.number = "le".into())
            .await
            .is_empty());
        assert_eq!(
            find(store, &p.admin, |f| f.q = "chung thuc so".into())
                .await
                .len(),
            1
        );
        // Type, kind, dates.
        assert_eq!(
            find(store, &p.admin, |f| f.doc_type = "quyet_dinh".into())
                .await
                .len(),
            2
        );
        assert_eq!(
            find(store, &p.admin, |f| f.kind = "incoming".into())
                .await
                .len(),
            1
        );
        // The sender wrote "Công văn": filed as the type it names.
        assert_eq!(
            find(store, &p.admin, |f| f.doc_type = "cong_van".into()).await,
            ["07/CTSBMTT-CĐ"]
        );
        assert_eq!(
            find(store, &p.admin, |f| {
                f.from = "01/05/2026".into();
                f.to = "31/05/2026".into();
            })
            .await,
            ["07/CTSBMTT-CĐ"]
        );
        // Scopes: each clerk their own agency's archive; inside one agency.
        let dost = find(store, &p.clerk, |_| {}).await;
        assert_eq!(dost.len(), 2, "{backend:?}: {dost:?}");
        assert_eq!(find(store, &p.finance_clerk, |_| {}).await.len(), 1);
        assert!(find(store, &p.finance_clerk, |f| f.q = "phe duyet".into())
            .await
            .is_empty());
        assert_eq!(
            find(store, &p.admin, |f| f.agency_id = Some(p.finance.id))
                .await
                .len(),
            1
        );
        assert!(matches!(
            archive::search(
                store,
                &p.finance_clerk,
                &form(|f| f.agency_id = Some(p.dost.id)),
                50
            )
            .await,
            Err(Error::NotFound { .. })
        ));
        let officer = person(store, "cbchuky", &p.dost, Role::SignatureOfficer).await;
        assert!(matches!(
            archive::search(store, &officer, &Query::default(), 50).await,
            Err(Error::Forbidden)
        ));
        // A page at a time, newest filed first.
        let first = archive::search(store, &p.admin, &Query::default(), 2)
            .await
            .unwrap();
        assert_eq!(first.entries.len(), 2);
        let next = first.next.expect("a second page");
        let second = archive::search(store, &p.admin, &form(|f| f.after = Some(next)), 2)
            .await
            .unwrap();
        assert_eq!(second.entries.len(), 1);
        assert_eq!(second.next, None);
        assert!(first.entries[0].id > first.entries[1].id);
        assert!(first.entries[1].id > second.entries[0].id);

        // The entry: its files, its text state.
        let letter_entry = archive::search(store, &p.finance_clerk, &Query::default(), 5)
            .await
            .unwrap()
            .entries
            .remove(0);
        assert_eq!(letter_entry.text_state, TextState::Unreadable);
        let detail = archive::entry(store, &p.finance_clerk, letter_entry.id)
            .await
            .unwrap();
        assert_eq!(detail.text_note, "bad font");
        assert_eq!(detail.files.len(), 1);
        assert!(detail.keeps);
        let plan_entry = archive::search(store, &p.clerk, &form(|f| f.q = "ke hoach".into()), 5)
            .await
            .unwrap()
            .entries
            .remove(0);
        let plan_detail = archive::entry(store, &p.clerk, plan_entry.id)
            .await
            .unwrap();
        assert_eq!(
            plan_detail.entry.signer, "Nguyễn Văn An",
            "as the document prints"
        );
        assert_eq!(plan_detail.entry.counterpart, "H99.05");
        assert!(
            plan_detail.files.len() >= 3,
            "every version is kept: {:?}",
            plan_detail.files
        );
        assert!(plan_detail
            .files
            .iter()
            .any(|f| f.sha256 == plan_detail.sha256));
        // Another agency's entry is not found.
        assert!(matches!(
            archive::entry(store, &p.finance_clerk, plan_entry.id).await,
            Err(Error::NotFound { .. })
        ));

        // Each filing is in the audit log, which still verifies.
        audit::verify(store).await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn dossiers_take_their_agency_s_entries_until_closed() {
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(store).await;
        dispatched(store, &blobs, &p, "Kế hoạch kiểm tra an toàn thông tin").await;
        registered_letter(store, &blobs, &p, 3).await;
        file_all(store, |_| TextLayer::None).await;
        let dost_entry = archive::search(store, &p.clerk, &Query::default(), 5)
            .await
            .unwrap()
            .entries
            .remove(0);
        let finance_entry = archive::search(store, &p.finance_clerk, &Query::default(), 5)
            .await
            .unwrap()
            .entries
            .remove(0);

        let new = |code: &str| NewDossier {
            agency_id: p.dost.id,
            year: Some(2026),
            code: code.into(),
            title: "Hồ sơ kế hoạch kiểm tra an toàn thông tin năm 2026".into(),
            retention: "10".into(),
            note: String::new(),
        };
        let d = archive::create_dossier(store, &p.clerk, &new("05.KT"), NOW)
            .await
            .unwrap();
        assert_eq!(d.state, DossierState::Open);
        assert_eq!(d.retention_years, 10);
        assert_eq!(d.keeper, "vanthu");
        // The same code in the same year's list: refused at the field.
        let dup = archive::create_dossier(store, &p.clerk, &new("05.KT"), NOW).await;
        assert!(
            matches!(dup, Err(Error::Conflict { field: "code", .. })),
            "{dup:?}"
        );
        let bad = archive::create_dossier(
            store,
            &p.clerk,
            &NewDossier {
                retention: "7".into(),
                ..new("06.KT")
            },
            NOW,
        )
        .await;
        assert!(matches!(
            bad,
            Err(Error::Invalid {
                field: "retention",
                ..
            })
        ));
        // Finance's clerk keeps Finance's archive, not the Department of Science's.
        let theirs = archive::create_dossier(store, &p.finance_clerk, &new("07.KT"), NOW).await;
        assert!(matches!(
            theirs,
            Err(Error::NotFound { .. } | Error::Forbidden)
        ));
        // A signer reads the archive but keeps no dossier.
        let signer = archive::create_dossier(store, &p.signer, &new("08.KT"), NOW).await;
        assert!(matches!(signer, Err(Error::Forbidden)), "{signer:?}");

        // Filed into it; found by it; Finance's entry cannot go into it.
        let filed = archive::file_into(store, &p.clerk, dost_entry.id, Some(d.id), NOW)
            .await
            .unwrap();
        assert_eq!(filed.entry.dossier_code.as_deref(), Some("05.KT"));
        let inside = archive::search(store, &p.clerk, &form(|f| f.dossier_id = Some(d.id)), 10)
            .await
            .unwrap();
        assert_eq!(inside.entries.len(), 1);
        let foreign = archive::file_into(store, &p.admin, finance_entry.id, Some(d.id), NOW).await;
        assert!(matches!(
            foreign,
            Err(Error::Invalid {
                field: "dossier_id",
                ..
            })
        ));
        assert!(matches!(
            archive::file_into(store, &p.finance_clerk, dost_entry.id, None, NOW).await,
            Err(Error::NotFound { .. })
        ));
        assert_eq!(
            archive::dossier(store, &p.clerk, d.id)
                .await
                .unwrap()
                .entries,
            1
        );

        // Closed: fixed.
        let closed = archive::close_dossier(store, &p.clerk, d.id, NOW)
            .await
            .unwrap();
        assert_eq!(closed.state, DossierState::Closed);
        assert!(closed.closed_at.is_some());
        let out = archive::file_into(store, &p.clerk, dost_entry.id, None, NOW).await;
        assert!(matches!(out, Err(Error::Conflict { .. })), "{out:?}");
        assert!(matches!(
            archive::close_dossier(store, &p.clerk, d.id, NOW).await,
            Err(Error::Conflict { .. })
        ));
        // The lists: the clerk's agency's, the province's for the administrator.
        assert_eq!(
            archive::dossiers(store, &p.clerk, Some(2026))
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(archive::dossiers(store, &p.finance_clerk, None)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            archive::dossiers(store, &p.admin, None)
                .await
                .unwrap()
                .len(),
            1
        );
        audit::verify(store).await.unwrap().unwrap();
    }
}

/// A closed dossier's hand-over package holds every file byte for byte with the manifest's
/// hashes; the offline check finds a changed, a missing and an added file; an open dossier is
/// not packaged; handing over is recorded once.
#[tokio::test]
async fn a_closed_dossier_is_packaged_checked_offline_and_handed_over() {
    use std::io::{Cursor, Read as _, Write as _};
    for backend in backends() {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::open(dir.path()).unwrap();
        let p = province(store).await;
        dispatched(store, &blobs, &p, "Kế hoạch số hóa tài liệu lưu trữ").await;
        dispatched(store, &blobs, &p, "Báo cáo công tác văn thư").await;
        file_all(store, |_| TextLayer::None).await;
        let d = archive::create_dossier(
            store,
            &p.clerk,
            &NewDossier {
                agency_id: p.dost.id,
                year: Some(2026),
                code: "09.VT".into(),
                title: "Hồ sơ công tác văn thư năm 2026".into(),
                retention: "permanent".into(),
                note: String::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        for e in archive::search(store, &p.clerk, &Query::default(), 10)
            .await
            .unwrap()
            .entries
        {
            archive::file_into(store, &p.clerk, e.id, Some(d.id), NOW)
                .await
                .unwrap();
        }
        // Open: not yet.
        let open = archive::package(store, &blobs, &p.clerk, d.id, NOW).await;
        assert!(matches!(open, Err(Error::Conflict { .. })), "{open:?}");
        archive::close_dossier(store, &p.clerk, d.id, NOW)
            .await
            .unwrap();
        // Another agency's clerk, a signer: refused.
        assert!(archive::package(store, &blobs, &p.finance_clerk, d.id, NOW)
            .await
            .is_err());
        assert!(matches!(
            archive::package(store, &blobs, &p.signer, d.id, NOW).await,
            Err(Error::Forbidden)
        ));
        let (name, zip) = archive::package(store, &blobs, &p.clerk, d.id, NOW)
            .await
            .unwrap();
        assert_eq!(name, "ho-so-H99.37-2026-09.VT.zip");
        let mut seen = Vec::new();
        let check = archive::check_package(Cursor::new(&zip), |f, bytes| {
            seen.push((f.path.clone(), f.filed, bytes.len()));
        })
        .unwrap();
        assert!(check.is_intact(), "{backend:?}: {:?}", check.problems);
        let m = check.manifest.clone().unwrap();
        assert_eq!((m.dossier_code.as_str(), m.documents.len()), ("09.VT", 2));
        assert_eq!(
            m.documents[0].subject, "Kế hoạch số hóa tài liệu lưu trữ",
            "oldest first"
        );
        assert_eq!(
            seen.iter().filter(|(_, filed, _)| *filed).count(),
            2,
            "{seen:?}"
        );
        // Byte for byte: the filed copy is the document's sealed version.
        let mut archive_zip = zip::ZipArchive::new(Cursor::new(&zip)).unwrap();
        let filed = m.documents[1].files.iter().find(|f| f.filed).unwrap();
        let mut bytes = Vec::new();
        archive_zip
            .by_name(&filed.path)
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert!(bytes.ends_with(b"% signature of vanthu\n%%EOF\n"));
        let mut toc = String::new();
        archive_zip
            .by_name("muc-luc.csv")
            .unwrap()
            .read_to_string(&mut toc)
            .unwrap();
        assert!(toc.contains("Báo cáo công tác văn thư"), "{toc}");

        // A package rewritten with one file changed, one left out and one added.
        let rewrite = |change: &str, drop: &str| {
            let mut src = zip::ZipArchive::new(Cursor::new(&zip)).unwrap();
            let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let opts = zip::write::SimpleFileOptions::default();
            for i in 0..src.len() {
                let mut f = src.by_index(i).unwrap();
                let name = f.name().to_owned();
                let mut b = Vec::new();
                f.read_to_end(&mut b).unwrap();
                if name == drop {
                    continue;
                }
                if name == change {
                    b.extend_from_slice(b"% changed\n");
                }
                out.start_file(name.as_str(), opts).unwrap();
                out.write_all(&b).unwrap();
            }
            out.start_file("van-ban/them.pdf", opts).unwrap();
            out.write_all(b"%PDF-1.7\n").unwrap();
            out.finish().unwrap().into_inner()
        };
        let other = &m.documents[0].files[0].path;
        let bad = rewrite(&filed.path, other);
        let check = archive::check_package(Cursor::new(&bad), |_, _| {}).unwrap();
        assert!(!check.is_intact());
        let problems: Vec<&str> = check.problems.iter().map(|(_, en)| en.as_str()).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("was changed")));
        assert!(problems.iter().any(|p| p.contains("is missing")));
        assert!(problems.iter().any(|p| p.contains("van-ban/them.pdf")));
        // Not a package at all.
        assert!(archive::check_package(Cursor::new(b"not a zip".to_vec()), |_, _| {}).is_err());

        // Handed over once.
        let handed = archive::hand_over(store, &p.clerk, d.id, NOW)
            .await
            .unwrap();
        assert_eq!(handed.state, DossierState::HandedOver);
        assert!(matches!(
            archive::hand_over(store, &p.clerk, d.id, NOW).await,
            Err(Error::Conflict { .. })
        ));
        // Still packaged on request (a second copy for the archive's own check).
        assert!(archive::package(store, &blobs, &p.clerk, d.id, NOW)
            .await
            .is_ok());
        audit::verify(store).await.unwrap().unwrap();
    }
}
