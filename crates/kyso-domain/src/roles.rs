//! Who may do what: the roles an account can hold and the permissions each role grants.
//!
//! A role is held *at an agency*; the store limits each permission to that agency's subtree
//! (see [`crate::codes::AgencyCode::is_within`]). This module only says which permissions a
//! role carries, wherever it is held.

use crate::named_enum;

named_enum! {
    /// A role an account holds at an agency.
    pub enum Role ("role", "vai trò") {
        /// The provincial Department of Science and Technology (Sở KH&CN), which runs the
        /// registry: every permission.
        DostAdmin => "dost_admin", "Quản trị Sở KH&CN", "DOST administrator";
        /// The agency officer in charge of digital signatures: keeps the registry, drafts,
        /// approves and sends requests.
        SignatureOfficer => "signature_officer", "Cán bộ phụ trách chữ ký số", "Digital signature officer";
        /// The clerk (văn thư), who keeps the organization token.
        Clerk => "clerk", "Văn thư", "Clerk";
        /// A person who signs documents with a personal certificate.
        Signer => "signer", "Người ký", "Signer";
        /// A specialist who drafts documents.
        Drafter => "drafter", "Chuyên viên soạn thảo", "Drafter";
        /// The unit head who reviews drafts.
        Reviewer => "reviewer", "Lãnh đạo đơn vị thẩm định", "Reviewer";
        /// The officer who checks document format (thể thức).
        FormatChecker => "format_checker", "Cán bộ kiểm tra thể thức", "Format checker";
        /// Reads the registry and the audit log, changes nothing.
        Auditor => "auditor", "Kiểm toán viên", "Auditor";
    }
}

named_enum! {
    /// Something an account may do in the registry.
    pub enum Permission ("permission", "quyền") {
        /// See agencies, people, certificates and devices.
        ReadRegistry => "read_registry", "Xem sổ quản lý", "Read the registry";
        /// Add and change agencies, people, certificates and devices.
        WriteRegistry => "write_registry", "Cập nhật sổ quản lý", "Write the registry";
        /// Create accounts and grant roles.
        ManageAccounts => "manage_accounts", "Quản lý tài khoản", "Manage accounts";
        /// Draft, submit, withdraw and send lifecycle requests.
        DraftRequest => "draft_request", "Lập đề nghị", "Draft requests";
        /// Approve or return requests drafted in the agency.
        ApproveRequest => "approve_request", "Duyệt đề nghị", "Approve requests";
        /// Process requests received by the Department (start, complete, refuse).
        ProcessRequest => "process_request", "Xử lý đề nghị", "Process requests";
        /// Read the audit log.
        ReadAudit => "read_audit", "Xem nhật ký kiểm toán", "Read the audit log";
        /// Receive expiry and other notices.
        ReadNotices => "read_notices", "Nhận thông báo", "Read notices";
        /// See the agency's outgoing documents, their versions, comments and timeline.
        ReadDocuments => "read_documents", "Xem văn bản đi", "Read outgoing documents";
        /// Upload drafts of outgoing documents and submit them for review.
        DraftDocument => "draft_document", "Soạn thảo văn bản", "Draft documents";
        /// Review drafts as the unit head: comment, return with a reason, or forward.
        ReviewDocument => "review_document", "Xem xét dự thảo", "Review drafts";
        /// Check the format (thể thức) of a forwarded draft.
        CheckFormat => "check_format", "Kiểm tra thể thức", "Check document format";
        /// Approve and personally sign documents (signing authority for the agency).
        SignDocument => "sign_document", "Duyệt và ký văn bản", "Approve and sign documents";
        /// The clerk's steps: check, number, organization signature, register, dispatch,
        /// copies and recalls.
        IssueDocument => "issue_document", "Phát hành văn bản", "Issue documents";
        /// Comment on documents as one taking part in their flow.
        CommentDocument => "comment_document", "Cho ý kiến về văn bản", "Comment on documents";
        /// Search the archive and read its entries and dossiers.
        ReadArchive => "read_archive", "Tra cứu lưu trữ", "Search the archive";
        /// Keep the archive: open, close and hand over dossiers, file documents into them.
        KeepArchive => "keep_archive", "Lập và quản lý hồ sơ", "Keep dossiers";
    }
}

impl Role {
    /// Whether this role grants `permission` (within the agency subtree where it is held).
    pub const fn allows(self, permission: Permission) -> bool {
        use Permission as P;
        match self {
            Role::DostAdmin => true,
            Role::SignatureOfficer => matches!(
                permission,
                P::ReadRegistry
                    | P::WriteRegistry
                    | P::DraftRequest
                    | P::ApproveRequest
                    | P::ReadNotices
            ),
            Role::Clerk => matches!(
                permission,
                P::ReadRegistry
                    | P::ReadNotices
                    | P::ReadDocuments
                    | P::IssueDocument
                    | P::CommentDocument
                    | P::ReadArchive
                    | P::KeepArchive
            ),
            Role::Signer => matches!(
                permission,
                P::ReadRegistry
                    | P::ReadDocuments
                    | P::SignDocument
                    | P::CommentDocument
                    | P::ReadArchive
            ),
            Role::Drafter => matches!(
                permission,
                P::ReadRegistry
                    | P::ReadDocuments
                    | P::DraftDocument
                    | P::CommentDocument
                    | P::ReadArchive
            ),
            Role::Reviewer => matches!(
                permission,
                P::ReadRegistry
                    | P::ReadDocuments
                    | P::ReviewDocument
                    | P::CommentDocument
                    | P::ReadArchive
            ),
            Role::FormatChecker => matches!(
                permission,
                P::ReadRegistry
                    | P::ReadDocuments
                    | P::CheckFormat
                    | P::CommentDocument
                    | P::ReadArchive
            ),
            Role::Auditor => matches!(
                permission,
                P::ReadRegistry | P::ReadAudit | P::ReadDocuments | P::ReadArchive
            ),
        }
    }

    /// The permissions this role grants, in [`Permission::ALL`] order.
    pub fn permissions(self) -> Vec<Permission> {
        Permission::ALL
            .into_iter()
            .filter(|p| self.allows(*p))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Ok(p));
        }
        assert_eq!(Role::parse("  clerk "), Ok(Role::Clerk));
        assert!(Role::parse("Clerk").is_err(), "names are case-sensitive");
    }

    #[test]
    fn names_and_labels_are_the_documented_ones() {
        let expected = [
            ("dost_admin", "Quản trị Sở KH&CN"),
            ("signature_officer", "Cán bộ phụ trách chữ ký số"),
            ("clerk", "Văn thư"),
            ("signer", "Người ký"),
            ("drafter", "Chuyên viên soạn thảo"),
            ("reviewer", "Lãnh đạo đơn vị thẩm định"),
            ("format_checker", "Cán bộ kiểm tra thể thức"),
            ("auditor", "Kiểm toán viên"),
        ];
        let got: Vec<_> = Role::ALL
            .iter()
            .map(|r| (r.as_str(), r.label_vi()))
            .collect();
        assert_eq!(got, expected);
        assert!(Role::ALL.iter().all(|r| !r.label_en().is_empty()));
    }

    #[test]
    fn serde_uses_the_stable_names() {
        let json = serde_json::to_string(&Role::SignatureOfficer).unwrap();
        assert_eq!(json, "\"signature_officer\"");
        let back: Role = serde_json::from_str("\"format_checker\"").unwrap();
        assert_eq!(back, Role::FormatChecker);
    }

    /// The whole matrix, written out so a change to it shows up here.
    #[test]
    fn permission_matrix() {
        use Permission::*;
        let table: [(Role, &[Permission]); 8] = [
            (Role::DostAdmin, &Permission::ALL),
            (
                Role::SignatureOfficer,
                &[
                    ReadRegistry,
                    WriteRegistry,
                    DraftRequest,
                    ApproveRequest,
                    ReadNotices,
                ],
            ),
            (
                Role::Clerk,
                &[
                    ReadRegistry,
                    ReadNotices,
                    ReadDocuments,
                    IssueDocument,
                    CommentDocument,
                    ReadArchive,
                    KeepArchive,
                ],
            ),
            (
                Role::Signer,
                &[
                    ReadRegistry,
                    ReadDocuments,
                    SignDocument,
                    CommentDocument,
                    ReadArchive,
                ],
            ),
            (
                Role::Drafter,
                &[
                    ReadRegistry,
                    ReadDocuments,
                    DraftDocument,
                    CommentDocument,
                    ReadArchive,
                ],
            ),
            (
                Role::Reviewer,
                &[
                    ReadRegistry,
                    ReadDocuments,
                    ReviewDocument,
                    CommentDocument,
                    ReadArchive,
                ],
            ),
            (
                Role::FormatChecker,
                &[
                    ReadRegistry,
                    ReadDocuments,
                    CheckFormat,
                    CommentDocument,
                    ReadArchive,
                ],
            ),
            (
                Role::Auditor,
                &[ReadRegistry, ReadAudit, ReadDocuments, ReadArchive],
            ),
        ];
        for (role, allowed) in table {
            assert_eq!(role.permissions(), allowed.to_vec(), "{role}");
        }
    }

    #[test]
    fn only_the_department_manages_accounts_and_processes_requests() {
        for role in Role::ALL {
            let admin = role == Role::DostAdmin;
            assert_eq!(role.allows(Permission::ManageAccounts), admin);
            assert_eq!(role.allows(Permission::ProcessRequest), admin);
        }
    }
}
