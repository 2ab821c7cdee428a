//! The clerk's upload of an edXML package on `/incoming/new` (issue 18 item 1): a small form
//! of its own beside the PDF upload (the package carries the sender's metadata, so only the
//! receiving agency and the file are asked), posted to the same address with `kind=edxml` and
//! taken in by [`crate::incoming_edxml::take_in_package`] — the API's path, its limits and its
//! refusals, here as pages in the site's layout.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};

use super::{layout, select, with_status, Page};
use crate::incoming_edxml::take_in_package;
use crate::AppState;

/// The form's value of the hidden `kind` field.
pub(super) const KIND: &str = "edxml";

/// The form: the receiving agency (one of the package's recipients) and the package.
pub(super) fn form(p: &Page, agencies: &[(String, String)], selected: &str) -> Markup {
    html! {
        section aria-labelledby="edxml-title" {
            h2 #edxml-title { (p.t("Tiếp nhận gói edXML", "Receive an edXML package")) }
            p.hint { (p.t(
                "Gói edXML (QCVN 102:2016) nhận từ trục liên thông văn bản: số, ký hiệu, ngày, cơ quan gửi, trích yếu và người ký lấy từ gói; tệp PDF trong gói được kiểm tra chữ ký số như mọi văn bản đến.",
                "An edXML package (QCVN 102:2016) received from the document exchange axis: its number, notation, date, sender, subject and signer are read from the package; its PDF is checked like every incoming document.")) }
            form method="post" action="/incoming/new" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(p.csrf);
                input type="hidden" name="kind" value=(KIND);
                (select("edxml_agency_id", p.t("Cơ quan nhận", "Receiving agency"), agencies, selected, None))
                div.field {
                    label for="package" { (p.t("Gói edXML (.edxml, .xml)", "The edXML package (.edxml, .xml)")) " *" }
                    input #package name="package" type="file" accept=".edxml,.xml,application/xml,text/xml" required;
                }
                button.primary type="submit" { (p.t("Tiếp nhận gói edXML", "Receive the package")) }
            }
        }
    }
}

fn refused(p: &Page, status: StatusCode, message: &str) -> Response {
    let title = p.t(
        "Không tiếp nhận được gói edXML",
        "The edXML package was not taken in",
    );
    let res = layout(
        p,
        title,
        html! {
            h1 { (title) }
            div.alert.error role="alert" { (message) }
            p { (p.t("Không có gì được lưu.", "Nothing was stored.")) }
            (crate::observability::request_id_note(p.lang))
            p { a href="/incoming/new" { (p.t("← Tiếp nhận văn bản khác", "← Receive another document")) } }
        },
    );
    with_status(res, status)
}

/// Take the posted package in, then to the incoming document's page; a refusal is a page
/// saying why (nothing stored).
pub(super) async fn submit(st: &AppState, p: &Page, fields: &crate::multipart::Form) -> Response {
    let Ok(agency_id) = fields.text("edxml_agency_id").trim().parse::<i64>() else {
        return refused(
            p,
            StatusCode::UNPROCESSABLE_ENTITY,
            p.t("Hãy chọn cơ quan nhận.", "Choose the receiving agency."),
        );
    };
    let Some((bytes, _)) = fields.file("package").filter(|(b, _)| !b.is_empty()) else {
        return refused(
            p,
            StatusCode::UNPROCESSABLE_ENTITY,
            p.t("Hãy chọn tệp gói edXML.", "Choose the edXML package file."),
        );
    };
    match take_in_package(st, &p.actor, bytes.to_vec(), Some(agency_id)).await {
        Ok(d) => Redirect::to(&format!("/incoming/{}?done=created", d.id)).into_response(),
        Err(e) => refused(p, e.status, e.message(p.lang)),
    }
}
