//! Library errors turned into one-line messages for the user, in Vietnamese and English, each
//! classified into an exit code ([`crate::exit`]): the input's own faults (a missing, unreadable
//! or damaged file, a bad image, a placement that does not fit, a wrong key-file password) are
//! usage/input errors (3); the network, the USB token or its driver, a remote signing service
//! and a full or read-only disk are the environment (4); anything else stays a failure (1).
//! The classification is by the libraries' typed error kinds, never by message text.

use crate::{ue, UserError};

fn pdf_message(e: &kyso_pdf::Error) -> UserError {
    use kyso_pdf::Error as E;
    match e {
        E::Encrypted => {
            ue!("tệp PDF được mã hóa; hãy gỡ mật khẩu trước khi ký"; "the PDF is encrypted; remove its password before signing")
        }
        E::Truncated { offset, .. } => {
            ue!("tệp PDF bị cắt cụt (hết dữ liệu ở byte {}); hãy lấy lại tệp đầy đủ từ nơi gửi", offset; "the PDF is truncated (data ends at byte {}); get the complete file again from its sender", offset)
        }
        E::NotPdf => ue!("tệp không phải là PDF"; "the file is not a PDF"),
        E::Malformed { offset, what } => {
            ue!("tệp PDF bị hỏng (sai cấu trúc ở byte {}); hãy lấy lại tệp từ nơi gửi hoặc xuất lại PDF", offset; "the PDF is damaged at byte {} ({}); get the file again from its sender or export the PDF again", offset, what)
        }
        E::PageOutOfRange { index, count } => {
            ue!("trang {} không tồn tại (tài liệu có {} trang)", index + 1, count; "page {} does not exist (the document has {} pages)", index + 1, count)
        }
        E::LimitExceeded { limit, value, max } => {
            ue!("tệp PDF vượt giới hạn an toàn: {} ({} > {})", limit, value, max; "the PDF exceeds a safety limit: {} ({} > {})", limit, value, max)
        }
        E::MissingObject { num, gen } => {
            ue!("tệp PDF thiếu đối tượng {} {}", num, gen; "the PDF lacks object {} {}", num, gen)
        }
        // The operating system's own text only in English.
        E::Io(m) => {
            ue!("không đọc/ghi được tệp (hệ điều hành báo lỗi; kiểm tra tệp còn đó, đủ quyền và ổ đĩa còn chỗ)"; "file read/write error: {}", m)
        }
        E::Image(i) => image(i),
        E::Font(kyso_pdf::error::FontError::MissingGlyphs { missing }) => {
            let chars: String = missing.iter().collect();
            ue!("phông chữ không có ký tự: {}", chars; "the font has no glyph for: {}", chars)
        }
        E::Font(f) => ue!("phông chữ không dùng được"; "font error: {}", f),
        other => {
            ue!("tệp PDF không đọc được (bị hỏng hoặc có cấu trúc không được hỗ trợ); hãy lấy lại tệp từ nơi gửi"; "cannot read the PDF: {}", other)
        }
    }
}

fn image_message(e: &kyso_pdf::error::ImageError) -> UserError {
    use kyso_pdf::error::ImageError as E;
    match e {
        E::NotPng => ue!("tệp ảnh không phải PNG"; "the image is not a PNG file"),
        E::Truncated => ue!("tệp ảnh PNG bị cắt cụt"; "the PNG image is truncated"),
        E::Malformed => ue!("tệp ảnh PNG bị hỏng"; "the PNG image is damaged"),
        E::Empty => ue!("ảnh rỗng (không có điểm ảnh)"; "the image is empty"),
        E::TooLarge { limit, value, max } => {
            ue!("ảnh quá lớn: {} ({} > {})", limit, value, max; "the image is too large: {} ({} > {})", limit, value, max)
        }
        other => ue!("ảnh không dùng được: {}", other; "unusable image: {}", other),
    }
}

fn form_message(e: &kyso_pades::forms::FormError) -> UserError {
    use kyso_pades::forms::FormError as E;
    match e {
        E::AnchorNotFound(t) => {
            ue!("không tìm thấy dòng chữ \"{}\" trong tài liệu; kiểm tra --anchor hoặc dùng --page và --rect", t; "anchor text \"{}\" not found in the document; check --anchor or use --page and --rect", t)
        }
        E::BadRect => {
            ue!("vùng --rect rỗng hoặc nằm ngoài trang (dạng x1,y1,x2,y2, đơn vị điểm)"; "the --rect area is empty or outside the page (x1,y1,x2,y2 in points)")
        }
        E::NoPersonalSignature(p) => {
            ue!("trang {} chưa có chữ ký cá nhân hiển thị để đóng dấu lên; ký cá nhân trước hoặc dùng --rect", p; "page {} has no visible personal signature to put the seal over; sign it first or use --rect", p)
        }
        E::NoPersonalSignatureAnywhere => {
            ue!("tài liệu chưa có chữ ký cá nhân hiển thị để đóng dấu lên; ký cá nhân trước hoặc dùng --rect"; "the document has no visible personal signature to put the seal over; sign it first or use --rect")
        }
        E::SealWithoutDpi => {
            ue!("ảnh con dấu không ghi độ phân giải (DPI); thêm --seal-diameter-mm"; "the seal image has no resolution (DPI); add --seal-diameter-mm")
        }
        E::BadSealSize => {
            ue!("đường kính con dấu phải từ 5 đến 200 mm"; "the seal diameter must be between 5 and 200 mm")
        }
        other => {
            ue!("không đặt được chữ ký hiển thị: {}", other; "cannot place the visible signature: {}", other)
        }
    }
}

fn pades_message(e: &kyso_pades::Error) -> UserError {
    use kyso_pades::Error as E;
    match e {
        E::Pdf(p) => pdf(p),
        E::Form(f) => form(f),
        E::Cms(kyso_cms::Error::Signer(f)) => match f.downcast_ref::<kyso_keys::Error>() {
            Some(k) => keys(k),
            None => {
                ue!("thiết bị/dịch vụ ký báo lỗi: {}", f; "the signing device or service failed: {}", f)
            }
        },
        E::Cms(kyso_cms::Error::SignatureMismatch) => {
            ue!("chữ ký không khớp với khóa công khai của chứng thư số; không ghi tệp"; "the signature does not match the certificate's public key; nothing was written")
        }
        E::Cms(kyso_cms::Error::SigningFailed(m)) => {
            ue!("thiết bị ký hoặc dịch vụ ký số từ xa không ký được; không ghi tệp ({})", m; "the signing device or remote signing service did not sign; nothing was written ({})", m)
        }
        E::Cms(c) => {
            ue!("không tạo được chữ ký CMS: {}", c; "cannot build the CMS signature: {}", c)
        }
        E::PlaceholderTooSmall { needed, reserved } => {
            ue!("chữ ký cần {} byte nhưng chỉ dành {} byte", needed, reserved; "the signature needs {} bytes but {} were reserved", needed, reserved)
        }
        E::PageOutOfRange { page, count } => {
            ue!("trang {} không tồn tại (tài liệu có {} trang)", page, count; "page {} does not exist (the document has {} pages)", page, count)
        }
        E::FieldExists(n) => {
            ue!("đã có trường chữ ký tên \"{}\"", n; "a signature field named \"{}\" exists already", n)
        }
        E::Structure(w) => {
            ue!("không thêm được trường chữ ký: {}", w; "cannot add a signature field: {}", w)
        }
        E::Io(io) => {
            ue!("không đọc/ghi được tệp (hệ điều hành báo lỗi; kiểm tra tệp còn đó, đủ quyền và ổ đĩa còn chỗ)"; "file read/write error: {}", io)
        }
        E::Timestamp(m) => {
            ue!("không lấy được dấu thời gian từ dịch vụ TSA ({}); không ghi tệp", m; "no timestamp from the TSA ({}); nothing was written", m)
        }
        E::Validation(m) => {
            ue!("không thu thập được thông tin kiểm tra chứng thư số ({}); không ghi tệp", m; "cannot gather validation material ({}); nothing was written", m)
        }
        other => ue!("ký thất bại: {}", other; "signing failed: {}", other),
    }
}

/// Whether signing failed because the signing device is gone or unusable for every further
/// document (pulled out, logged out, PIN locked).
pub fn signer_gone(e: &kyso_pades::Error) -> bool {
    use kyso_keys::Error as K;
    match e {
        kyso_pades::Error::Cms(kyso_cms::Error::Signer(f)) => matches!(
            f.downcast_ref::<K>(),
            Some(K::TokenRemoved { .. } | K::KeyGone | K::LoggedOut | K::PinLocked)
        ),
        _ => false,
    }
}

fn keys_message(e: &kyso_keys::Error) -> UserError {
    use kyso_keys::Error as E;
    match e {
        E::WrongPassword => {
            ue!("sai mật khẩu của tệp PKCS#12"; "wrong password for the PKCS#12 file")
        }
        E::Malformed(m) => {
            ue!("tệp PKCS#12 không đọc được: {}", m; "cannot read the PKCS#12 file: {}", m)
        }
        E::NoKey => {
            ue!("tệp PKCS#12 không chứa khóa bí mật kèm chứng thư số"; "the PKCS#12 file holds no private key with a certificate")
        }
        E::KeyMismatch => {
            ue!("khóa bí mật không khớp với chứng thư số"; "the private key does not match the certificate")
        }
        E::Unsupported(w) => ue!("loại khóa không được hỗ trợ: {}", w; "unsupported key: {}", w),
        E::Remote(m) => {
            ue!("không dùng được dịch vụ ký số từ xa: {}", m; "cannot use the remote signing service: {}", m)
        }
        E::Refused {
            method,
            status,
            error,
            description,
        } => {
            ue!("dịch vụ ký số từ xa từ chối {} (HTTP {}, {}): {}", method, status, error, description; "the remote signing service refused {} (HTTP {}, {}): {}", method, status, error, description)
        }
        E::ModuleLoad { path, reason } => {
            ue!("không nạp được thư viện PKCS#11 {} ({}); kiểm tra đường dẫn --pkcs11-module và cài phần mềm (driver) của nhà cung cấp USB token", path, reason; "cannot load the PKCS#11 module {} ({}); check the --pkcs11-module path and install the token vendor's software (driver)", path, reason)
        }
        E::TokenNotFound { wanted, available } => {
            let present = if available.is_empty() {
                "không có".to_owned()
            } else {
                available.join(", ")
            };
            let present_en = if available.is_empty() {
                "none".to_owned()
            } else {
                available.join(", ")
            };
            ue!("không thấy USB token \"{}\" (đang cắm: {}); hãy cắm đúng thiết bị hoặc sửa --token", wanted, present; "no token \"{}\" found (present: {}); plug in the right device or fix --token", wanted, present_en)
        }
        E::AmbiguousToken { wanted, serials } => {
            let s = serials.join(", ");
            ue!("có nhiều USB token cùng nhãn \"{}\"; chọn bằng số sê-ri: --token SỐ_SÊ_RI ({})", wanted, s; "several tokens are labelled \"{}\"; choose by serial number: --token SERIAL ({})", wanted, s)
        }
        E::TokenRemoved { code } => {
            ue!("không thấy thiết bị USB token hoặc thiết bị đã bị rút ra ({}); hãy cắm lại rồi ký lại — các tệp chưa ký xong không được ghi", code; "the USB token is missing or was pulled out ({}); plug it back in and sign again — files not fully signed were not written", code)
        }
        E::WrongPin {
            attempts_left: Some(n),
            ..
        } => {
            ue!("sai mã PIN (còn {} lần thử); nhập sai nữa thiết bị sẽ bị khóa", n; "wrong PIN ({} tries left); more wrong PINs will lock the device", n)
        }
        E::WrongPin {
            count_low: true, ..
        } => {
            ue!("sai mã PIN (thiết bị báo còn ít lần thử); kiểm tra kỹ trước khi thử lại kẻo thiết bị bị khóa"; "wrong PIN (the device says few tries are left); check it carefully before trying again, or the device locks")
        }
        E::WrongPin { .. } => {
            ue!("sai mã PIN của USB token; hãy nhập lại (nhập sai nhiều lần thiết bị sẽ bị khóa)"; "wrong PIN for the token; enter it again (too many wrong PINs lock the device)")
        }
        E::PinLocked => {
            ue!("mã PIN đã bị khóa — dùng PUK hoặc công cụ mở khóa của nhà cung cấp thiết bị, hoặc liên hệ tổ chức cung cấp dịch vụ chứng thực"; "the PIN is locked — use the PUK or the token vendor's unlock tool, or contact your certification service provider")
        }
        E::PinExpired => {
            ue!("mã PIN đã hết hạn; đổi mã PIN bằng công cụ của nhà cung cấp thiết bị rồi ký lại"; "the PIN has expired; change it with the token vendor's tool and sign again")
        }
        E::LoggedOut => {
            ue!("USB token đã đăng xuất (bị rút ra hoặc chương trình khác đăng xuất); hãy ký lại"; "the token logged out (pulled out, or another program logged out); sign again")
        }
        E::Cancelled => ue!("đã hủy thao tác trên thiết bị"; "cancelled on the device"),
        E::KeyNotFound { wanted, available } => {
            let keys_vi = if available.is_empty() {
                "không có".to_owned()
            } else {
                available.join(", ")
            };
            let keys_en = if available.is_empty() {
                "none".to_owned()
            } else {
                available.join(", ")
            };
            match wanted {
                Some(w) => {
                    ue!("không thấy khóa \"{}\" kèm chứng thư số trên USB token (các khóa: {}); sửa --key", w, keys_vi; "no key \"{}\" with a certificate on the token (keys: {}); fix --key", w, keys_en)
                }
                None => {
                    ue!("USB token không có khóa ký nào kèm chứng thư số (các khóa: {}); xem kyso token list", keys_vi; "the token holds no signing key with a certificate (keys: {}); see kyso token list", keys_en)
                }
            }
        }
        E::AmbiguousKey { labels } => {
            let l = labels.join(", ");
            ue!("USB token có nhiều khóa ký ({}); chọn một bằng --key NHÃN hoặc --key CKA_ID", l; "the token holds several signing keys ({}); choose one with --key LABEL or --key CKA_ID", l)
        }
        E::MechanismUnsupported => {
            ue!("USB token không hỗ trợ thuật toán ký này cho khóa (ví dụ RSA-PSS); bỏ --pss"; "the token does not support this signature algorithm for the key (e.g. RSA-PSS); drop --pss")
        }
        E::KeyGone => {
            ue!("khóa ký không còn trên USB token (thiết bị bị rút ra hoặc thay bằng thiết bị khác); hãy cắm lại đúng thiết bị rồi ký lại"; "the signing key is no longer on the token (pulled out, or another device plugged in); plug the right one back in and sign again")
        }
        E::KeyCannotSign => {
            ue!("khóa trên USB token không được phép ký"; "the key on the token is not allowed to sign")
        }
        E::Device { operation, code } => {
            ue!("USB token báo lỗi khi {} ({}); hãy rút ra cắm lại, nếu vẫn lỗi liên hệ nhà cung cấp thiết bị", operation, code; "the token failed in {} ({}); unplug and replug it, and contact the vendor if it persists", operation, code)
        }
        other => ue!("lỗi khóa ký: {}", other; "signing key error: {}", other),
    }
}

/// The sentence of [`io`].
fn io_message(path: &std::path::Path, e: &std::io::Error) -> UserError {
    use std::io::ErrorKind as K;
    let p = path.display();
    match e.kind() {
        K::NotFound => ue!("không tìm thấy tệp {}", p; "file not found: {}", p),
        K::PermissionDenied => {
            ue!("không có quyền truy cập tệp {}", p; "permission denied: {}", p)
        }
        K::IsADirectory => {
            ue!("{} là một thư mục, không phải tệp; hãy chỉ ra tệp PDF trong thư mục đó", p; "{} is a directory, not a file", p)
        }
        K::NotADirectory => {
            ue!("đường dẫn {} không đúng: một phần của đường dẫn không phải thư mục", p; "{}: a component of the path is not a directory", p)
        }
        K::StorageFull => {
            ue!("ổ đĩa đã đầy, không ghi được {}", p; "no space left on the device writing {}", p)
        }
        K::ReadOnlyFilesystem => {
            ue!("ổ đĩa chỉ cho đọc, không ghi được {}", p; "read-only file system: {}", p)
        }
        K::AlreadyExists => ue!("tệp {} đã có", p; "{} already exists", p),
        _ => {
            ue!("không đọc/ghi được tệp {} (hệ điều hành báo lỗi)", p; "cannot read/write {}: {}", p, e)
        }
    }
}

/// A PDF error: always the input's fault (missing, damaged, encrypted, unsupported) — exit 3.
pub fn pdf(e: &kyso_pdf::Error) -> UserError {
    pdf_message(e).usage()
}

/// An image error: the input's fault — exit 3.
pub fn image(e: &kyso_pdf::error::ImageError) -> UserError {
    image_message(e).usage()
}

/// A visible-form placement error: the command line's or the document's fault — exit 3.
fn form(e: &kyso_pades::forms::FormError) -> UserError {
    form_message(e).usage()
}

/// A signing error, classified by kind: the input (3), the environment (4) or a failure (1).
pub fn pades(e: &kyso_pades::Error) -> UserError {
    use kyso_pades::Error as E;
    let message = pades_message(e);
    match e {
        // Already classified by their own catalogue entries.
        E::Pdf(_) | E::Form(_) => message,
        E::Cms(kyso_cms::Error::Signer(f)) if f.downcast_ref::<kyso_keys::Error>().is_some() => {
            message
        }
        E::PageOutOfRange { .. } | E::FieldExists(_) | E::Structure(_) => message.usage(),
        E::Cms(kyso_cms::Error::Signer(_) | kyso_cms::Error::SigningFailed(_))
        | E::Timestamp(_)
        | E::Validation(_) => message.environment(),
        E::Io(io) => message.with_code(io_code(io)),
        _ => message,
    }
}

/// A key error, classified by kind: the key file or the command line (3), the token, its
/// driver or a remote signing service (4).
pub fn keys(e: &kyso_keys::Error) -> UserError {
    use kyso_keys::Error as E;
    let message = keys_message(e);
    match e {
        E::WrongPassword
        | E::Malformed(_)
        | E::NoKey
        | E::KeyMismatch
        | E::Unsupported(_)
        | E::AmbiguousToken { .. }
        | E::KeyNotFound { .. }
        | E::AmbiguousKey { .. }
        | E::MechanismUnsupported => message.usage(),
        E::Remote(_)
        | E::Refused { .. }
        | E::ModuleLoad { .. }
        | E::TokenNotFound { .. }
        | E::TokenRemoved { .. }
        | E::WrongPin { .. }
        | E::PinLocked
        | E::PinExpired
        | E::LoggedOut
        | E::Cancelled
        | E::KeyGone
        | E::KeyCannotSign
        | E::Device { .. } => message.environment(),
        _ => message,
    }
}

/// The exit code of an I/O error: the named file's fault (3) or the machine's (4: a full or
/// read-only disk, anything the operating system reports otherwise).
fn io_code(e: &std::io::Error) -> u8 {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::NotFound
        | K::PermissionDenied
        | K::IsADirectory
        | K::NotADirectory
        | K::AlreadyExists
        | K::InvalidInput
        | K::InvalidData
        | K::UnexpectedEof => crate::exit::USAGE,
        _ => crate::exit::ENVIRONMENT,
    }
}

/// An I/O error on `path`: a Vietnamese sentence per kind; the operating system's own text
/// (`No such file or directory (os error 2)`) only in English. Exit 3 for the file's own
/// faults (missing, no permission, a directory), 4 for the machine's (disk full, read-only).
pub fn io(path: &std::path::Path, e: &std::io::Error) -> UserError {
    io_message(path, e).with_code(io_code(e))
}

/// Why `kyso verify` could not check a file at all (not a verdict, so exit 3, never 1): the PDF's own errors as
/// [`pdf`] says them, anything else as one sentence (the library's text only in English).
pub fn verify(path: &std::path::Path, e: &kyso_pades::Error) -> UserError {
    use kyso_pades::Error as E;
    let p = path.display();
    match e {
        E::Pdf(kyso_pdf::Error::Io(m)) => {
            ue!("không đọc được tệp {} (hệ điều hành báo lỗi khi đọc)", p; "cannot read {}: {}", p, m).usage()
        }
        E::Pdf(pdf_error) => pdf(pdf_error),
        E::Io(io_error) => io(path, io_error),
        other => {
            ue!("không kiểm tra được chữ ký trong tệp {}: tệp bị hỏng hoặc có cấu trúc không được hỗ trợ", p; "cannot check the signatures of {}: {}", p, other).usage()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit;
    use std::path::Path;

    #[test]
    fn input_faults_exit_3_and_the_environment_4() {
        let missing = std::io::Error::from(std::io::ErrorKind::NotFound);
        assert_eq!(io(Path::new("a.pdf"), &missing).code, exit::USAGE);
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert_eq!(io(Path::new("a.pdf"), &full).code, exit::ENVIRONMENT);
        let not_pdf = kyso_pdf::Error::NotPdf;
        let e = pdf(&not_pdf);
        assert_eq!(e.code, exit::USAGE);
        assert_eq!(e.vi, "tệp không phải là PDF");
        let verify_missing = kyso_pades::Error::Io(std::io::ErrorKind::NotFound.into());
        let e = verify(Path::new("a.pdf"), &verify_missing);
        assert_eq!(e.code, exit::USAGE);
        assert!(e.vi.contains("không tìm thấy tệp"), "{}", e.vi);
        assert_eq!(
            verify(Path::new("a.pdf"), &kyso_pades::Error::Pdf(not_pdf)).code,
            exit::USAGE
        );
        assert_eq!(
            verify(Path::new("a.pdf"), &kyso_pades::Error::Structure("x")).code,
            exit::USAGE
        );
        assert_eq!(keys(&kyso_keys::Error::WrongPassword).code, exit::USAGE);
        assert_eq!(keys(&kyso_keys::Error::PinLocked).code, exit::ENVIRONMENT);
        assert_eq!(
            keys(&kyso_keys::Error::Remote("down".into())).code,
            exit::ENVIRONMENT
        );
        let tsa = kyso_pades::Error::Timestamp("connection refused".into());
        assert_eq!(pades(&tsa).code, exit::ENVIRONMENT);
        let on_token = kyso_pades::Error::Cms(kyso_cms::Error::Signer(
            kyso_cms::SignerFailure::new(kyso_keys::Error::TokenRemoved {
                code: "CKR_DEVICE_REMOVED".into(),
            }),
        ));
        let e = pades(&on_token);
        assert_eq!(e.code, exit::ENVIRONMENT);
        assert!(signer_gone(&on_token));
        let page = kyso_pades::Error::PageOutOfRange { page: 9, count: 1 };
        assert_eq!(pades(&page).code, exit::USAGE);
        let small = kyso_pades::Error::PlaceholderTooSmall {
            needed: 2,
            reserved: 1,
        };
        assert_eq!(pades(&small).code, exit::INVALID);
    }
}
