//! The registry's kinds and statuses, with the labels users see: agencies, subscribers and the
//! status of a certificate at a given time. The store keeps their stable names; validation
//! parses them here (issue 16 item 3: no kinds or statuses as strings or tuple lists in SQL
//! modules).

use time::OffsetDateTime;

use crate::named_enum;

named_enum! {
    /// What kind of body an agency of the tree is.
    pub enum AgencyKind ("agency kind", "loại cơ quan") {
        /// A provincial People's Committee (the root of a province's tree).
        Province => "province", "UBND tỉnh/thành phố", "Provincial People's Committee";
        /// A department, board or sector.
        Department => "department", "Sở, ban, ngành", "Department";
        /// A commune or ward People's Committee.
        Commune => "commune", "UBND xã/phường", "Commune People's Committee";
        /// A public service unit.
        Unit => "unit", "Đơn vị sự nghiệp", "Public service unit";
        /// Any other body.
        Other => "other", "Cơ quan, tổ chức khác", "Other body";
    }
}

named_enum! {
    /// What kind of subscriber holds a certificate (Decree 68: individual, organization,
    /// device/service/software).
    pub enum SubscriberKind ("subscriber kind", "loại thuê bao") {
        /// A person.
        Individual => "individual", "Cá nhân", "Individual";
        /// An agency or organization (its seal certificate).
        Organization => "organization", "Cơ quan, tổ chức", "Organization";
        /// A device, service or piece of software.
        Device => "device", "Thiết bị, dịch vụ, phần mềm", "Device, service or software";
    }
}

named_enum! {
    /// The status of a certificate as a user should see it at some time.
    pub enum CertStatus ("certificate status", "trạng thái chứng thư số") {
        /// Recorded active and inside its validity.
        Active => "active", "Còn hiệu lực", "Valid";
        /// Recorded active, past its `notAfter`.
        Expired => "expired", "Hết hạn", "Expired";
        /// Recorded revoked.
        Revoked => "revoked", "Đã thu hồi", "Revoked";
        /// Replaced by a renewal.
        Superseded => "superseded", "Đã gia hạn/thay thế", "Renewed/replaced";
        /// Recorded active, before its `notBefore`.
        NotYetValid => "not_yet_valid", "Chưa có hiệu lực", "Not yet valid";
    }
}

impl CertStatus {
    /// The status at `now` of a certificate recorded as `recorded` (`active`, `revoked` or
    /// `superseded`) and valid from `not_before` to `not_after`: a recorded revocation or
    /// renewal first, then the certificate's own validity.
    pub fn at(
        recorded: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        now: OffsetDateTime,
    ) -> CertStatus {
        match CertStatus::parse(recorded) {
            Ok(CertStatus::Revoked) => CertStatus::Revoked,
            Ok(CertStatus::Superseded) => CertStatus::Superseded,
            _ if now > not_after => CertStatus::Expired,
            _ if now < not_before => CertStatus::NotYetValid,
            _ => CertStatus::Active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_kinds_list_every_value_in_order_with_its_labels() {
        use crate::Named;
        assert_eq!(
            AgencyKind::all()
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>(),
            ["province", "department", "commune", "unit", "other"]
        );
        assert_eq!(
            SubscriberKind::all().len(),
            3,
            "individual, organization, device"
        );
        assert_eq!(
            AgencyKind::all()
                .first()
                .map(|k| (k.name(), k.vi(), k.en())),
            Some((
                "province",
                "UBND tỉnh/thành phố",
                "Provincial People's Committee"
            ))
        );
        assert_eq!(AgencyKind::from_name("commune"), Some(AgencyKind::Commune));
        assert_eq!(
            SubscriberKind::parse(" organization "),
            Ok(SubscriberKind::Organization)
        );
        assert!(AgencyKind::parse("ministry").is_err());
    }

    #[test]
    fn a_recorded_revocation_or_renewal_comes_before_the_validity() {
        let from = datetime!(2025-01-01 0:00 UTC);
        let to = datetime!(2027-01-01 0:00 UTC);
        let at = |recorded, now| CertStatus::at(recorded, from, to, now);
        let during = datetime!(2026-06-01 0:00 UTC);
        let after = datetime!(2028-01-01 0:00 UTC);
        let before = datetime!(2024-01-01 0:00 UTC);
        assert_eq!(at("active", during), CertStatus::Active);
        assert_eq!(at("active", after), CertStatus::Expired);
        assert_eq!(at("active", before), CertStatus::NotYetValid);
        assert_eq!(at("revoked", after), CertStatus::Revoked);
        assert_eq!(at("superseded", during), CertStatus::Superseded);
        assert_eq!(CertStatus::Superseded.label_vi(), "Đã gia hạn/thay thế");
    }
}
