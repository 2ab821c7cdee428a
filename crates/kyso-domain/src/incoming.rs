//! Incoming documents (văn bản đến) under Decree 30/2020/NĐ-CP arts. 20–24 and NA-21.3: how a
//! document arrives, the verdict of its signatures, the clerk's decision, the handling, and the
//! edXML status codes each state is reported with.
//!
//! ```text
//! (arrival: internal delivery | clerk upload / scan | edXML | API)
//!   → Received ─Register (verdict passed; indeterminate only with the clerk's reason)→ Registered
//!   Received ─Refuse (reason, back to the sender)→ Refused (final)
//!   Registered | Assigned ─Assign (lead unit, coordinating units, deadline)→ Assigned
//!   Assigned ─Start→ InProgress ─Complete→ Completed      (Assigned ─Complete→ Completed)
//!   Received | Registered | Assigned | InProgress | Completed ─Recall (the sender's)→ Recalled (final)
//! ```
//!
//! Pure rules, no I/O: `kyso-store` persists incoming documents, their registers, arrival
//! numbers and timeline; `kyso-web` verifies the file on arrival.
//!
//! Who takes each step reuses the outgoing flow's [`Duty`]: the clerk of the receiving agency
//! registers and refuses (as for outgoing documents, only the clerk role at that agency); its
//! leader — the signing authority, [`Role::Signer`] at that agency — assigns; the lead unit
//! handles: its people start and complete ([`may_handle`]); the leader and the clerk oversee
//! and the coordinating units contribute — they read and comment, but do not report the lead
//! unit's progress. A recall is the sender's act, applied by the system.

use crate::documents::{Duty, Reach};
use crate::named_enum;
use crate::roles::{Permission, Role};

named_enum! {
    /// Where an incoming document is.
    pub enum IncomingState ("incoming document state", "trạng thái văn bản đến") {
        /// Arrived and verified; waiting for the clerk to register or refuse it.
        Received => "received", "Chờ tiếp nhận", "Awaiting the clerk";
        /// In the incoming register with its arrival number; waiting for the leader.
        Registered => "registered", "Đã vào sổ, chờ phân công", "Registered, awaiting assignment";
        /// Refused by the clerk, with the reason sent back to the sender. Final.
        Refused => "refused", "Đã từ chối", "Refused";
        /// The leader named the lead unit, the coordinating units and the deadline.
        Assigned => "assigned", "Đã phân công xử lý", "Assigned";
        /// The lead unit is handling it.
        InProgress => "in_progress", "Đang xử lý", "Being handled";
        /// Handled.
        Completed => "completed", "Đã hoàn thành", "Completed";
        /// Recalled by its sender (Decree 30 art. 18.4): no longer stands, out of the queue. Final.
        Recalled => "recalled", "Đã bị thu hồi", "Recalled by the sender";
    }
}

named_enum! {
    /// How an incoming document arrived.
    pub enum Channel ("intake channel", "kênh tiếp nhận") {
        /// Dispatched by an agency of this registry (an outgoing document's delivery).
        Internal => "internal", "Liên thông trong hệ thống", "Delivered within kyso";
        /// Uploaded by the clerk: a PDF received by e-mail, or a paper document scanned.
        Upload => "upload", "Văn thư tải lên", "Uploaded by the clerk";
        /// An edXML package from the document exchange axis.
        Edxml => "edxml", "Gói edXML (trục liên thông)", "edXML package";
        /// Sent by another system through the REST API.
        Api => "api", "Hệ thống khác gửi qua API", "Sent through the API";
    }
}

named_enum! {
    /// What the verification on arrival found, as the clerk's decision needs it.
    pub enum Verdict ("verification verdict", "kết quả kiểm tra") {
        /// Every signature is valid.
        Passed => "passed", "Hợp lệ", "Valid";
        /// Not enough to decide (revocation unknown, no path to a trusted root, …).
        Indeterminate => "indeterminate", "Chưa đủ thông tin xác thực", "Indeterminate";
        /// A signature is invalid (changed after signing, revoked, …), or there is none.
        Failed => "failed", "Không hợp lệ", "Invalid";
    }
}

named_enum! {
    /// What someone does to an incoming document.
    pub enum IncomingAction ("incoming document action", "thao tác văn bản đến") {
        /// The clerk enters it in the incoming register (gives it its arrival number).
        Register => "register", "Vào sổ văn bản đến", "Register";
        /// The clerk refuses it with a reason that goes back to the sender.
        Refuse => "refuse", "Từ chối, trả lại nơi gửi", "Refuse and return to the sender";
        /// The leader assigns the lead unit, coordinating units and deadline.
        Assign => "assign", "Phân công xử lý", "Assign";
        /// The lead unit starts handling it.
        Start => "start", "Bắt đầu xử lý", "Start handling";
        /// The lead unit reports it handled.
        Complete => "complete", "Hoàn thành xử lý", "Complete";
        /// The sender recalled it.
        Recall => "recall", "Thu hồi theo yêu cầu nơi gửi", "Recall (by the sender)";
    }
}

impl IncomingState {
    /// The edXML status code (QCVN 102:2016 status message) reporting this state to the
    /// sender: 01 arrived, 02 refused, 03 accepted (registered), 04 assigned, 05 being
    /// handled, 06 completed, 13 taken back (the sender's recall request this state answers).
    pub const fn status_code(self) -> &'static str {
        match self {
            IncomingState::Received => "01",
            IncomingState::Refused => "02",
            IncomingState::Registered => "03",
            IncomingState::Assigned => "04",
            IncomingState::InProgress => "05",
            IncomingState::Completed => "06",
            IncomingState::Recalled => "13",
        }
    }

    /// The state an edXML status code reports, if it is one of the codes above.
    pub fn from_status_code(code: &str) -> Option<IncomingState> {
        IncomingState::ALL
            .into_iter()
            .find(|s| s.status_code() == code.trim())
    }

    /// Whether the document is in the register (registered and later, recalled ones included
    /// once registered: the register keeps the row with a note).
    pub const fn is_registered(self) -> bool {
        matches!(
            self,
            IncomingState::Registered
                | IncomingState::Assigned
                | IncomingState::InProgress
                | IncomingState::Completed
        )
    }

    /// Whether it waits in the clerk's queue.
    pub const fn in_queue(self) -> bool {
        matches!(self, IncomingState::Received)
    }

    /// Whether no action leaves this state.
    pub fn is_final(self) -> bool {
        IncomingAction::ALL
            .into_iter()
            .all(|a| next_state(self, a).is_err())
    }

    /// The actions accepted in this state, in [`IncomingAction::ALL`] order.
    pub fn actions(self) -> Vec<IncomingAction> {
        IncomingAction::ALL
            .into_iter()
            .filter(|a| next_state(self, *a).is_ok())
            .collect()
    }
}

impl Verdict {
    /// The verdict of the validator's name for it (`valid`, `indeterminate`, `invalid`, as in
    /// `kyso.verify/1`); anything else is not a verdict.
    pub fn from_report(s: &str) -> Option<Verdict> {
        match s {
            "valid" => Some(Verdict::Passed),
            "indeterminate" => Some(Verdict::Indeterminate),
            "invalid" => Some(Verdict::Failed),
            _ => None,
        }
    }
}

/// Where a step's duty is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DutyAt {
    /// At the receiving agency.
    Receiver,
    /// At the lead unit named by the assignment.
    LeadUnit,
    /// The system applies it (the sender's recall).
    System,
}

impl IncomingAction {
    /// Whether the action needs a written reason (a refusal, a recall).
    pub const fn needs_reason(self) -> bool {
        matches!(self, IncomingAction::Refuse | IncomingAction::Recall)
    }

    /// Who takes this action, and where that is checked (`None` for the system's recall).
    pub const fn duty(self) -> (Option<Duty>, DutyAt) {
        match self {
            IncomingAction::Register | IncomingAction::Refuse => (
                Some(Duty {
                    role: Role::Clerk,
                    permission: Permission::IssueDocument,
                    reach: Reach::ThisAgency,
                }),
                DutyAt::Receiver,
            ),
            IncomingAction::Assign => (
                Some(Duty {
                    role: Role::Signer,
                    permission: Permission::SignDocument,
                    reach: Reach::ThisAgency,
                }),
                DutyAt::Receiver,
            ),
            IncomingAction::Start | IncomingAction::Complete => (
                Some(Duty {
                    role: Role::Reviewer,
                    permission: Permission::CommentDocument,
                    reach: Reach::Subtree,
                }),
                DutyAt::LeadUnit,
            ),
            IncomingAction::Recall => (None, DutyAt::System),
        }
    }
}

/// Whether one grant — `role` held at the agency with materialized path `grant_path` — may
/// start and complete the handling of an incoming document assigned to the lead unit at
/// `lead_path`, with the coordinating units at `coordinating`. Decree 30/2020 art. 24: the
/// agency's leader assigns and directs, the lead unit (đơn vị chủ trì) handles and reports
/// the result, the coordinating units (phối hợp) contribute, the clerk follows the handling
/// and reminds. So only the lead unit's people taking part in documents (drafter, reviewer,
/// format checker, signer, clerk) — granted at the lead unit itself or at a unit inside it,
/// except a unit inside it that is itself a coordinating unit — start and complete.
///
/// Nobody else: not the coordinating units, not the receiving agency's leader or clerk (they
/// oversee; when the lead unit is the receiving agency itself, its people are the lead unit's),
/// not a leader or administrator of an agency above, not a unit beside the lead unit.
pub fn may_handle(role: Role, grant_path: &str, lead_path: &str, coordinating: &[&str]) -> bool {
    // Those taking part in documents; an administrator's grant is not a handler's.
    let takes_part = matches!(
        role,
        Role::Drafter | Role::Reviewer | Role::FormatChecker | Role::Signer | Role::Clerk
    );
    if !takes_part {
        return false;
    }
    let in_lead = !lead_path.is_empty() && grant_path.starts_with(lead_path);
    let in_coordinating = coordinating
        .iter()
        .any(|c| *c != lead_path && c.starts_with(lead_path) && grant_path.starts_with(c));
    in_lead && !in_coordinating
}

/// Why a step on an incoming document is refused by the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncomingError {
    /// Refused or recalled: nothing more happens to it.
    #[error("the incoming document is {}: nothing more can be done", .state.label_en().to_lowercase())]
    Final { state: IncomingState },
    /// Not a step from the current state.
    #[error("an incoming document in state \"{}\" cannot take the step \"{}\"", .from.label_en().to_lowercase(), .action.label_en().to_lowercase())]
    NotNow {
        from: IncomingState,
        action: IncomingAction,
    },
    /// The step needs a written reason and none was given.
    #[error("\"{}\" needs a reason", .action.label_en())]
    ReasonRequired { action: IncomingAction },
    /// Its signatures are invalid: it can only be refused.
    #[error("the document's signatures are invalid: it cannot be registered as received, only refused with the reason")]
    InvalidSignatures,
    /// Its signatures could not be established: registering it needs the clerk's reason.
    #[error("the document's signatures could not be fully verified: registering it needs the clerk's reason for accepting it")]
    IndeterminateNeedsReason,
}

impl IncomingError {
    /// The field the refusal is about (`reason` when one is missing, else `state`/`verdict`).
    pub const fn field(&self) -> &'static str {
        match self {
            IncomingError::ReasonRequired { .. } | IncomingError::IndeterminateNeedsReason => {
                "reason"
            }
            IncomingError::InvalidSignatures => "verdict",
            _ => "state",
        }
    }

    /// Whether the input is missing something (as opposed to the document's state refusing).
    pub const fn is_missing_input(&self) -> bool {
        matches!(
            self,
            IncomingError::ReasonRequired { .. } | IncomingError::IndeterminateNeedsReason
        )
    }

    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        match self {
            IncomingError::Final { state } => format!(
                "Văn bản đến {}: không thể thao tác thêm.",
                state.label_vi().to_lowercase()
            ),
            IncomingError::NotNow { from, action } => format!(
                "Văn bản đến đang ở bước \"{}\", không thể \"{}\".",
                from.label_vi(),
                action.label_vi().to_lowercase()
            ),
            IncomingError::ReasonRequired { action } => {
                format!("Thao tác \"{}\" cần ghi rõ lý do.", action.label_vi())
            }
            IncomingError::InvalidSignatures => "Chữ ký số của văn bản không hợp lệ nên không \
                 được vào sổ văn bản đến; văn thư chỉ có thể từ chối và trả lại nơi gửi kèm lý do."
                .into(),
            IncomingError::IndeterminateNeedsReason => "Chữ ký số của văn bản chưa đủ thông tin \
                 xác thực; muốn vào sổ, văn thư phải ghi rõ lý do tiếp nhận."
                .into(),
        }
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// The state an incoming document reaches when `action` is taken in `state`, or why not.
pub fn next_state(
    state: IncomingState,
    action: IncomingAction,
) -> Result<IncomingState, IncomingError> {
    use IncomingAction as A;
    use IncomingState as S;
    match (state, action) {
        (S::Received, A::Register) => Ok(S::Registered),
        (S::Received, A::Refuse) => Ok(S::Refused),
        (S::Registered | S::Assigned, A::Assign) => Ok(S::Assigned),
        (S::Assigned, A::Start) => Ok(S::InProgress),
        (S::Assigned | S::InProgress, A::Complete) => Ok(S::Completed),
        (S::Received | S::Registered | S::Assigned | S::InProgress | S::Completed, A::Recall) => {
            Ok(S::Recalled)
        }
        (S::Refused | S::Recalled, _) => Err(IncomingError::Final { state }),
        _ => Err(IncomingError::NotNow {
            from: state,
            action,
        }),
    }
}

/// [`next_state`], with the reason rules: a refusal and a recall need a reason; a
/// registration needs a passed verdict, or an indeterminate one with the clerk's reason — an
/// invalid document can never be registered as received.
pub fn step(
    state: IncomingState,
    action: IncomingAction,
    verdict: Verdict,
    reason: &str,
) -> Result<IncomingState, IncomingError> {
    let to = next_state(state, action)?;
    if action.needs_reason() && reason.trim().is_empty() {
        return Err(IncomingError::ReasonRequired { action });
    }
    if action == IncomingAction::Register {
        may_register(verdict, reason)?;
    }
    Ok(to)
}

/// The registration rule alone: passed, or indeterminate with a reason; never failed.
pub fn may_register(verdict: Verdict, reason: &str) -> Result<(), IncomingError> {
    match verdict {
        Verdict::Passed => Ok(()),
        Verdict::Indeterminate if !reason.trim().is_empty() => Ok(()),
        Verdict::Indeterminate => Err(IncomingError::IndeterminateNeedsReason),
        Verdict::Failed => Err(IncomingError::InvalidSignatures),
    }
}

/// Days before a handling deadline at which the lead unit is reminded (and 0: on the day).
pub const REMINDER_STAGES: [u32; 3] = [3, 1, 0];

/// The reminder stage due for a deadline on `deadline` (a Vietnam calendar date) on `today`,
/// given the stages already sent: the nearest stage reached and not yet sent; none once the
/// day has passed a stage's day and a nearer one was sent, or after the deadline.
pub fn due_reminder(deadline: time::Date, today: time::Date, sent: &[u32]) -> Option<u32> {
    let left = (deadline - today).whole_days();
    if left < 0 {
        return None;
    }
    REMINDER_STAGES
        .into_iter()
        .filter(|s| i64::from(*s) >= left)
        .min()
        .filter(|s| !sent.iter().any(|x| x <= s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use IncomingAction as A;
    use IncomingState as S;

    #[test]
    fn a_document_from_arrival_to_completion() {
        let mut s = S::Received;
        for (a, to) in [
            (A::Register, S::Registered),
            (A::Assign, S::Assigned),
            (A::Assign, S::Assigned),
            (A::Start, S::InProgress),
            (A::Complete, S::Completed),
        ] {
            s = step(s, a, Verdict::Passed, "").unwrap();
            assert_eq!(s, to);
        }
        assert_eq!(
            step(s, A::Recall, Verdict::Passed, "Ban hành nhầm").unwrap(),
            S::Recalled
        );
        assert!(S::Recalled.is_final() && S::Refused.is_final());
        assert!(
            !S::Completed.is_final(),
            "a completed one can still be recalled"
        );
    }

    #[test]
    fn invalid_is_never_registered_and_indeterminate_only_with_a_reason() {
        assert_eq!(
            step(S::Received, A::Register, Verdict::Failed, "tôi vẫn nhận"),
            Err(IncomingError::InvalidSignatures)
        );
        assert_eq!(
            step(S::Received, A::Register, Verdict::Indeterminate, "  "),
            Err(IncomingError::IndeterminateNeedsReason)
        );
        assert_eq!(
            step(
                S::Received,
                A::Register,
                Verdict::Indeterminate,
                "Đã gọi điện xác nhận với nơi gửi"
            ),
            Ok(S::Registered)
        );
        // A failed one can be refused, with a reason.
        assert_eq!(
            step(S::Received, A::Refuse, Verdict::Failed, ""),
            Err(IncomingError::ReasonRequired { action: A::Refuse })
        );
        assert_eq!(
            step(
                S::Received,
                A::Refuse,
                Verdict::Failed,
                "Chữ ký không hợp lệ"
            ),
            Ok(S::Refused)
        );
        assert!(IncomingError::InvalidSignatures
            .message_vi()
            .contains("không được vào sổ"));
    }

    #[test]
    fn steps_out_of_order_and_after_the_end_are_refused() {
        assert!(matches!(
            next_state(S::Received, A::Assign),
            Err(IncomingError::NotNow { .. })
        ));
        assert!(matches!(
            next_state(S::Registered, A::Start),
            Err(IncomingError::NotNow { .. })
        ));
        for a in IncomingAction::ALL {
            assert!(matches!(
                next_state(S::Refused, a),
                Err(IncomingError::Final { .. })
            ));
            assert!(matches!(
                next_state(S::Recalled, a),
                Err(IncomingError::Final { .. })
            ));
        }
        assert_eq!(S::Received.actions(), [A::Register, A::Refuse, A::Recall]);
    }

    #[test]
    fn states_report_the_edxml_status_codes() {
        let codes: Vec<_> = IncomingState::ALL
            .iter()
            .map(|s| (s.as_str(), s.status_code()))
            .collect();
        assert_eq!(
            codes,
            [
                ("received", "01"),
                ("registered", "03"),
                ("refused", "02"),
                ("assigned", "04"),
                ("in_progress", "05"),
                ("completed", "06"),
                ("recalled", "13"),
            ]
        );
        for s in IncomingState::ALL {
            assert_eq!(IncomingState::from_status_code(s.status_code()), Some(s));
        }
        assert_eq!(IncomingState::from_status_code("15"), None);
    }

    #[test]
    fn duties_reuse_the_roles() {
        let (d, at) = A::Register.duty();
        let d = d.unwrap();
        assert_eq!(at, DutyAt::Receiver);
        assert!(d.granted_by(Role::Clerk, true, true));
        assert!(
            !d.granted_by(Role::Clerk, false, true),
            "only its own clerk"
        );
        assert!(!d.granted_by(Role::DostAdmin, true, true));
        let (d, _) = A::Assign.duty();
        assert!(d.unwrap().granted_by(Role::Signer, true, true));
        assert!(!d.unwrap().granted_by(Role::Clerk, true, true));
        let (d, at) = A::Complete.duty();
        assert_eq!(at, DutyAt::LeadUnit);
        let d = d.unwrap();
        assert!(d.granted_by(Role::Drafter, false, true));
        assert!(d.granted_by(Role::Reviewer, true, true));
        assert!(!d.granted_by(Role::Auditor, true, true));
        assert!(!d.granted_by(Role::Drafter, false, false));
        assert_eq!(A::Recall.duty(), (None, DutyAt::System));
    }

    #[test]
    fn only_the_lead_unit_handles_leaders_and_clerks_oversee_coordinators_contribute() {
        // Receiving agency /1/5/, its lead unit /1/5/7/ (a division /1/5/7/9/ inside it, itself
        // a coordinating unit), another coordinating unit /1/5/8/.
        let (receiver, lead, coordinating) = ("/1/5/", "/1/5/7/", ["/1/5/8/", "/1/5/7/9/"]);
        let may = |role, at: &str| may_handle(role, at, lead, &coordinating);
        for role in [
            Role::Drafter,
            Role::Reviewer,
            Role::Signer,
            Role::Clerk,
            Role::FormatChecker,
        ] {
            assert!(may(role, "/1/5/7/"), "{role:?} of the lead unit");
            assert!(may(role, "/1/5/7/3/"), "{role:?} of a unit inside it");
            assert!(!may(role, "/1/5/8/"), "{role:?} of a coordinating unit");
            assert!(
                !may(role, "/1/5/7/9/"),
                "{role:?} of a coordinating unit inside the lead"
            );
            assert!(
                !may(role, "/1/5/6/"),
                "{role:?} of a unit beside the lead unit"
            );
            assert!(!may(role, "/1/"), "{role:?} of an agency above");
        }
        for role in [Role::Signer, Role::Clerk, Role::Drafter, Role::Reviewer] {
            assert!(
                !may(role, receiver),
                "{role:?} of the receiving agency oversees only"
            );
        }
        for role in [Role::Auditor, Role::DostAdmin, Role::SignatureOfficer] {
            assert!(!may(role, "/1/5/7/"), "{role:?} takes no part in documents");
        }
        // The receiving agency leads itself: its people handle, clerk included.
        assert!(may_handle(Role::Clerk, "/1/5/", "/1/5/", &["/1/5/8/"]));
        assert!(may_handle(Role::Signer, "/1/5/", "/1/5/", &["/1/5/8/"]));
        assert!(!may_handle(Role::Drafter, "/1/5/8/", "/1/5/", &["/1/5/8/"]));
        assert!(!may_handle(Role::Drafter, "/1/5/", "", &[]), "no lead unit");
    }

    #[test]
    fn verdicts_come_from_the_report() {
        assert_eq!(Verdict::from_report("valid"), Some(Verdict::Passed));
        assert_eq!(Verdict::from_report("invalid"), Some(Verdict::Failed));
        assert_eq!(
            Verdict::from_report("indeterminate"),
            Some(Verdict::Indeterminate)
        );
        assert_eq!(Verdict::from_report("VALID"), None);
    }

    #[test]
    fn reminders_come_three_days_before_the_day_before_and_on_the_day() {
        let deadline = date!(2026 - 06 - 10);
        assert_eq!(due_reminder(deadline, date!(2026 - 06 - 01), &[]), None);
        assert_eq!(due_reminder(deadline, date!(2026 - 06 - 07), &[]), Some(3));
        assert_eq!(due_reminder(deadline, date!(2026 - 06 - 08), &[3]), None);
        assert_eq!(due_reminder(deadline, date!(2026 - 06 - 09), &[3]), Some(1));
        assert_eq!(
            due_reminder(deadline, date!(2026 - 06 - 10), &[3, 1]),
            Some(0)
        );
        assert_eq!(
            due_reminder(deadline, date!(2026 - 06 - 10), &[3, 1, 0]),
            None
        );
        // A document assigned the day before its deadline gets the one-day reminder only.
        assert_eq!(due_reminder(deadline, date!(2026 - 06 - 09), &[]), Some(1));
        assert_eq!(due_reminder(deadline, date!(2026 - 06 - 11), &[]), None);
    }
}
