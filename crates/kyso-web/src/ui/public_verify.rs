//! `/kiem-tra`: verification for anyone (issue 18 item 6). A citizen or another agency uploads
//! a signed PDF without logging in and reads the Vietnamese report — each signature's signer,
//! role, integrity, time, revocation, changes after signing and ETSI indication, the reasons
//! first — rendered by the document page's renderer (`documents::verification::render_report`)
//! over the one validation (`crate::verifier::validate`: `kyso verify`'s validator, offline,
//! the server's trust anchors). Nothing is stored: the file streams to a temporary file for
//! the request (the cap counted as it comes, never whole in memory), is read there by the
//! validator and removed on every way out — report, refusal, client gone. Size-capped
//! (`--verify-max-mb`, at most [`crate::MAX_DOCUMENT_FILE`]), rate-limited per client address
//! and bounded in work at once (`crate::rate_limit`); every refusal is a page in the site's
//! layout.

use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::documents::verification::{render_report, Report};
use super::session::same_origin;
use super::{html_response, STYLE};
use crate::auth::{Lang, Source};
use crate::multipart::FormError;
use crate::rate_limit::Refused;
use crate::verifier::{upload_name, validate_staged, Unchecked};
use crate::AppState;

/// The page's path.
pub(super) const PATH: &str = "/kiem-tra";

/// The public pages' layout: the site's style and header (brand, this page, log-in link,
/// language switch), no account.
fn public_layout(lang: Lang, status: StatusCode, title: &str, body: Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — kyso" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { (lang.pick("Bỏ qua đến nội dung", "Skip to content")) }
                header {
                    span.brand { "kyso" }
                    nav aria-label=(lang.pick("Điều hướng chính", "Main navigation")) {
                        a href=(PATH) aria-current="page" { (lang.pick("Kiểm tra văn bản ký số", "Check a signed document")) }
                    }
                    div.right {
                        @match lang {
                            Lang::Vi => a href={ "/lang?to=en&back=" (PATH) } lang="en" { "English" },
                            Lang::En => a href={ "/lang?to=vi&back=" (PATH) } lang="vi" { "Tiếng Việt" },
                        }
                        a href="/login" { (lang.pick("Đăng nhập", "Log in")) }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    };
    html_response(status, markup)
}

/// The upload form; `max_bytes`: the configured cap (`--verify-max-mb`), said in the hint.
fn form(lang: Lang, max_bytes: usize) -> Markup {
    let max = size_text(lang, max_bytes);
    html! {
        form method="post" action=(PATH) enctype="multipart/form-data" style="max-width:820px" {
            div.field {
                label for="file" { (lang.pick("Tệp PDF có chữ ký số", "Signed PDF file")) " *" }
                input #file name="file" type="file" accept="application/pdf,.pdf" required
                    aria-describedby="file-hint";
                div.hint #file-hint { (match lang {
                    Lang::Vi => format!("Tối đa {max}. Tệp chỉ được dùng để kiểm tra và không được lưu lại trên máy chủ."),
                    Lang::En => format!("At most {max}. The file is used for the check only and is not kept on the server."),
                }) }
            }
            button.primary type="submit" { (lang.pick("Kiểm tra", "Check")) }
        }
    }
}

fn intro(lang: Lang) -> Markup {
    html! {
        h1 { (lang.pick("Kiểm tra văn bản điện tử có chữ ký số", "Check a digitally signed document")) }
        p { (lang.pick(
            "Bất kỳ ai cũng có thể kiểm tra chữ ký số trên một văn bản PDF mà không cần đăng nhập: ai đã ký, với vai trò gì, văn bản có còn nguyên vẹn, ký lúc nào, chứng thư số có bị thu hồi không và có thay đổi gì sau khi ký.",
            "Anyone can check the digital signatures of a PDF document without logging in: who signed it, in which role, whether it is intact, when it was signed, whether the certificate was revoked and what changed after signing."
        )) }
        p.hint { (lang.pick(
            "Kiểm tra tại máy chủ như lệnh kyso verify, với các chứng thư gốc tin cậy của máy chủ, không tải thông tin thu hồi qua mạng: điều gì tệp không kèm theo thì ghi là chưa xác định được, không bao giờ kết luận sai cho người ký.",
            "Checked on the server as kyso verify does, against the server's trusted roots, without fetching revocation information: what the file does not carry is reported as not established, never held against the signer."
        )) }
    }
}

/// `GET /kiem-tra`: the form.
pub(super) async fn page(State(st): State<AppState>, lang: Lang) -> Response {
    public_layout(
        lang,
        StatusCode::OK,
        lang.pick("Kiểm tra văn bản ký số", "Check a signed document"),
        html! { (intro(lang)) (form(lang, st.verify_limits.max_bytes)) },
    )
}

/// A refusal in the layout: the message, then the form again.
fn refusal(lang: Lang, max_bytes: usize, status: StatusCode, message: &str) -> Response {
    public_layout(
        lang,
        status,
        lang.pick("Chưa kiểm tra được", "Not checked"),
        html! {
            h1 { (lang.pick("Chưa kiểm tra được", "Not checked")) }
            div.alert.error role="alert" { (message) }
            (crate::observability::request_id_note(lang))
            (form(lang, max_bytes))
        },
    )
}

/// The answer when the client has no turn: 429 (with `Retry-After`) or 503.
fn refused_page(lang: Lang, max_bytes: usize, r: Refused) -> Response {
    match r {
        Refused::RateLimited { retry_after } => {
            let mut res = refusal(
                lang,
                max_bytes,
                StatusCode::TOO_MANY_REQUESTS,
                &match lang {
                    Lang::Vi => format!(
                        "Máy của bạn đã gửi quá nhiều tệp cần kiểm tra trong thời gian ngắn. Xin thử lại sau khoảng {retry_after} giây."
                    ),
                    Lang::En => format!(
                        "Too many files were sent for checking from your address in a short time. Try again in about {retry_after} seconds."
                    ),
                },
            );
            if let Ok(v) = HeaderValue::from_str(&retry_after.to_string()) {
                res.headers_mut().insert(header::RETRY_AFTER, v);
            }
            res
        }
        Refused::Busy => refusal(
            lang,
            max_bytes,
            StatusCode::SERVICE_UNAVAILABLE,
            Unchecked::Busy.message(lang),
        ),
    }
}

/// `POST /kiem-tra`: check the uploaded file and show its report. Nothing is stored.
pub(super) async fn submit(
    State(st): State<AppState>,
    lang: Lang,
    Source(client): Source,
    headers: HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    // Another site's page cannot make a visitor's browser spend the visitor's turns.
    if !same_origin(&headers) {
        return refusal(
            lang,
            st.verify_limits.max_bytes,
            StatusCode::FORBIDDEN,
            lang.pick(
                "Biểu mẫu không đến từ trang này; hãy mở trang kiểm tra và gửi lại tệp.",
                "The form did not come from this site; open the checking page and send the file again.",
            ),
        );
    }
    let _slot = match st.verify_limits.admit(&client, st.now()).await {
        Ok(slot) => slot,
        Err(r) => {
            tracing::info!(client = %client, refused = ?r, "public verification refused");
            return refused_page(lang, st.verify_limits.max_bytes, r);
        }
    };
    let Ok(mp) = mp else {
        let e = FormError::Unreadable;
        return refusal(
            lang,
            st.verify_limits.max_bytes,
            e.status(),
            &e.message(lang),
        );
    };
    let max = st.verify_limits.max_bytes;
    let Ok(blobs) = crate::api::documents::blobs(&st) else {
        let e = FormError::Storage;
        return refusal(lang, max, e.status(), &e.message(lang));
    };
    // The file streams to a temporary file of the blob folder, the cap counted as it comes;
    // dropped on every way out of this function (the report, a refusal, the client gone), the
    // file is removed.
    let upload =
        crate::multipart::read_streaming(mp, crate::MAX_DOCUMENT_BODY, "file", &blobs, max as u64)
            .await;
    let upload = match upload {
        Ok(f) => f,
        Err(e) => return refusal(lang, max, e.status(), &e.message(lang)),
    };
    let Some((file, name)) = upload.file else {
        return refusal(
            lang,
            max,
            StatusCode::BAD_REQUEST,
            lang.pick("Chưa chọn tệp PDF cần kiểm tra.", "No PDF file was chosen."),
        );
    };
    let name = upload_name(&name, "tep-tai-len.pdf");
    let size = usize::try_from(file.size()).unwrap_or(usize::MAX);
    let report = match validate_staged(&st, &file, &name).await {
        Ok(r) => r,
        Err(e) => {
            let status = match e {
                Unchecked::Unreadable(..) => StatusCode::UNPROCESSABLE_ENTITY,
                Unchecked::Busy => StatusCode::SERVICE_UNAVAILABLE,
                Unchecked::Server => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return refusal(lang, st.verify_limits.max_bytes, status, e.message(lang));
        }
    };
    tracing::info!(
        client = %client,
        size,
        verdict = report.verdict.as_str(),
        signatures = report.signatures.len(),
        "public verification"
    );
    public_layout(
        lang,
        StatusCode::OK,
        lang.pick("Kết quả kiểm tra", "Verification report"),
        html! {
            h1 { (lang.pick("Kết quả kiểm tra chữ ký số", "Signature verification report")) }
            p {
                (lang.pick("Tệp", "File")) ": " strong { (name) } " ("
                (size_text(lang, size)) ")"
            }
            section #report aria-labelledby="report-title" style="max-width:820px" {
                h2 #report-title style="font-size:18px" { (lang.pick("Báo cáo", "Report")) }
                (render_report(lang, &Report::of(&report, &name)))
            }
            p.hint { (lang.pick(
                "Tệp chỉ được dùng để kiểm tra và đã được xóa, không lưu lại trên máy chủ.",
                "The file was used for the check only and has been deleted, not kept on the server."
            )) }
            h2 style="font-size:18px" { (lang.pick("Kiểm tra tệp khác", "Check another file")) }
            (form(lang, st.verify_limits.max_bytes))
        },
    )
}

/// A size as people read it: "35 KB", "2,4 MB" (the decimal comma in Vietnamese).
fn size_text(lang: Lang, bytes: usize) -> String {
    if bytes < 1024 * 1024 {
        format!("{} KB", bytes.div_ceil(1024))
    } else {
        let tenths = bytes * 10 / (1024 * 1024);
        let sep = lang.pick(",", ".");
        format!("{}{sep}{} MB", tenths / 10, tenths % 10)
    }
}
