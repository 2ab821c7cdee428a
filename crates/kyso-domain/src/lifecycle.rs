//! Certificate lifecycle requests (the request forms of Decree 68/2024/NĐ-CP) and the way a
//! request moves from its drafter to the body that handles it.
//!
//! ```text
//! Draft ─Submit→ Submitted ─Approve→ Approved ─Send→ Sent ─StartProcessing→ Processing
//!                Submitted ─Return→ Draft          Sent | Processing ─Complete→ Done
//! Submitted | Sent | Processing ─Refuse (reason)→ Refused
//! Draft | Submitted ─Withdraw→ Withdrawn
//! ```
//!
//! `Done`, `Refused` and `Withdrawn` are final.

use crate::named_enum;
use crate::roles::{Permission, Role};

named_enum! {
    /// What a request asks for.
    pub enum RequestKind ("request kind", "loại đề nghị") {
        /// Mẫu 01: a certificate for an individual.
        IssueIndividual => "issue_individual",
            "Đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ cho cá nhân",
            "Request for an official-use digital signature certificate for an individual";
        /// Mẫu 02: a certificate for an agency or organization.
        IssueOrganization => "issue_organization",
            "Đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ cho cơ quan, tổ chức",
            "Request for an official-use digital signature certificate for an agency or organization";
        /// Mẫu 03: a certificate for a device, service or software.
        IssueDevice => "issue_device",
            "Đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ cho thiết bị, dịch vụ, phần mềm",
            "Request for an official-use digital signature certificate for a device, service or software";
        /// Mẫu 04: renewal.
        Renew => "renew",
            "Đề nghị gia hạn chứng thư chữ ký số chuyên dùng công vụ",
            "Request to renew an official-use digital signature certificate";
        /// Mẫu 04: change of the information in the certificate.
        ChangeInfo => "change_info",
            "Đề nghị thay đổi nội dung thông tin chứng thư chữ ký số chuyên dùng công vụ",
            "Request to change the information in an official-use digital signature certificate";
        /// Mẫu 05: revocation.
        Revoke => "revoke",
            "Đề nghị thu hồi chứng thư chữ ký số chuyên dùng công vụ",
            "Request to revoke an official-use digital signature certificate";
        /// Mẫu 06: recovery of a locked key device.
        RecoverDevice => "recover_device",
            "Đề nghị khôi phục thiết bị lưu khóa bí mật",
            "Request to recover a private key device";
    }
}

named_enum! {
    /// Who handles a request once the managing agency has sent it.
    pub enum Handler ("request handler", "nơi xử lý đề nghị") {
        /// The provincial Department of Science and Technology (Sở KH&CN).
        Department => "department", "Sở Khoa học và Công nghệ", "Provincial Department of Science and Technology";
        /// The national CA (Cục Chứng thực số và Bảo mật thông tin, Ban Cơ yếu Chính phủ).
        NationalCa => "national_ca",
            "Cục Chứng thực số và Bảo mật thông tin",
            "National CA (Government Information Security Commission)";
    }
}

impl RequestKind {
    /// The Decree 68 form number. Renewal and information change share Mẫu 04.
    pub const fn form_number(self) -> &'static str {
        match self {
            RequestKind::IssueIndividual => "01",
            RequestKind::IssueOrganization => "02",
            RequestKind::IssueDevice => "03",
            RequestKind::Renew | RequestKind::ChangeInfo => "04",
            RequestKind::Revoke => "05",
            RequestKind::RecoverDevice => "06",
        }
    }

    /// The subject line of the form ("Đề nghị cấp …"); the same as [`Self::label_vi`].
    pub const fn title_vi(self) -> &'static str {
        self.label_vi()
    }

    /// The subject line in English; the same as [`Self::label_en`].
    pub const fn title_en(self) -> &'static str {
        self.label_en()
    }

    /// The default number of working days the handler has, counted from a valid request.
    ///
    /// Device recovery: 1 working day (Nghệ An's regulation, NA art. 13). Issuance: 3 working
    /// days (Decree 68 art. 11). Decree 68 deadlines for renewal, information change and
    /// revocation were not found; 3 working days (the old CA procedure's figure) is a default
    /// the deployment can configure.
    pub const fn default_deadline_working_days(self) -> u32 {
        match self {
            RequestKind::RecoverDevice => 1,
            RequestKind::IssueIndividual
            | RequestKind::IssueOrganization
            | RequestKind::IssueDevice
            | RequestKind::Renew
            | RequestKind::ChangeInfo
            | RequestKind::Revoke => 3,
        }
    }

    /// Who handles this kind of request by default: the Department handles recovery, renewal
    /// and information change (as delegated in Nghệ An and Ninh Bình); issuance and revocation
    /// go to the national CA.
    pub const fn default_handler(self) -> Handler {
        match self {
            RequestKind::RecoverDevice | RequestKind::Renew | RequestKind::ChangeInfo => {
                Handler::Department
            }
            RequestKind::IssueIndividual
            | RequestKind::IssueOrganization
            | RequestKind::IssueDevice
            | RequestKind::Revoke => Handler::NationalCa,
        }
    }
}

named_enum! {
    /// Where a request is.
    pub enum RequestState ("request state", "trạng thái đề nghị") {
        /// Being written by its drafter.
        Draft => "draft", "Đang soạn", "Draft";
        /// Waiting for approval at the managing agency.
        Submitted => "submitted", "Chờ duyệt", "Submitted";
        /// Approved by the managing agency, not yet sent.
        Approved => "approved", "Đã duyệt", "Approved";
        /// Sent to its handler.
        Sent => "sent", "Đã gửi", "Sent";
        /// The handler is working on it.
        Processing => "processing", "Đang xử lý", "Processing";
        /// Done. Final.
        Done => "done", "Đã hoàn thành", "Done";
        /// Refused, with a reason. Final.
        Refused => "refused", "Bị từ chối", "Refused";
        /// Withdrawn by the agency. Final.
        Withdrawn => "withdrawn", "Đã rút", "Withdrawn";
    }
}

named_enum! {
    /// What someone does to a request.
    pub enum RequestAction ("request action", "thao tác đề nghị") {
        /// Submit the draft for approval.
        Submit => "submit", "Trình duyệt", "Submit for approval";
        /// Approve it.
        Approve => "approve", "Duyệt", "Approve";
        /// Send it back to the drafter, with a reason.
        Return => "return", "Trả lại để sửa", "Return to the drafter";
        /// Send it to the handler.
        Send => "send", "Gửi đi", "Send";
        /// The handler starts working on it.
        StartProcessing => "start_processing", "Bắt đầu xử lý", "Start processing";
        /// The handler has done what was asked.
        Complete => "complete", "Hoàn thành", "Complete";
        /// Refuse it, with a reason.
        Refuse => "refuse", "Từ chối", "Refuse";
        /// Withdraw it.
        Withdraw => "withdraw", "Rút đề nghị", "Withdraw";
    }
}

impl RequestAction {
    /// Whether the action needs a written reason (returning and refusing do). The store checks
    /// that the reason is not empty.
    pub const fn needs_reason(self) -> bool {
        matches!(self, RequestAction::Return | RequestAction::Refuse)
    }

    /// The role that performs this action. Approving and returning are done by the signature
    /// officer *of the managing agency* (the store checks the level); processing is the
    /// Department's.
    pub const fn required_role(self) -> Role {
        match self {
            RequestAction::Submit
            | RequestAction::Withdraw
            | RequestAction::Approve
            | RequestAction::Return
            | RequestAction::Send => Role::SignatureOfficer,
            RequestAction::StartProcessing | RequestAction::Complete | RequestAction::Refuse => {
                Role::DostAdmin
            }
        }
    }

    /// The permission this action needs (granted by [`Self::required_role`] and by the
    /// Department's administrators).
    pub const fn required_permission(self) -> Permission {
        match self {
            RequestAction::Submit | RequestAction::Withdraw | RequestAction::Send => {
                Permission::DraftRequest
            }
            RequestAction::Approve | RequestAction::Return => Permission::ApproveRequest,
            RequestAction::StartProcessing | RequestAction::Complete | RequestAction::Refuse => {
                Permission::ProcessRequest
            }
        }
    }
}

impl RequestState {
    /// Whether no action leaves this state (`Done`, `Refused`, `Withdrawn`).
    pub fn is_final(self) -> bool {
        RequestAction::ALL
            .into_iter()
            .all(|a| next_state(self, a).is_err())
    }

    /// The actions accepted in this state, in [`RequestAction::ALL`] order.
    pub fn actions(self) -> Vec<RequestAction> {
        RequestAction::ALL
            .into_iter()
            .filter(|a| next_state(self, *a).is_ok())
            .collect()
    }
}

/// An action that cannot be taken in the request's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request in state \"{}\" cannot take the action \"{}\"", from.label_en().to_lowercase(), action.label_en().to_lowercase())]
#[non_exhaustive]
pub struct TransitionError {
    /// The state the request is in.
    pub from: RequestState,
    /// The refused action.
    pub action: RequestAction,
}

impl TransitionError {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        format!(
            "Đề nghị đang ở trạng thái \"{}\", không thể \"{}\"",
            self.from.label_vi(),
            self.action.label_vi().to_lowercase()
        )
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// The state a request reaches when `action` is taken in `state`, or why it cannot.
pub fn next_state(
    state: RequestState,
    action: RequestAction,
) -> Result<RequestState, TransitionError> {
    use RequestAction as A;
    use RequestState as S;
    match (state, action) {
        (S::Draft, A::Submit) => Ok(S::Submitted),
        (S::Submitted, A::Approve) => Ok(S::Approved),
        (S::Submitted, A::Return) => Ok(S::Draft),
        (S::Approved, A::Send) => Ok(S::Sent),
        (S::Sent, A::StartProcessing) => Ok(S::Processing),
        (S::Sent | S::Processing, A::Complete) => Ok(S::Done),
        (S::Sent | S::Processing | S::Submitted, A::Refuse) => Ok(S::Refused),
        (S::Draft | S::Submitted, A::Withdraw) => Ok(S::Withdrawn),
        _ => Err(TransitionError {
            from: state,
            action,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use RequestAction as A;
    use RequestState as S;

    #[test]
    fn a_renewal_from_draft_to_done() {
        let mut state = S::Draft;
        for (action, expected) in [
            (A::Submit, S::Submitted),
            (A::Return, S::Draft), // the approver asked for a correction
            (A::Submit, S::Submitted),
            (A::Approve, S::Approved),
            (A::Send, S::Sent),
            (A::StartProcessing, S::Processing),
            (A::Complete, S::Done),
        ] {
            state = next_state(state, action).unwrap();
            assert_eq!(state, expected, "after {action}");
        }
        assert!(state.is_final());
        assert_eq!(RequestKind::Renew.default_handler(), Handler::Department);
    }

    #[test]
    fn the_full_transition_table() {
        let allowed = [
            (S::Draft, A::Submit, S::Submitted),
            (S::Draft, A::Withdraw, S::Withdrawn),
            (S::Submitted, A::Approve, S::Approved),
            (S::Submitted, A::Return, S::Draft),
            (S::Submitted, A::Refuse, S::Refused),
            (S::Submitted, A::Withdraw, S::Withdrawn),
            (S::Approved, A::Send, S::Sent),
            (S::Sent, A::StartProcessing, S::Processing),
            (S::Sent, A::Complete, S::Done),
            (S::Sent, A::Refuse, S::Refused),
            (S::Processing, A::Complete, S::Done),
            (S::Processing, A::Refuse, S::Refused),
        ];
        for from in S::ALL {
            for action in A::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, a, _)| *f == from && *a == action)
                    .map(|(_, _, to)| *to);
                match (next_state(from, action), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want),
                    (Err(err), None) => assert_eq!(err, TransitionError { from, action }),
                    (got, want) => panic!("{from} + {action}: got {got:?}, want {want:?}"),
                }
            }
        }
        let finals: Vec<_> = S::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [S::Done, S::Refused, S::Withdrawn]);
        assert_eq!(S::Draft.actions(), [A::Submit, A::Withdraw]);
    }

    #[test]
    fn a_sent_request_cannot_be_withdrawn() {
        let err = next_state(S::Sent, A::Withdraw).unwrap_err();
        assert_eq!(
            err.message_vi(),
            "Đề nghị đang ở trạng thái \"Đã gửi\", không thể \"rút đề nghị\""
        );
        assert_eq!(
            err.message_en(),
            "a request in state \"sent\" cannot take the action \"withdraw\""
        );
    }

    #[test]
    fn forms_titles_deadlines_and_handlers() {
        let table: Vec<_> = RequestKind::ALL
            .iter()
            .map(|k| {
                (
                    k.form_number(),
                    k.default_deadline_working_days(),
                    k.default_handler(),
                )
            })
            .collect();
        use Handler::*;
        assert_eq!(
            table,
            [
                ("01", 3, NationalCa),
                ("02", 3, NationalCa),
                ("03", 3, NationalCa),
                ("04", 3, Department),
                ("04", 3, Department),
                ("05", 3, NationalCa),
                ("06", 1, Department),
            ]
        );
        assert_eq!(
            RequestKind::IssueOrganization.title_vi(),
            "Đề nghị cấp chứng thư chữ ký số chuyên dùng công vụ cho cơ quan, tổ chức"
        );
        assert_eq!(
            RequestKind::RecoverDevice.title_vi(),
            "Đề nghị khôi phục thiết bị lưu khóa bí mật"
        );
        for k in RequestKind::ALL {
            assert!(k.title_vi().starts_with("Đề nghị "));
            assert!(k.title_en().starts_with("Request "));
        }
    }

    #[test]
    fn who_acts_and_what_needs_a_reason() {
        let with_reason: Vec<_> = A::ALL.into_iter().filter(|a| a.needs_reason()).collect();
        assert_eq!(with_reason, [A::Return, A::Refuse]);
        for action in A::ALL {
            let role = action.required_role();
            // The role that performs an action holds the permission it needs.
            assert!(role.allows(action.required_permission()), "{action}");
        }
        assert_eq!(A::Approve.required_role(), Role::SignatureOfficer);
        assert_eq!(A::Refuse.required_role(), Role::DostAdmin);
        assert_eq!(A::Submit.required_role(), Role::SignatureOfficer);
    }

    #[test]
    fn stable_names_round_trip() {
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::parse(k.as_str()), Ok(k));
        }
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Ok(s));
            assert!(!s.label_vi().is_empty() && !s.label_en().is_empty());
        }
        for a in A::ALL {
            assert_eq!(A::parse(a.as_str()), Ok(a));
        }
        for h in Handler::ALL {
            assert_eq!(Handler::parse(h.as_str()), Ok(h));
        }
        assert_eq!(
            RequestKind::ALL.map(RequestKind::as_str),
            [
                "issue_individual",
                "issue_organization",
                "issue_device",
                "renew",
                "change_info",
                "revoke",
                "recover_device"
            ]
        );
    }
}
