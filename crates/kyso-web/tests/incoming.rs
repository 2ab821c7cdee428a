//! Incoming documents through the real router (issue 18 items 1–4), on SQLite and PostgreSQL:
//! a signed letter sent by an integrator and uploaded by the clerk is verified on arrival by
//! the server's validator against its trust anchors (its `kyso.verify/1` report and the
//! report's PDF kept); a tampered letter arrives failed and can only be refused; an
//! indeterminate one is registered only with the clerk's reason; the same document twice is
//! refused naming the first; a document dispatched inside kyso arrives in the recipient's
//! queue after its dispatch, verified, and its refusal reaches the sender's clerk; other
//! agencies see nothing (404) and other roles may not act (403).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use kyso_domain::documents::{DocAction, DocType, DocumentMeta, SignAuthority, SignerBlock};
use kyso_store::documents::{self as docs, NewDocument, RegisterInput, StepInput};
use kyso_store::testing::backends;
use kyso_store::Actor;
use serde_json::{json, Value};

mod support;
use support::app::{b64, App};
use support::ca::TestCa;
use support::{draft, opts, NOW};

fn letter(agency: i64, number: &str, file: &[u8]) -> Value {
    json!({
        "agency_id": agency,
        "sender_code": "G11.07.05",
        "sender_name": "Cục Chứng thực số và Bảo mật thông tin",
        "sender_email": "ca@bcy.gov.vn",
        "number": number,
        "notation": "CTSBMTT-CĐ",
        "doc_date": "2026-05-28",
        "doc_type": "Công văn",
        "subject": format!("Về việc gia hạn chứng thư số, số {number}"),
        "signer": "Cục trưởng",
        "file_name": "cong-van.pdf",
        "file_base64": b64(file),
    })
}

#[tokio::test]
async fn letters_are_verified_on_arrival_decided_by_the_clerk_and_deliveries_arrive_verified() {
    let ca = TestCa::new("Incoming Test Root");
    let signer = ca.issue("Nguyễn Văn An", None);
    let root = ca.root().clone();
    let signed = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
    let mut tampered = signed.clone();
    // A change inside the signed bytes (the page's content): the signature no longer holds.
    let at = tampered.windows(7).position(|w| w == b"endobj\n").unwrap();
    tampered[at - 2] ^= 0x01;
    for b in backends() {
        let app = App::with(b, |state| {
            state.with_trust_anchors(kyso_x509::path::TrustStore::from_certs([root.clone()]))
        })
        .await;
        let s = app.store();
        let province = support::agency(s, "H99", "UBND Tỉnh Demo", None).await;
        let dost = support::agency(s, "H99.37", "Sở Khoa học và Công nghệ", Some(province)).await;
        let f = support::agency(s, "H99.05", "Sở Tài chính", Some(province)).await;
        let (_, clerk) = app.person("vanthu.tc", f, "clerk").await;
        let (_, system) = app.person("hethong.qlvb", f, "clerk").await;
        let (_, drafter) = app.person("chuyenvien.tc", f, "drafter").await;
        let (_, leader) = app.person("giamdoc.tc", f, "signer").await;
        let (_, other_clerk) = app.person("vanthu", dost, "clerk").await;
        let route = |id: i64, what: &str| format!("/api/v1/incoming/{id}/{what}");

        // An integrator sends a signed letter: verified with the server's root; nothing in the
        // file proves it was not revoked, so it is indeterminate, with the reason.
        let sent = app
            .post_created("/api/v1/incoming", &system, letter(f, "15", &signed))
            .await;
        assert_eq!(sent["channel"], "api");
        assert_eq!(sent["state"], "received");
        assert_eq!(sent["status_code"], "01");
        assert_eq!(sent["verdict"], "indeterminate", "{sent}");
        assert!(!sent["reasons"].as_array().unwrap().is_empty(), "{sent}");
        assert!(sent["has_report_pdf"].as_bool().unwrap());
        let sent_id = sent["id"].as_i64().unwrap();
        // The same letter again is recognised, naming the first.
        let again = app
            .post_refused(
                "/api/v1/incoming",
                &system,
                letter(f, "15", &signed),
                StatusCode::CONFLICT,
            )
            .await;
        assert!(
            again["error"]["message_vi"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("#{sent_id}"))
                || again.to_string().contains(&format!("#{sent_id}")),
            "{again}"
        );

        // The clerk uploads a tampered letter received by e-mail: failed, with its reason.
        let scan = letter(f, "16", &tampered);
        let bad = app
            .post_created("/api/v1/incoming/upload", &clerk, scan.clone())
            .await;
        assert_eq!(
            (bad["verdict"].as_str(), bad["scanned"].as_bool()),
            (Some("failed"), Some(false)),
            "{bad}"
        );
        let bad_id = bad["id"].as_i64().unwrap();
        // Not the clerk: refused; another agency: not found.
        app.post_refused(
            "/api/v1/incoming/upload",
            &drafter,
            letter(f, "17", &signed),
            StatusCode::FORBIDDEN,
        )
        .await;
        let (st, _) = app
            .call(
                Method::GET,
                &format!("/api/v1/incoming/{sent_id}"),
                &other_clerk,
                None,
            )
            .await;
        assert_eq!(st, StatusCode::NOT_FOUND);
        app.post_refused(
            &route(sent_id, "register"),
            &drafter,
            json!({"reason": "x"}),
            StatusCode::FORBIDDEN,
        )
        .await;

        // The queue: the failed one first, with its reasons in Vietnamese.
        let queue_path = format!("/api/v1/incoming?agency_id={f}");
        let queue = app.get_ok(&queue_path, &clerk).await;
        let ids: Vec<i64> = queue
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_i64().unwrap())
            .collect();
        assert_eq!(ids, [bad_id, sent_id]);
        assert!(!queue[0]["reasons_text"][0].as_str().unwrap().is_empty());

        // Failed: never registered; indeterminate: only with the clerk's reason.
        let e = app
            .post_refused(
                &route(bad_id, "register"),
                &clerk,
                json!({"reason": "Vẫn nhận"}),
                StatusCode::CONFLICT,
            )
            .await;
        assert_eq!(e["error"]["field"], "verdict", "{e}");
        let e = app
            .post_refused(
                &route(sent_id, "register"),
                &clerk,
                json!({}),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        assert_eq!(e["error"]["field"], "reason", "{e}");
        let r = app
            .post_ok(
                &route(sent_id, "register"),
                &clerk,
                json!({"reason": "Đã gọi điện xác nhận với Cục"}),
            )
            .await;
        assert_eq!(
            (r["arrival_number"].as_i64(), r["status_code"].as_str()),
            (Some(1), Some("03"))
        );
        let r = app
            .post_ok(
                &route(bad_id, "refuse"),
                &clerk,
                json!({"reason": "Chữ ký số không hợp lệ: văn bản bị sửa sau khi ký"}),
            )
            .await;
        assert_eq!(
            (r["status_code"].as_str(), r["status_message"].as_str()),
            (Some("02"), Some("email")),
            "{r}"
        );

        // The file byte for byte, the report and its PDF.
        let (st, file) = app.bytes(&route(sent_id, "file"), &clerk).await;
        assert_eq!((st, file == signed), (StatusCode::OK, true));
        let report = app.get_ok(&route(sent_id, "report"), &clerk).await;
        assert_eq!(report["schema"], "kyso.verify/1", "{report}");
        assert_eq!(report["verdict"], "indeterminate");
        assert_eq!(report["signatures"].as_array().unwrap().len(), 1);
        let (st, pdf) = app.bytes(&route(sent_id, "report.pdf"), &clerk).await;
        assert_eq!(st, StatusCode::OK);
        assert!(pdf.starts_with(b"%PDF-"));

        // The leader assigns; the clerk may not; a status other than 05/06 is refused.
        let assign =
            json!({"lead_unit_id": f, "deadline": "2026-06-10", "note": "Chủ trì tham mưu"});
        app.post_refused(
            &route(sent_id, "assign"),
            &clerk,
            assign.clone(),
            StatusCode::FORBIDDEN,
        )
        .await;
        let r = app
            .post_ok(&route(sent_id, "assign"), &leader, assign)
            .await;
        assert_eq!(r["status_code"], "04", "{r}");
        let status = route(sent_id, "status");
        app.post_refused(
            &status,
            &drafter,
            json!({"status": "done"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
        let r = app
            .post_ok(&status, &drafter, json!({"status": "in_progress"}))
            .await;
        assert_eq!(r["status_code"], "05", "{r}");
        // The server's notice job reminds the lead unit the day before the handling deadline.
        let day_before: kyso_web::Clock =
            Arc::new(|| time::macros::datetime!(2026-06-09 08:00 +07:00));
        kyso_web::mailer::notice_round(s, &day_before, None).await;
        let inbox = app.get_ok("/api/v1/notices", &drafter).await;
        assert!(
            inbox.to_string().contains("Nhắc hạn xử lý văn bản đến"),
            "{inbox}"
        );
        let r = app
            .post_ok(
                &status,
                &drafter,
                json!({"status": "06", "note": "Đã trả lời"}),
            )
            .await;
        assert_eq!(r["status_code"], "06", "{r}");
        let d = app
            .get_ok(&format!("/api/v1/incoming/{sent_id}"), &clerk)
            .await;
        let codes: Vec<&str> = d["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["status_code"].as_str().unwrap())
            .collect();
        assert_eq!(codes, ["01", "03", "04", "05", "06"]);

        // A decision of the Department of Science dispatched to Finance inside kyso (signed by
        // the same test signer): it arrives after its dispatch, verified.
        let cv = app.session("cv.kh", dost, "drafter").await.actor;
        let tp = app.session("tp.kh", dost, "reviewer").await.actor;
        let tt = app.session("tt.kh", dost, "format_checker").await.actor;
        let gd = app.session("gd.kh", dost, "signer").await.actor;
        let vt_session = app.session("vt.kh", dost, "clerk").await;
        let vt = vt_session.actor.clone();
        docs::create_register(
            s,
            &vt,
            &RegisterInput {
                agency_id: dost,
                code: "VBĐ".into(),
                name: "Sổ văn bản đi".into(),
                issuer_abbrev: "SKHCN".into(),
                doc_types: Vec::new(),
            },
            NOW,
        )
        .await
        .unwrap();
        let meta = DocumentMeta {
            doc_type: DocType::QuyetDinh,
            subject: "Về việc ban hành Quy chế văn thư".into(),
            place: "Demo".into(),
            signer: SignerBlock {
                authority: SignAuthority::Direct,
                title: "Giám đốc".into(),
                name: "Nguyễn Văn An".into(),
                ..Default::default()
            },
            recipients: vec!["H99.05".into()],
            page_count: Some(1),
            ..Default::default()
        };
        let d = docs::create_document(
            s,
            &app.blobs,
            &cv,
            &NewDocument {
                agency_id: dost,
                meta,
                signer_id: None,
                file_name: "du-thao.pdf".into(),
                file: draft(),
            },
            NOW,
        )
        .await
        .unwrap();
        let go = |who: &Actor, a: DocAction, input: StepInput| {
            let (s, blobs, who) = (s.clone(), app.blobs.clone(), who.clone());
            async move {
                docs::act(&s, &blobs, &who, d.id, a, &input, NOW)
                    .await
                    .unwrap()
            }
        };
        go(&cv, DocAction::Submit, StepInput::default()).await;
        go(&tp, DocAction::Forward, StepInput::default()).await;
        go(&tt, DocAction::CheckFormat, StepInput::default()).await;
        go(&gd, DocAction::Approve, StepInput::default()).await;
        let personal = kyso_pades::sign_bytes(&draft(), &opts(), &signer, None).unwrap();
        go(
            &gd,
            DocAction::SignPersonal,
            StepInput {
                file: Some(personal.clone()),
                file_name: "ky.pdf".into(),
                ..Default::default()
            },
        )
        .await;
        go(&vt, DocAction::ClerkCheck, StepInput::default()).await;
        go(&vt, DocAction::Number, StepInput::default()).await;
        let sealed = kyso_pades::sign_bytes(&personal, &opts(), &signer, None).unwrap();
        go(
            &vt,
            DocAction::OrgSign,
            StepInput {
                file: Some(sealed.clone()),
                file_name: "ban-hanh.pdf".into(),
                ..Default::default()
            },
        )
        .await;
        go(&vt, DocAction::Register, StepInput::default()).await;
        // Dispatched through the API: the delivery arrives on the server's side, in the
        // background (reading the queue takes nothing in).
        let (st, out) = app
            .step(&vt_session.token, d.id, json!({"action": "dispatch"}))
            .await;
        assert_eq!(st, StatusCode::OK, "{out}");
        let mut queue = app.get_ok(&queue_path, &clerk).await;
        for _ in 0..1200 {
            let internal = queue.as_array().unwrap().iter();
            if internal.filter(|d| d["channel"] == "internal").count() > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            queue = app.get_ok(&queue_path, &clerk).await;
        }
        let arrived: Vec<&Value> = queue
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["channel"] == "internal")
            .collect();
        assert_eq!(arrived.len(), 1, "{queue}");
        let copy = arrived[0];
        assert_eq!(copy["source_document_id"].as_i64(), Some(d.id));
        assert_eq!(copy["number_and_notation"], "01/QĐ-SKHCN");
        assert_ne!(copy["verdict"], "failed", "{copy}");
        let copy_id = copy["id"].as_i64().unwrap();
        let (_, file) = app.bytes(&route(copy_id, "file"), &clerk).await;
        assert_eq!(file, sealed, "the issued file, byte for byte");
        let (_, again) = app.call(Method::GET, &queue_path, &clerk, None).await;
        assert_eq!(
            again
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["channel"] == "internal")
                .count(),
            1,
            "arrives once"
        );

        // Refused: the sender's clerk is told why.
        app.post_ok(
            &route(copy_id, "refuse"),
            &clerk,
            json!({"reason": "Gửi nhầm cơ quan"}),
        )
        .await;
        let inbox = kyso_store::notices::inbox(s, &vt, false).await.unwrap();
        assert!(
            inbox
                .iter()
                .any(|n| n.event == "incoming_refused" && n.body.contains("Gửi nhầm cơ quan")),
            "{inbox:?}"
        );
        let page = docs::get_document(s, &vt, d.id).await.unwrap();
        assert!(page.timeline.iter().any(|t| t.action == "incoming_refused"));
        assert!(kyso_store::audit::verify(s).await.unwrap().is_ok());
    }
}
