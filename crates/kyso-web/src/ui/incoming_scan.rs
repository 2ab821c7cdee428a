//! The scan check on an incoming document's page (issue 18 item 1): for a paper document the
//! clerk uploaded as a scan, whether it has Decree 30's format of a digitised copy (PDF ≥ 1.4,
//! pages scanned at ≥ 200 dpi, colour) — the same report as `GET
//! /api/v1/incoming/{id}/scan-check` (`crate::api::incoming_scan::scan_check_of`), page by
//! page, the findings in the reader's language, errors first.

use maud::{html, Markup};

use super::Page;
use crate::api::incoming_scan::scan_check_of;
use crate::AppState;
use kyso_store::incoming as inc;

/// The section, empty for a document not uploaded as a scan.
pub(super) async fn scan_section(st: &AppState, p: &Page, d: &inc::Incoming) -> Markup {
    if !d.scanned {
        return html! {};
    }
    let check = scan_check_of(st, &p.actor, d.id).await;
    let colour = |c: Option<&str>| match c {
        Some("colour") => p.t("màu", "colour"),
        Some("gray") => p.t("thang xám", "greyscale"),
        Some("black_white") => p.t("đen trắng", "black and white"),
        _ => p.t("không có ảnh quét", "no scanned image"),
    };
    html! {
        section #scan-check aria-labelledby="scan-check-title" style="margin-bottom:12px;max-width:820px" {
            h3 #scan-check-title { (p.t("Kiểm tra bản quét (định dạng bản sao điện tử)", "Scan check (the format of an electronic copy)")) }
            p.hint { (p.t(
                "Nghị định 30: bản số hóa văn bản giấy là tệp PDF phiên bản 1.4 trở lên, ảnh màu, độ phân giải tối thiểu 200 dpi, tỷ lệ 100%.",
                "Decree 30: a digitised paper document is a PDF of version 1.4 or later, in colour, at 200 dpi or more, at 100 % scale.")) }
            @match &check {
                Ok(r) => {
                    p role="status" {
                        @if r.passes {
                            strong { (p.t("Bản quét đạt định dạng bản sao điện tử.", "The scan has the format of an electronic copy.")) }
                        } @else {
                            strong { (p.t("Bản quét chưa đạt: cần quét lại trước khi số hóa.", "The scan falls short: scan it again before digitising it.")) }
                        }
                    }
                    @if !r.findings.is_empty() {
                        ul {
                            @for f in &r.findings {
                                li {
                                    (if f.severity == "error" { p.t("Lỗi: ", "Error: ") } else { p.t("Lưu ý: ", "Note: ") })
                                    (p.t(&f.message_vi, &f.message_en))
                                }
                            }
                        }
                    }
                    div style="overflow-x:auto" {
                        table {
                            thead { tr {
                                th scope="col" { (p.t("Trang", "Page")) }
                                th scope="col" { (p.t("Khổ (mm)", "Size (mm)")) }
                                th scope="col" { (p.t("Độ phân giải", "Resolution")) }
                                th scope="col" { (p.t("Màu", "Colour")) }
                            } }
                            tbody {
                                @for pg in r.pages.iter().take(50) {
                                    tr {
                                        td { (pg.page) }
                                        td { (format!("{:.0} × {:.0}", pg.width_mm, pg.height_mm)) }
                                        td { @match pg.dpi { Some(d) => { (format!("{d:.0} dpi")) } None => { "—" } } }
                                        td { (colour(pg.colour.as_deref())) }
                                    }
                                }
                            }
                        }
                    }
                    @if r.pages.len() > 50 {
                        p.hint { (p.t("(50 trang đầu)", "(the first 50 pages)")) }
                    }
                }
                Err(e) => {
                    p role="status" { (e.message(p.lang)) }
                }
            }
        }
    }
}
