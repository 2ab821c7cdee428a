//! The user guide (`/huong-dan`): a Vietnamese source (`guide/huong-dan.md`) and its English
//! translation (`guide/guide.en.md`, the same sections, anchors and pictures), in a small
//! subset of Markdown: `#`/`##`/`###` headings, a `{#anchor}` after a section heading,
//! paragraphs, `- ` items and `![caption](screenshot.png)`. Shown in the site's layout in the
//! reader's language with the browser test's screenshots, and the same text with the same
//! pictures as an A4 PDF made by kyso's own composer (`/huong-dan.pdf`). Each page of the site
//! links to the section of its role.

use kyso_pdf::compose::{Composer, DocInfo, Margins, Style};

use super::*;

const SOURCE: &str = include_str!("../../guide/huong-dan.md");
const SOURCE_EN: &str = include_str!("../../guide/guide.en.md");

/// The guide's text in `lang`.
fn source(lang: Lang) -> &'static str {
    match lang {
        Lang::En => SOURCE_EN,
        Lang::Vi => SOURCE,
    }
}

/// The screenshots the guide shows (made by the browser stories, kept in docs/screenshots).
const IMAGES: &[(&str, &[u8])] = &[
    (
        "01-dang-nhap.png",
        include_bytes!("../../../../docs/screenshots/01-dang-nhap.png"),
    ),
    (
        "02-tong-quan.png",
        include_bytes!("../../../../docs/screenshots/02-tong-quan.png"),
    ),
    (
        "03-loi-ma-dinh-danh.png",
        include_bytes!("../../../../docs/screenshots/03-loi-ma-dinh-danh.png"),
    ),
    (
        "10-tai-khoan.png",
        include_bytes!("../../../../docs/screenshots/10-tai-khoan.png"),
    ),
    (
        "05-tim-thue-bao.png",
        include_bytes!("../../../../docs/screenshots/05-tim-thue-bao.png"),
    ),
    (
        "06-thue-bao-chung-thu.png",
        include_bytes!("../../../../docs/screenshots/06-thue-bao-chung-thu.png"),
    ),
    (
        "11-de-nghi-gia-han.png",
        include_bytes!("../../../../docs/screenshots/11-de-nghi-gia-han.png"),
    ),
    (
        "dt-08-cap-so.png",
        include_bytes!("../../../../docs/screenshots/dt-08-cap-so.png"),
    ),
    (
        "vb-den-01-hang-doi.png",
        include_bytes!("../../../../docs/screenshots/vb-den-01-hang-doi.png"),
    ),
    (
        "dt-06-cho-nhap-ma-pin.png",
        include_bytes!("../../../../docs/screenshots/dt-06-cho-nhap-ma-pin.png"),
    ),
    (
        "kiem-tra-02-hop-le.png",
        include_bytes!("../../../../docs/screenshots/kiem-tra-02-hop-le.png"),
    ),
];

/// One piece of the guide.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Title(String),
    /// A role's section: its heading and anchor.
    Section(String, String),
    Heading(String),
    Paragraph(String),
    Item(String),
    Image {
        caption: String,
        file: String,
    },
}

/// The guide's source read into its parts.
fn parts(source: &str) -> Vec<Part> {
    let mut out = Vec::new();
    for line in source.lines().map(str::trim_end) {
        if line.is_empty() {
            continue;
        }
        if let Some(t) = line.strip_prefix("### ") {
            out.push(Part::Heading(t.to_owned()));
        } else if let Some(t) = line.strip_prefix("## ") {
            let (title, anchor) = match t.rsplit_once(" {#") {
                Some((title, a)) => (title, a.trim_end_matches('}')),
                None => (t, ""),
            };
            out.push(Part::Section(title.to_owned(), anchor.to_owned()));
        } else if let Some(t) = line.strip_prefix("# ") {
            out.push(Part::Title(t.to_owned()));
        } else if let Some(t) = line.strip_prefix("- ") {
            out.push(Part::Item(t.to_owned()));
        } else if let Some(rest) = line.strip_prefix("![") {
            let (caption, file) = rest.split_once("](").unwrap_or((rest, ""));
            out.push(Part::Image {
                caption: caption.to_owned(),
                file: file.trim_end_matches(')').to_owned(),
            });
        } else {
            out.push(Part::Paragraph(line.to_owned()));
        }
    }
    out
}

/// The guide's section for a page of the site: its role's, else the one for everybody.
pub(super) fn help_anchor(path: &str) -> &'static str {
    let starts = |p: &str| path == p || path.starts_with(&format!("{p}/"));
    if starts("/agencies") || starts("/users") || starts("/reports") {
        "quan-tri"
    } else if starts("/subscribers")
        || starts("/certificates")
        || starts("/devices")
        || starts("/requests")
    {
        "can-bo"
    } else if starts("/incoming") {
        "van-thu"
    } else if starts("/archive") {
        "luu-tru"
    } else if starts("/documents") {
        "nguoi-ky"
    } else if starts("/audit") {
        "kiem-toan"
    } else {
        "chung"
    }
}

pub(super) async fn guide_page(p: Page) -> Response {
    let parts = parts(source(p.lang));
    let sections: Vec<(&str, &str)> = parts
        .iter()
        .filter_map(|x| match x {
            Part::Section(t, a) => Some((t.as_str(), a.as_str())),
            _ => None,
        })
        .collect();
    // Items in a row make one list.
    let mut body: Vec<Markup> = Vec::new();
    let mut items: Vec<&str> = Vec::new();
    let flush = |items: &mut Vec<&str>, body: &mut Vec<Markup>| {
        if !items.is_empty() {
            body.push(html! { ul { @for i in items.iter() { li { (i) } } } });
            items.clear();
        }
    };
    for part in &parts {
        if let Part::Item(t) = part {
            items.push(t);
            continue;
        }
        flush(&mut items, &mut body);
        body.push(match part {
            Part::Title(_) | Part::Item(_) => html! {},
            Part::Section(t, a) => html! { h2 id=(a) { (t) } },
            Part::Heading(t) => html! { h3 { (t) } },
            Part::Paragraph(t) => html! { p { (t) } },
            Part::Image { caption, file } => html! {
                figure {
                    img src={ "/huong-dan/anh/" (file) } alt=(caption) loading="lazy" style="max-width:100%;border:1px solid var(--line)";
                    figcaption.muted { (caption) }
                }
            },
        });
    }
    flush(&mut items, &mut body);
    let title = parts
        .iter()
        .find_map(|x| match x {
            Part::Title(t) => Some(t.as_str()),
            _ => None,
        })
        .unwrap_or(p.t("Hướng dẫn sử dụng", "User guide"));
    layout(
        &p,
        title,
        html! {
            h1 { (title) }
            p { a href="/huong-dan.pdf" download { (p.t("Tải bản PDF để in", "Download the PDF to print")) } }
            nav aria-label=(p.t("Mục lục", "Contents")) {
                ol { @for (t, a) in &sections { li { a href={ "#" (a) } { (t) } } } }
            }
            div style="max-width:900px" { @for b in &body { (b) } }
        },
    )
}

/// A screenshot of the guide.
pub(super) async fn guide_image(
    p: Page,
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    match IMAGES.iter().find(|(n, _)| *n == name) {
        Some((_, bytes)) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => layout_error(
            &p,
            StatusCode::NOT_FOUND,
            p.t("Không có hình này.", "No such picture."),
        ),
    }
}

/// The guide as an A4 PDF in `lang`, from the same source, with its pictures (each under its
/// caption's heading, at most the text width).
fn guide_pdf(lang: Lang) -> kyso_pdf::Result<Vec<u8>> {
    let mut c = Composer::a4(Margins::decree30())?;
    let body = Style::new(13.0).spacing(1.2).after(4.0);
    for part in parts(source(lang)) {
        match part {
            Part::Title(t) => c.paragraph(&t, &Style::new(18.0).bold().after(10.0))?,
            Part::Section(t, _) => {
                c.spacer(4.0);
                c.paragraph(&t, &Style::new(15.0).bold().after(6.0))?
            }
            Part::Heading(t) => c.paragraph(&t, &Style::new(13.5).bold().after(4.0))?,
            Part::Paragraph(t) => c.paragraph(&t, &body)?,
            Part::Item(t) => c.paragraph(&format!("– {t}"), &body.clone().indent(6.0))?,
            Part::Image { caption, file } => {
                if let Some((_, png)) = IMAGES.iter().find(|(n, _)| *n == file) {
                    let img =
                        kyso_pdf::image::decode_png(png, &kyso_pdf::image::ImageLimits::default())?;
                    c.image(img, 150.0, 2.0)?;
                }
                c.paragraph(&caption, &Style::new(11.0).italic().after(8.0))?
            }
        }
    }
    c.number_pages(&Style::new(10.0))?;
    let (title, subject, language) = match lang {
        Lang::En => ("kyso user guide", "The user guide, by role", "en-GB"),
        Lang::Vi => (
            "Hướng dẫn sử dụng kyso",
            "Hướng dẫn sử dụng theo vai trò",
            "vi-VN",
        ),
    };
    c.finish(&DocInfo {
        title: title.into(),
        author: "kyso".into(),
        subject: subject.into(),
        producer: "kyso".into(),
        creation_date: None,
        language: Some(language.into()),
    })
}

pub(super) async fn guide_pdf_download(p: Page) -> Response {
    let lang = p.lang;
    match tokio::task::spawn_blocking(move || guide_pdf(lang)).await {
        Ok(Ok(pdf)) => (
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}\"",
                        p.t("huong-dan-kyso.pdf", "kyso-user-guide.pdf")
                    ),
                ),
            ],
            pdf,
        )
            .into_response(),
        other => {
            tracing::error!(?other, "the guide's PDF could not be made");
            layout_error(
                &p,
                StatusCode::INTERNAL_SERVER_ERROR,
                p.t(
                    "Không tạo được bản PDF của hướng dẫn.",
                    "The guide's PDF could not be made.",
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guide_has_a_section_for_every_role_and_every_picture_it_shows() {
        let parts = parts(SOURCE);
        let anchors: Vec<&str> = parts
            .iter()
            .filter_map(|x| match x {
                Part::Section(_, a) => Some(a.as_str()),
                _ => None,
            })
            .collect();
        for path in [
            "/",
            "/agencies",
            "/subscribers/3",
            "/incoming",
            "/documents/1",
            "/audit",
        ] {
            assert!(anchors.contains(&help_anchor(path)), "{path}: {anchors:?}");
        }
        for part in &parts {
            if let Part::Image { file, .. } = part {
                assert!(
                    IMAGES.iter().any(|(n, _)| n == file),
                    "{file} is not embedded"
                );
            }
        }
    }

    #[test]
    fn the_english_guide_has_the_same_sections_and_pictures() {
        let shape = |src: &str| -> Vec<String> {
            parts(src)
                .into_iter()
                .filter_map(|x| match x {
                    Part::Section(_, a) => Some(format!("#{a}")),
                    Part::Image { file, .. } => Some(file),
                    _ => None,
                })
                .collect()
        };
        assert_eq!(shape(SOURCE), shape(SOURCE_EN));
        assert!(SOURCE_EN.starts_with("# kyso user guide"));
    }

    #[test]
    fn the_pdf_is_made_from_the_same_text_with_its_pictures() {
        let pictures = parts(SOURCE)
            .iter()
            .filter(|x| matches!(x, Part::Image { .. }))
            .count();
        for lang in [Lang::Vi, Lang::En] {
            let pdf = guide_pdf(lang).unwrap();
            assert!(pdf.starts_with(b"%PDF-"));
            let doc = kyso_pdf::Document::open(
                std::sync::Arc::new(kyso_pdf::MemSource::new(pdf)),
                kyso_pdf::Limits::default(),
            )
            .unwrap();
            let pages = doc.pages().unwrap().len();
            assert!(pages >= 3, "every role's section, on A4");
            let placed: usize = (0..pages)
                .map(|i| kyso_pdf::text::page_images(&doc, i).unwrap().len())
                .sum();
            assert_eq!(placed, pictures, "{lang:?}: every screenshot is in the PDF");
        }
    }
}
