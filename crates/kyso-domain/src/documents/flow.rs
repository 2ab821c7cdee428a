//! The flow of an outgoing document (NA-16, Decree 30 arts. 10–19) as a state machine, and who
//! may take each step.
//!
//! ```text
//! Draft | Returned ─Submit→ InReview ─Forward→ Forwarded ─CheckFormat→ FormatChecked
//!   ─Approve→ Approved ─SignPersonal→ PersonallySigned ─ClerkCheck→ ClerkChecked
//!   ─Number→ Numbered ─OrgSign→ OrgSigned ─Register→ Registered ─Dispatch→ Dispatched
//! InReview | Forwarded | FormatChecked | Approved | PersonallySigned ─Return (reason)→ Returned
//! Numbered ─ReleaseNumber (reason)→ ClerkChecked
//! Registered | Dispatched ─Recall (reason)→ Recalled (final)
//! ```
//!
//! Every forward step moves exactly one stage on ([`DocState::stage`]); only a return, the
//! release of a number and a recall go elsewhere, each with a reason.

use crate::named_enum;
use crate::roles::{Permission, Role};

named_enum! {
    /// Where an outgoing document is.
    pub enum DocState ("document state", "trạng thái văn bản") {
        /// Being written by its drafter.
        Draft => "draft", "Dự thảo", "Draft";
        /// Waiting for the unit head's review.
        InReview => "in_review", "Chờ lãnh đạo đơn vị xem xét", "Awaiting review";
        /// Sent back to the drafter with a reason.
        Returned => "returned", "Bị trả lại", "Returned";
        /// Forwarded by the unit head; waiting for the format check.
        Forwarded => "forwarded", "Chờ kiểm tra thể thức", "Awaiting format check";
        /// Format checked; waiting for the signer's approval.
        FormatChecked => "format_checked", "Chờ duyệt", "Awaiting approval";
        /// Approved; waiting for the personal signature.
        Approved => "approved", "Đã duyệt, chờ ký", "Approved, awaiting signature";
        /// Signed by the competent person; waiting for the clerk.
        PersonallySigned => "personally_signed", "Đã ký, chờ văn thư kiểm tra", "Signed, awaiting the clerk";
        /// Checked by the clerk; waiting for its number.
        ClerkChecked => "clerk_checked", "Văn thư đã kiểm tra, chờ cấp số", "Checked, awaiting a number";
        /// A number is reserved; waiting for the organization signature.
        Numbered => "numbered", "Đã cấp số, chờ ký số cơ quan", "Numbered, awaiting the organization signature";
        /// Signed with the organization's key; waiting for registration.
        OrgSigned => "org_signed", "Đã ký số cơ quan, chờ vào sổ", "Organization-signed, awaiting registration";
        /// In the outgoing register; waiting for dispatch.
        Registered => "registered", "Đã vào sổ, chờ phát hành", "Registered, awaiting dispatch";
        /// Sent to its recipients.
        Dispatched => "dispatched", "Đã phát hành", "Dispatched";
        /// Recalled after issue: frozen, its recipients told. Final.
        Recalled => "recalled", "Đã thu hồi", "Recalled";
    }
}

named_enum! {
    /// What someone does to an outgoing document.
    pub enum DocAction ("document action", "thao tác văn bản") {
        /// The drafter submits the draft (again, after a return) for review.
        Submit => "submit", "Trình lãnh đạo đơn vị", "Submit for review";
        /// The unit head forwards it for the format check.
        Forward => "forward", "Chuyển kiểm tra thể thức", "Forward for format check";
        /// Send it back to the drafter, with a reason.
        Return => "return", "Trả lại", "Return";
        /// The format checker accepts its format.
        CheckFormat => "check_format", "Xác nhận thể thức", "Confirm the format";
        /// The signer approves it for signature.
        Approve => "approve", "Duyệt", "Approve";
        /// The signer signs it with their personal certificate.
        SignPersonal => "sign_personal", "Ký số cá nhân", "Sign personally";
        /// The clerk checks it (signature, format) before numbering.
        ClerkCheck => "clerk_check", "Văn thư kiểm tra", "Clerk's check";
        /// The clerk reserves its number and date in the register.
        Number => "number", "Cấp số, ngày", "Give number and date";
        /// The clerk gives the reserved number back, with a reason (the organization signature
        /// did not happen).
        ReleaseNumber => "release_number", "Hủy số đã cấp", "Release the number";
        /// The clerk signs it with the organization's key; the number becomes final.
        OrgSign => "org_sign", "Ký số cơ quan", "Sign for the organization";
        /// The clerk enters it in the outgoing register.
        Register => "register", "Vào sổ văn bản đi", "Register";
        /// The clerk sends it to its recipients.
        Dispatch => "dispatch", "Phát hành", "Dispatch";
        /// The issued document is recalled, with a reason.
        Recall => "recall", "Thu hồi", "Recall";
    }
}

impl DocAction {
    /// Whether the action needs a written reason.
    pub const fn needs_reason(self) -> bool {
        matches!(
            self,
            DocAction::Return | DocAction::ReleaseNumber | DocAction::Recall
        )
    }

    /// Whether it moves the document one stage on (every action but return, release and
    /// recall).
    pub const fn is_forward(self) -> bool {
        !self.needs_reason()
    }

    /// Who may take this action on a document in state `from` (for a return, whoever holds
    /// the step the document waits for). `None` when the action is not taken from `from`.
    pub fn duty(self, from: DocState) -> Option<Duty> {
        use DocAction as A;
        use DocState as S;
        next_state(from, self).ok()?;
        let step = match self {
            A::Return => from,
            A::ReleaseNumber => S::Numbered,
            A::Recall => S::Registered,
            _ => from,
        };
        Some(step.duty())
    }
}

/// How far a role granted somewhere reaches for a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A role granting the permission at the document's agency or any agency above it
    /// (the Department's administrators included).
    Subtree,
    /// Only the named role granted at the document's own agency: the signing authority for
    /// that agency and its assigned clerk (BD-16.5, Decree 30 art. 32). No administrator
    /// signs or uses the organization key for an agency.
    ThisAgency,
}

/// What taking a step needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duty {
    /// The role whose work the step is.
    pub role: Role,
    /// The permission it needs.
    pub permission: Permission,
    pub reach: Reach,
}

impl Duty {
    /// Whether one grant — `role` held at an agency that is the document's own
    /// (`at_this_agency`) or contains it (`at_or_above`) — allows the step.
    pub fn granted_by(&self, role: Role, at_this_agency: bool, at_or_above: bool) -> bool {
        match self.reach {
            Reach::Subtree => at_or_above && role.allows(self.permission),
            Reach::ThisAgency => at_this_agency && role == self.role,
        }
    }
}

impl DocState {
    /// How far along the flow the document is: Draft and Returned 0, InReview 1, … Dispatched
    /// 10, Recalled 11.
    pub const fn stage(self) -> u8 {
        use DocState as S;
        match self {
            S::Draft | S::Returned => 0,
            S::InReview => 1,
            S::Forwarded => 2,
            S::FormatChecked => 3,
            S::Approved => 4,
            S::PersonallySigned => 5,
            S::ClerkChecked => 6,
            S::Numbered => 7,
            S::OrgSigned => 8,
            S::Registered => 9,
            S::Dispatched => 10,
            S::Recalled => 11,
        }
    }

    /// Who takes the step out of this state (the final state's is the clerk's).
    pub const fn duty(self) -> Duty {
        use DocState as S;
        let (role, permission, reach) = match self {
            S::Draft | S::Returned => (Role::Drafter, Permission::DraftDocument, Reach::Subtree),
            S::InReview => (Role::Reviewer, Permission::ReviewDocument, Reach::Subtree),
            S::Forwarded => (Role::FormatChecker, Permission::CheckFormat, Reach::Subtree),
            S::FormatChecked | S::Approved => {
                (Role::Signer, Permission::SignDocument, Reach::ThisAgency)
            }
            S::PersonallySigned
            | S::ClerkChecked
            | S::Numbered
            | S::OrgSigned
            | S::Registered
            | S::Dispatched
            | S::Recalled => (Role::Clerk, Permission::IssueDocument, Reach::ThisAgency),
        };
        Duty {
            role,
            permission,
            reach,
        }
    }

    /// Whether no action leaves this state.
    pub fn is_final(self) -> bool {
        DocAction::ALL
            .into_iter()
            .all(|a| next_state(self, a).is_err())
    }

    /// Whether the document has been issued (registered and later): it can be recalled and
    /// copied, and its versions are frozen.
    pub const fn is_issued(self) -> bool {
        matches!(
            self,
            DocState::Registered | DocState::Dispatched | DocState::Recalled
        )
    }

    /// Whether a number is held (reserved or final) in this state.
    pub const fn holds_number(self) -> bool {
        self.stage() >= DocState::Numbered.stage()
    }

    /// Whether a new version (an upload) may be added in this state: the drafter's while
    /// drafting, the signed files at the signing steps.
    pub const fn accepts_version(self) -> bool {
        matches!(
            self,
            DocState::Draft | DocState::Returned | DocState::Approved | DocState::Numbered
        )
    }

    /// The actions accepted in this state, in [`DocAction::ALL`] order.
    pub fn actions(self) -> Vec<DocAction> {
        DocAction::ALL
            .into_iter()
            .filter(|a| next_state(self, *a).is_ok())
            .collect()
    }
}

/// Why a step is refused by the flow itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// The document is recalled: nothing more happens to it.
    #[error("the document is {}: nothing more can be done", .state.label_en().to_lowercase())]
    Final { state: DocState },
    /// The action is not a step from the document's current state.
    #[error("a document in state \"{}\" cannot take the step \"{}\"", .from.label_en().to_lowercase(), .action.label_en().to_lowercase())]
    NotNow { from: DocState, action: DocAction },
    /// The action needs a written reason and none was given.
    #[error("\"{}\" needs a reason", .action.label_en())]
    ReasonRequired { action: DocAction },
}

impl FlowError {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        match self {
            FlowError::Final { state } => {
                format!(
                    "Văn bản {}: không thể thao tác thêm.",
                    state.label_vi().to_lowercase()
                )
            }
            FlowError::NotNow { from, action } => format!(
                "Văn bản đang ở bước \"{}\", không thể \"{}\".",
                from.label_vi(),
                action.label_vi().to_lowercase()
            ),
            FlowError::ReasonRequired { action } => {
                format!("Thao tác \"{}\" cần ghi rõ lý do.", action.label_vi())
            }
        }
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// The state a document reaches when `action` is taken in `state`, or why it cannot.
pub fn next_state(state: DocState, action: DocAction) -> Result<DocState, FlowError> {
    use DocAction as A;
    use DocState as S;
    match (state, action) {
        (S::Draft | S::Returned, A::Submit) => Ok(S::InReview),
        (S::InReview, A::Forward) => Ok(S::Forwarded),
        (
            S::InReview | S::Forwarded | S::FormatChecked | S::Approved | S::PersonallySigned,
            A::Return,
        ) => Ok(S::Returned),
        (S::Forwarded, A::CheckFormat) => Ok(S::FormatChecked),
        (S::FormatChecked, A::Approve) => Ok(S::Approved),
        (S::Approved, A::SignPersonal) => Ok(S::PersonallySigned),
        (S::PersonallySigned, A::ClerkCheck) => Ok(S::ClerkChecked),
        (S::ClerkChecked, A::Number) => Ok(S::Numbered),
        (S::Numbered, A::ReleaseNumber) => Ok(S::ClerkChecked),
        (S::Numbered, A::OrgSign) => Ok(S::OrgSigned),
        (S::OrgSigned, A::Register) => Ok(S::Registered),
        (S::Registered, A::Dispatch) => Ok(S::Dispatched),
        (S::Registered | S::Dispatched, A::Recall) => Ok(S::Recalled),
        (S::Recalled, _) => Err(FlowError::Final { state }),
        _ => Err(FlowError::NotNow {
            from: state,
            action,
        }),
    }
}

/// [`next_state`], also refusing an action that needs a reason when `reason` is blank.
pub fn step(state: DocState, action: DocAction, reason: &str) -> Result<DocState, FlowError> {
    let to = next_state(state, action)?;
    if action.needs_reason() && reason.trim().is_empty() {
        return Err(FlowError::ReasonRequired { action });
    }
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use DocAction as A;
    use DocState as S;

    #[test]
    fn a_decision_from_draft_to_dispatch_with_one_return() {
        let mut state = S::Draft;
        for (action, expected) in [
            (A::Submit, S::InReview),
            (A::Return, S::Returned),
            (A::Submit, S::InReview),
            (A::Forward, S::Forwarded),
            (A::CheckFormat, S::FormatChecked),
            (A::Approve, S::Approved),
            (A::SignPersonal, S::PersonallySigned),
            (A::ClerkCheck, S::ClerkChecked),
            (A::Number, S::Numbered),
            (A::ReleaseNumber, S::ClerkChecked),
            (A::Number, S::Numbered),
            (A::OrgSign, S::OrgSigned),
            (A::Register, S::Registered),
            (A::Dispatch, S::Dispatched),
            (A::Recall, S::Recalled),
        ] {
            state = step(state, action, "lý do").unwrap();
            assert_eq!(state, expected, "after {action}");
        }
        assert!(state.is_final());
        let finals: Vec<_> = S::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [S::Recalled]);
    }

    #[test]
    fn reasons_and_typed_refusals() {
        assert_eq!(
            step(S::InReview, A::Return, "  "),
            Err(FlowError::ReasonRequired { action: A::Return })
        );
        assert_eq!(
            step(S::Draft, A::Number, ""),
            Err(FlowError::NotNow {
                from: S::Draft,
                action: A::Number
            })
        );
        assert_eq!(
            next_state(S::Recalled, A::Dispatch),
            Err(FlowError::Final { state: S::Recalled })
        );
        assert_eq!(
            next_state(S::Dispatched, A::Dispatch),
            Err(FlowError::NotNow {
                from: S::Dispatched,
                action: A::Dispatch
            })
        );
        let e = next_state(S::Draft, A::OrgSign).unwrap_err();
        assert!(e.message_vi().contains("Dự thảo"), "{}", e.message_vi());
        assert!(e.message_en().contains("draft"));
        assert_eq!(S::Numbered.actions(), [A::ReleaseNumber, A::OrgSign]);
    }

    #[test]
    fn who_takes_each_step() {
        let d = A::Submit.duty(S::Returned).unwrap();
        assert_eq!((d.role, d.reach), (Role::Drafter, Reach::Subtree));
        assert_eq!(A::Return.duty(S::InReview).unwrap().role, Role::Reviewer);
        assert_eq!(
            A::Return.duty(S::Forwarded).unwrap().role,
            Role::FormatChecker
        );
        assert_eq!(A::Return.duty(S::Approved).unwrap().role, Role::Signer);
        assert_eq!(
            A::Return.duty(S::PersonallySigned).unwrap().role,
            Role::Clerk
        );
        assert_eq!(A::Return.duty(S::Draft), None);
        for a in [A::Approve, A::SignPersonal] {
            let from = S::ALL
                .into_iter()
                .find(|s| next_state(*s, a).is_ok())
                .unwrap();
            let d = a.duty(from).unwrap();
            assert_eq!((d.role, d.reach), (Role::Signer, Reach::ThisAgency));
        }
        for a in [
            A::ClerkCheck,
            A::Number,
            A::ReleaseNumber,
            A::OrgSign,
            A::Register,
            A::Dispatch,
            A::Recall,
        ] {
            let from = S::ALL
                .into_iter()
                .find(|s| next_state(*s, a).is_ok())
                .unwrap();
            let d = a.duty(from).unwrap();
            assert_eq!(
                (d.role, d.permission, d.reach),
                (Role::Clerk, Permission::IssueDocument, Reach::ThisAgency),
                "{a}"
            );
            // The clerk of the agency may; an administrator, or the clerk of the agency
            // above, may not use the organization key.
            assert!(d.granted_by(Role::Clerk, true, true));
            assert!(!d.granted_by(Role::DostAdmin, true, true));
            assert!(!d.granted_by(Role::Clerk, false, true));
            assert!(!d.granted_by(Role::Signer, true, true));
        }
        let review = A::Forward.duty(S::InReview).unwrap();
        assert!(
            review.granted_by(Role::Reviewer, false, true),
            "a unit head above"
        );
        assert!(review.granted_by(Role::DostAdmin, false, true));
        assert!(
            !review.granted_by(Role::Reviewer, false, false),
            "another agency"
        );
        assert!(!review.granted_by(Role::Drafter, true, true));
    }

    fn action() -> impl Strategy<Value = DocAction> {
        (0..DocAction::ALL.len()).prop_map(|i| DocAction::ALL.get(i).copied().unwrap_or(A::Submit))
    }

    proptest! {
        /// Any sequence of attempted actions: each accepted forward step moves exactly one
        /// stage on, each accepted backward step carries a reason, each refusal names the
        /// state and action it refused, and nothing leaves Recalled.
        #[test]
        fn no_step_is_skipped_and_every_refusal_is_typed(
            actions in proptest::collection::vec((action(), any::<bool>()), 0..80)
        ) {
            let mut state = S::Draft;
            let mut seen_numbered = false;
            for (a, with_reason) in actions {
                let reason = if with_reason { "vì sao" } else { "" };
                match step(state, a, reason) {
                    Ok(to) => {
                        if a.is_forward() {
                            prop_assert_eq!(to.stage(), state.stage() + 1, "{} {}", state, a);
                        } else {
                            prop_assert!(with_reason);
                            prop_assert!(to.stage() < state.stage() || to == S::Recalled);
                        }
                        if to == S::OrgSigned {
                            prop_assert!(seen_numbered, "signed for the organization without a number");
                        }
                        seen_numbered = to == S::Numbered || (seen_numbered && to.holds_number());
                        prop_assert!(a.duty(state).is_some());
                        state = to;
                    }
                    Err(FlowError::Final { state: s }) => {
                        prop_assert_eq!(s, state);
                        prop_assert!(state.is_final());
                    }
                    Err(FlowError::NotNow { from, action }) => {
                        prop_assert_eq!((from, action), (state, a));
                        prop_assert!(!state.actions().contains(&a));
                        prop_assert!(a.duty(state).is_none());
                    }
                    Err(FlowError::ReasonRequired { action }) => {
                        prop_assert_eq!(action, a);
                        prop_assert!(a.needs_reason() && !with_reason);
                    }
                }
            }
        }

        /// The only way to Dispatched goes through every stage in order.
        #[test]
        fn dispatch_is_reached_only_through_every_stage(
            actions in proptest::collection::vec(action(), 0..60)
        ) {
            let mut state = S::Draft;
            let mut path = vec![state];
            for a in actions {
                if let Ok(to) = step(state, a, "x") {
                    state = to;
                    path.push(to);
                }
            }
            if let Some(i) = path.iter().position(|s| *s == S::Dispatched) {
                // Walking back from Dispatched, the last visit of each stage comes in order.
                let mut want = S::Dispatched.stage();
                for s in path.iter().take(i + 1).rev() {
                    if s.stage() == want {
                        if want == 0 { break; }
                        want -= 1;
                    }
                }
                prop_assert_eq!(want, 0);
            }
        }
    }
}
