//! The pages as a browser sees them: forms URL-encoded or as multipart bodies, a page's text,
//! and whether an answer is a page of the site's layout.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};

use super::app::{App, Session};

/// The boundary of the multipart bodies the tests send.
pub const BOUNDARY: &str = "kyso-test-boundary";

/// A part of a multipart form.
pub enum Part<'a> {
    /// A field and its value.
    Text(&'a str, &'a str),
    /// A file: the field, the file's name, its content type and its bytes.
    File(&'a str, &'a str, &'a str, &'a [u8]),
}

/// `parts` as a `multipart/form-data` body between [`BOUNDARY`] lines.
pub fn multipart(parts: &[Part<'_>]) -> Vec<u8> {
    let mut body = Vec::new();
    for p in parts {
        match p {
            Part::Text(k, v) => body.extend_from_slice(
                format!(
                    "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
                )
                .as_bytes(),
            ),
            Part::File(k, name, content_type, bytes) => {
                body.extend_from_slice(
                    format!(
                        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{k}\"; \
                         filename=\"{name}\"\r\nContent-Type: {content_type}\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// `fields` as an `application/x-www-form-urlencoded` body (every byte but unreserved ones
/// percent-encoded).
pub fn urlencode(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The page's text (tags removed, whitespace collapsed).
pub fn text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The value of the form input named `name` (HTML entities undone), as a browser would send it.
pub fn input_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!(r#"name="{name}""#))?;
    let rest = &html[at..];
    let start = rest.find(r#"value=""#)? + r#"value=""#.len();
    let end = rest[start..].find('"')?;
    Some(
        rest[start..start + end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

/// A page inside the site's layout (navigation and log-out), not a bare error page.
pub fn in_layout(html: &str) -> bool {
    html.contains("aria-label=\"Điều hướng chính\"") && html.contains("Đăng xuất")
}

impl App {
    /// POST a multipart form to `path` as `who`: the status and the page (or where a
    /// redirect points).
    pub async fn multipart_form(
        &self,
        who: &Session,
        path: &str,
        parts: &[Part<'_>],
    ) -> (StatusCode, String) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::COOKIE, who.cookie())
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(multipart(parts)))
            .unwrap();
        self.send_page(req).await
    }
}
