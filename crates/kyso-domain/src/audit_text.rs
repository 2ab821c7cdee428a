//! The audit log in the words of the people who read it: what each stored action name means,
//! what kind of record an object names, and what the keys of an entry's details are. The
//! stored names stay as they are (the chain's hashes cover them); these are only labels.

use crate::documents::DocAction;
use crate::incoming::IncomingAction;
use crate::lifecycle::RequestAction;

/// The fixed actions: stored name, Vietnamese, English.
const ACTIONS: &[(&str, &str, &str)] = &[
    ("agency.create", "Thêm cơ quan", "Agency added"),
    ("agency.update", "Sửa thông tin cơ quan", "Agency changed"),
    (
        "agency.move",
        "Chuyển cơ quan sang cơ quan quản lý khác",
        "Agency moved",
    ),
    ("agency.dissolve", "Giải thể cơ quan", "Agency dissolved"),
    ("audit.key", "Tạo khóa nhật ký", "Audit key created"),
    ("auth.login", "Đăng nhập", "Signed in"),
    (
        "auth.login_failed",
        "Đăng nhập không thành công",
        "Failed sign-in",
    ),
    ("auth.logout", "Đăng xuất", "Signed out"),
    (
        "auth.session_end",
        "Phiên làm việc kết thúc",
        "Session ended",
    ),
    (
        "calendar.update",
        "Sửa lịch ngày làm việc",
        "Working calendar changed",
    ),
    (
        "certificate.download",
        "Tải tệp chứng thư số",
        "Certificate downloaded",
    ),
    (
        "certificate.export",
        "Xuất danh sách chứng thư số",
        "Certificates exported",
    ),
    (
        "certificate.import",
        "Nhập chứng thư số",
        "Certificate imported",
    ),
    ("certificate.read", "Xem chứng thư số", "Certificate viewed"),
    (
        "certificate.revoke",
        "Đánh dấu thu hồi chứng thư số",
        "Certificate marked revoked",
    ),
    ("device.create", "Thêm thiết bị lưu khóa", "Device added"),
    (
        "device.event",
        "Ghi nhận sự kiện thiết bị",
        "Device event recorded",
    ),
    (
        "document.attachment",
        "Đính kèm tệp vào văn bản",
        "Attachment added",
    ),
    (
        "document.attachment_sign",
        "Ký số tệp đính kèm",
        "Attachment signed",
    ),
    (
        "document.comment",
        "Ghi ý kiến vào văn bản",
        "Comment added",
    ),
    ("document.copy", "Sao văn bản", "Copy made"),
    ("document.copy_extract", "Trích sao văn bản", "Extract made"),
    (
        "document.copy_number_release",
        "Hủy số bản sao",
        "Copy number released",
    ),
    ("document.create", "Lập văn bản", "Document created"),
    (
        "document.delegate",
        "Ủy quyền ký văn bản",
        "Signature delegated",
    ),
    ("document.draft", "Sửa dự thảo", "Draft changed"),
    (
        "document.register_create",
        "Mở sổ văn bản đi",
        "Outgoing register opened",
    ),
    (
        "document.signing_ticket",
        "Chuẩn bị ký số văn bản",
        "Signing prepared",
    ),
    (
        "incoming.arrive",
        "Tiếp nhận văn bản đến",
        "Incoming document arrived",
    ),
    (
        "incoming.copy",
        "Sao văn bản đến",
        "Copy of an incoming document made",
    ),
    (
        "incoming.copy_number_release",
        "Hủy số bản sao văn bản đến",
        "Copy number released",
    ),
    (
        "incoming.delivery_undeliverable",
        "Không chuyển được văn bản",
        "Delivery failed",
    ),
    (
        "incoming.digitise",
        "Số hóa văn bản giấy",
        "Paper document digitised",
    ),
    (
        "incoming.edxml_header",
        "Ghi nhận thông tin gói edXML",
        "edXML header recorded",
    ),
    (
        "incoming.register_book",
        "In sổ văn bản đến",
        "Incoming register printed",
    ),
    (
        "incoming.register_create",
        "Mở sổ văn bản đến",
        "Incoming register opened",
    ),
    (
        "incoming.reminders",
        "Nhắc hạn xử lý văn bản đến",
        "Deadline reminders sent",
    ),
    (
        "incoming.signing_ticket",
        "Chuẩn bị ký số bản sao",
        "Copy signing prepared",
    ),
    (
        "incoming.status_delivered",
        "Đã báo trạng thái cho nơi gửi",
        "Status delivered",
    ),
    (
        "incoming.status_given_up",
        "Ngừng gửi báo trạng thái",
        "Status message given up",
    ),
    (
        "incoming.status_handled",
        "Đã xử lý báo trạng thái",
        "Status message handled",
    ),
    (
        "incoming.status_read",
        "Đọc báo trạng thái",
        "Status message read",
    ),
    (
        "incoming.status_resend",
        "Gửi lại báo trạng thái",
        "Status message resent",
    ),
    (
        "incoming.status_sent",
        "Gửi báo trạng thái",
        "Status message sent",
    ),
    (
        "notice.scan",
        "Rà soát chứng thư sắp hết hạn",
        "Expiry scan",
    ),
    ("request.create", "Lập đề nghị", "Request drafted"),
    (
        "request.letter_document",
        "Lập công văn đề nghị",
        "Request letter made",
    ),
    ("request.read", "Xem đề nghị", "Request viewed"),
    (
        "request.update",
        "Sửa dự thảo đề nghị",
        "Request draft changed",
    ),
    (
        "request_handlers.update",
        "Sửa nơi xử lý đề nghị",
        "Request handlers changed",
    ),
    (
        "request_recipients.update",
        "Sửa nơi nhận công văn đề nghị",
        "Letter recipients changed",
    ),
    (
        "sign_service.finalize",
        "Hoàn tất ký số qua dịch vụ",
        "Signing service finished",
    ),
    (
        "sign_service.prepare",
        "Chuẩn bị ký số qua dịch vụ",
        "Signing service prepared",
    ),
    ("subscriber.create", "Thêm thuê bao", "Subscriber added"),
    (
        "subscriber.deactivate",
        "Ngừng sử dụng thuê bao",
        "Subscriber deactivated",
    ),
    (
        "subscriber.reactivate",
        "Dùng lại thuê bao",
        "Subscriber reactivated",
    ),
    (
        "subscriber.export",
        "Xuất danh sách thuê bao",
        "Subscribers exported",
    ),
    (
        "device.export",
        "Xuất danh sách thiết bị",
        "Devices exported",
    ),
    (
        "request.export",
        "Xuất danh sách đề nghị",
        "Requests exported",
    ),
    (
        "agency.export",
        "Xuất danh sách cơ quan",
        "Agencies exported",
    ),
    (
        "audit.export",
        "Xuất nhật ký kiểm toán",
        "Audit log exported",
    ),
    (
        "user.export",
        "Xuất danh sách tài khoản",
        "Accounts exported",
    ),
    ("report.open", "Mở kỳ báo cáo", "Reporting period opened"),
    (
        "archive.file",
        "Lưu văn bản vào kho lưu trữ",
        "Document filed in the archive",
    ),
    (
        "archive.file_into",
        "Đưa văn bản vào hồ sơ",
        "Document filed into a dossier",
    ),
    ("archive.dossier_create", "Mở hồ sơ", "Dossier opened"),
    ("archive.dossier_close", "Kết thúc hồ sơ", "Dossier closed"),
    (
        "archive.package",
        "Lập gói nộp lưu hồ sơ",
        "Dossier packaged for hand-over",
    ),
    ("archive.hand_over", "Nộp lưu hồ sơ", "Dossier handed over"),
    (
        "report.save",
        "Lưu báo cáo (chưa gửi)",
        "Report saved (not submitted)",
    ),
    ("report.submit", "Gửi báo cáo", "Report submitted"),
    (
        "report.document",
        "Lập văn bản báo cáo",
        "Report made into a document",
    ),
    (
        "report.remind",
        "Nhắc cơ quan chưa gửi báo cáo",
        "Late agencies reminded",
    ),
    (
        "subscriber.import",
        "Nhập danh sách thuê bao",
        "Subscribers imported",
    ),
    ("subscriber.read", "Xem hồ sơ thuê bao", "Subscriber viewed"),
    (
        "subscriber.update",
        "Sửa thông tin thuê bao",
        "Subscriber changed",
    ),
    ("token.create", "Cấp mã truy cập API", "API token issued"),
    (
        "token.revoke",
        "Thu hồi mã truy cập API",
        "API token revoked",
    ),
    ("user.create", "Tạo tài khoản", "Account created"),
    ("user.disable", "Khóa tài khoản", "Account disabled"),
    ("user.enable", "Mở khóa tài khoản", "Account enabled"),
    ("user.password_change", "Đổi mật khẩu", "Password changed"),
    ("user.password_reset", "Đặt lại mật khẩu", "Password reset"),
    ("user.role_grant", "Giao vai trò", "Role granted"),
    ("user.role_remove", "Bỏ vai trò", "Role removed"),
];

/// An action as people say it (`(Vietnamese, English)`): the fixed ones from the table, a
/// step of a request, an outgoing or an incoming document from its enum's label with the
/// record named; `None` for a name kyso does not know (shown as stored).
pub fn action_label(action: &str) -> Option<(String, String)> {
    if let Some((_, vi, en)) = ACTIONS.iter().find(|(a, _, _)| *a == action) {
        return Some(((*vi).to_owned(), (*en).to_owned()));
    }
    let (kind, step) = action.split_once('.')?;
    let (vi, en, what_vi, what_en) = match kind {
        "request" => {
            let a = RequestAction::parse(step).ok()?;
            (a.label_vi(), a.label_en(), "đề nghị", "request")
        }
        "document" => {
            let a = DocAction::parse(step).ok()?;
            (
                a.label_vi(),
                a.label_en(),
                "văn bản đi",
                "outgoing document",
            )
        }
        "incoming" => {
            let a = IncomingAction::parse(step).ok()?;
            (
                a.label_vi(),
                a.label_en(),
                "văn bản đến",
                "incoming document",
            )
        }
        _ => return None,
    };
    Some((format!("{vi} ({what_vi})"), format!("{en} ({what_en})")))
}

/// Every action with a label, for a filter's choices: stored name, Vietnamese, English.
pub fn known_actions() -> Vec<(String, String, String)> {
    let mut out: Vec<(String, String, String)> = ACTIONS
        .iter()
        .map(|(a, vi, en)| ((*a).to_owned(), (*vi).to_owned(), (*en).to_owned()))
        .collect();
    let stepped = RequestAction::ALL
        .iter()
        .map(|a| format!("request.{}", a.as_str()))
        .chain(
            DocAction::ALL
                .iter()
                .map(|a| format!("document.{}", a.as_str())),
        )
        .chain(
            IncomingAction::ALL
                .iter()
                .map(|a| format!("incoming.{}", a.as_str())),
        );
    for name in stepped {
        if let Some((vi, en)) = action_label(&name) {
            out.push((name, vi, en));
        }
    }
    out
}

/// The kind of record an object (`certificate:12`) names, `(Vietnamese, English)`, and its
/// id; `None` when the object is not `kind:id` of a known kind.
pub fn object_kind(object: &str) -> Option<(&'static str, &'static str, &str)> {
    let (kind, id) = object.split_once(':')?;
    let (vi, en) = match kind {
        "agency" => ("Cơ quan", "Agency"),
        "subscriber" => ("Thuê bao", "Subscriber"),
        "certificate" => ("Chứng thư số", "Certificate"),
        "device" => ("Thiết bị", "Device"),
        "request" => ("Đề nghị", "Request"),
        "document" => ("Văn bản đi", "Outgoing document"),
        "incoming" => ("Văn bản đến", "Incoming document"),
        "user" => ("Tài khoản", "Account"),
        "doc_register" => ("Sổ văn bản đi", "Outgoing register"),
        "incoming_register" => ("Sổ văn bản đến", "Incoming register"),
        "incoming_outbox" => ("Báo trạng thái", "Status message"),
        "delivery" => ("Lượt chuyển văn bản", "Delivery"),
        "signing_session" => ("Phiên ký số", "Signing session"),
        "token" => ("Mã truy cập API", "API token"),
        "report_period" => ("Kỳ báo cáo", "Reporting period"),
        "archive_entry" => ("Văn bản lưu trữ", "Archived document"),
        "dossier" => ("Hồ sơ", "Dossier"),
        _ => return None,
    };
    Some((vi, en, id))
}

/// A key of an entry's details as people say it, `(Vietnamese, English)`; `None` for a key
/// kyso does not know (shown as stored).
pub fn detail_key(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "serial" => ("Số hiệu", "Serial"),
        "subject" => ("Cấp cho", "Subject"),
        "reason" => ("Lý do", "Reason"),
        "note" => ("Ghi chú", "Note"),
        "kind" => ("Loại", "Kind"),
        "from" => ("Từ trạng thái", "From"),
        "to" => ("Sang trạng thái", "To"),
        "name" => ("Tên", "Name"),
        "code" => ("Mã", "Code"),
        "role" => ("Vai trò", "Role"),
        "roles" => ("Vai trò", "Roles"),
        "agency" => ("Cơ quan", "Agency"),
        "username" => ("Tên đăng nhập", "User name"),
        "number" => ("Số", "Number"),
        "event" => ("Sự kiện", "Event"),
        "state" => ("Trạng thái", "State"),
        "renewal" => ("Gia hạn", "Renewal"),
        "mismatch" => ("Điểm không khớp", "Differences"),
        "mismatch_reason" => ("Lý do vẫn nhập", "Reason for importing anyway"),
        "count" => ("Số lượng", "Count"),
        "registry" => ("Thay đổi trong danh mục", "Registry changes"),
        "fields" => ("Trường đã sửa", "Fields changed"),
        "codes" => ("Mã định danh đổi", "Codes changed"),
        "parent" => ("Cơ quan quản lý mới", "New managing agency"),
        "successor" => ("Cơ quan tiếp nhận", "Receiving agency"),
        "subscribers_moved" => ("Thuê bao chuyển đi", "Subscribers moved"),
        "organizations_deactivated" => (
            "Thuê bao cơ quan ngừng sử dụng",
            "Own subscribers deactivated",
        ),
        "devices_moved" => ("Thiết bị chuyển đi", "Devices moved"),
        "accounts" => ("Tài khoản", "Accounts"),
        "title" => ("Tiêu đề", "Title"),
        "due" => ("Hạn gửi", "Due"),
        _ => return None,
    })
}

/// An entry's details (a JSON object) as `(label, value)` pairs in the reader's language:
/// known keys named ([`detail_key`]), values as words (yes/no for booleans, a list joined by
/// "; "), empty values left out. Details that are not an object come back as one pair with an
/// empty label (nothing for an empty object or `null`).
pub fn detail_items(detail: &str, english: bool) -> Vec<(String, String)> {
    use serde_json::Value;
    let pick = |vi: &str, en: &str| if english { en } else { vi }.to_owned();
    let map = match serde_json::from_str::<Value>(detail) {
        Ok(Value::Object(map)) => map,
        Ok(Value::Null) => return Vec::new(),
        _ => return vec![(String::new(), detail.to_owned())],
    };
    let words = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => pick("có", "yes"),
        Value::Bool(false) => pick("không", "no"),
        Value::Array(items) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    map.iter()
        .filter(|(_, v)| {
            !(v.is_null() || v.as_str() == Some("") || v.as_array().is_some_and(Vec::is_empty))
        })
        .map(|(k, v)| {
            let label = detail_key(k).map_or_else(|| k.clone(), |(vi, en)| pick(vi, en));
            (label, words(v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_kyso_writes_reads_as_words() {
        assert_eq!(
            action_label("certificate.import").unwrap().0,
            "Nhập chứng thư số"
        );
        assert_eq!(
            action_label("request.refuse").unwrap().0,
            "Từ chối (đề nghị)"
        );
        assert_eq!(
            action_label("document.org_sign").unwrap().1,
            "Sign for the organization (outgoing document)"
        );
        assert_eq!(
            action_label("incoming.register").unwrap().0,
            "Vào sổ văn bản đến (văn bản đến)"
        );
        // Every action the exports and reports write has its words.
        for a in [
            "device.export",
            "request.export",
            "agency.export",
            "audit.export",
            "user.export",
            "agency.move",
            "agency.dissolve",
            "report.open",
            "report.save",
            "report.submit",
            "report.document",
            "report.remind",
        ] {
            assert!(action_label(a).is_some(), "{a}");
        }
        assert_eq!(action_label("request.fly"), None);
        assert_eq!(action_label("nothing"), None);
        // The filter offers each known action once.
        let all = known_actions();
        let mut names: Vec<&str> = all.iter().map(|(a, _, _)| a.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.len() > ACTIONS.len());
    }

    #[test]
    fn objects_and_detail_keys_are_named() {
        assert_eq!(
            object_kind("certificate:12"),
            Some(("Chứng thư số", "Certificate", "12"))
        );
        assert_eq!(object_kind("whatever"), None);
        assert_eq!(detail_key("serial"), Some(("Số hiệu", "Serial")));
        assert_eq!(detail_key("x"), None);
        assert_eq!(
            detail_items(r#"{"reason":"Mất","count":2,"note":"","ok":true}"#, false),
            [
                ("Số lượng".to_owned(), "2".to_owned()),
                ("ok".to_owned(), "có".to_owned()),
                ("Lý do".to_owned(), "Mất".to_owned()),
            ]
        );
        assert!(detail_items("{}", false).is_empty() && detail_items("null", true).is_empty());
        assert_eq!(
            detail_items("văn bản", true),
            [(String::new(), "văn bản".to_owned())]
        );
    }
}
