//! Key devices (USB PKI tokens, PKI SIMs, HSMs, remote signing, software keys) and the states a
//! device goes through between the national CA, the managing agency and the subscriber.
//!
//! ```text
//! InStock ─DeliverToAgency→ AtManagingAgency ─Assign (Mẫu 07)→ Assigned ─Handover→ Assigned
//! Assigned ─Lock→ Locked ─Recover (Mẫu 06)→ Assigned
//! Assigned | Locked ─Recall→ ToRecall
//! ToRecall | AtManagingAgency ─Return (Mẫu 08)→ Returned
//! Assigned | Locked | ToRecall | AtManagingAgency ─ReportLost (Mẫu 09)→ Lost
//! ```
//!
//! `Returned` and `Lost` are final.

use crate::named_enum;

named_enum! {
    /// What kind of device holds the private key (the CA's bulk-import "device type").
    pub enum DeviceKind ("device kind", "loại thiết bị") {
        /// A USB PKI token (the default).
        Token => "token", "USB token", "USB token";
        /// A PKI SIM card.
        Sim => "sim", "SIM PKI", "PKI SIM";
        /// A hardware security module.
        Hsm => "hsm", "Thiết bị HSM", "HSM";
        /// A remote signing service (RSSP): the key stays with the service.
        Rssp => "rssp", "Dịch vụ ký số từ xa (RSSP)", "Remote signing service (RSSP)";
        /// A software key (PKCS#12 file).
        Soft => "soft", "Khóa mềm", "Software key";
    }
}

named_enum! {
    /// Where a device is in its life.
    pub enum DeviceState ("device state", "trạng thái thiết bị") {
        /// Held by the national CA, not yet delivered.
        InStock => "in_stock", "Trong kho", "In stock";
        /// Delivered to the managing agency, not yet handed to a subscriber.
        AtManagingAgency => "at_managing_agency", "Tại cơ quan quản lý", "At the managing agency";
        /// Handed to its subscriber (or, for an organization token, its custodian).
        Assigned => "assigned", "Đã cấp cho thuê bao", "Assigned to the subscriber";
        /// PIN locked; needs recovery (Mẫu 06).
        Locked => "locked", "Bị khóa", "Locked";
        /// The certificate expired or was revoked: the agency must collect the device.
        ToRecall => "to_recall", "Cần thu hồi", "To be recalled";
        /// Returned to the CA (Mẫu 08). Final.
        Returned => "returned", "Đã trả", "Returned";
        /// Lost (Mẫu 09). Final.
        Lost => "lost", "Thất lạc", "Lost";
    }
}

named_enum! {
    /// Something that happens to a device.
    pub enum DeviceEvent ("device event", "sự kiện thiết bị") {
        /// The CA delivers the device to the managing agency.
        DeliverToAgency => "deliver_to_agency", "Giao cho cơ quan quản lý", "Deliver to the managing agency";
        /// The agency hands the device to its subscriber (Mẫu 07).
        Assign => "assign", "Bàn giao cho thuê bao", "Hand over to the subscriber";
        /// The custodian of an organization token changes (handover record).
        Handover => "handover", "Bàn giao người giữ thiết bị", "Change of custodian";
        /// The PIN is locked.
        Lock => "lock", "Thiết bị bị khóa", "Device locked";
        /// The Department recovers a locked device (Mẫu 06).
        Recover => "recover", "Khôi phục thiết bị", "Recover the device";
        /// The certificate expired or was revoked: the device must be collected.
        Recall => "recall", "Yêu cầu thu hồi thiết bị", "Recall the device";
        /// The device is returned to the CA (Mẫu 08).
        Return => "return", "Trả thiết bị", "Return the device";
        /// The device is reported lost (Mẫu 09).
        ReportLost => "report_lost", "Báo mất thiết bị", "Report the device lost";
    }
}

named_enum! {
    /// The record (biên bản or form) an event produces, to be drawn up and kept with the device.
    pub enum RecordKind ("record kind", "loại biên bản") {
        /// Mẫu 07: handover of certificate and device to the subscriber.
        SubscriberHandover => "subscriber_handover",
            "Biên bản bàn giao chứng thư và thiết bị cho thuê bao (Mẫu 07)",
            "Handover of certificate and device to the subscriber (form 07)";
        /// Handover between custodians of an organization token.
        CustodianHandover => "custodian_handover",
            "Biên bản bàn giao thiết bị giữa người giữ",
            "Handover between custodians";
        /// Mẫu 08: return of the device after expiry or revocation.
        DeviceReturn => "device_return",
            "Biên bản trả thiết bị (Mẫu 08)",
            "Device return record (form 08)";
        /// Mẫu 09: confirmation that the device is lost.
        LossConfirmation => "loss_confirmation",
            "Biên bản xác nhận thất lạc thiết bị (Mẫu 09)",
            "Lost device record (form 09)";
        /// Mẫu 06: request to recover the key device.
        DeviceRecovery => "device_recovery",
            "Đề nghị khôi phục thiết bị lưu khóa bí mật (Mẫu 06)",
            "Key device recovery request (form 06)";
    }
}

impl RecordKind {
    /// The Decree 68 form number (`"07"`), or `None` for the custodian handover record, which
    /// has no numbered form in Decree 68 (it was Mẫu 14 of the old Circular 185/2019).
    pub const fn form_number(self) -> Option<&'static str> {
        match self {
            RecordKind::SubscriberHandover => Some("07"),
            RecordKind::CustodianHandover => None,
            RecordKind::DeviceReturn => Some("08"),
            RecordKind::LossConfirmation => Some("09"),
            RecordKind::DeviceRecovery => Some("06"),
        }
    }
}

impl DeviceEvent {
    /// The record this event produces, if any.
    pub const fn record_kind(self) -> Option<RecordKind> {
        match self {
            DeviceEvent::Assign => Some(RecordKind::SubscriberHandover),
            DeviceEvent::Handover => Some(RecordKind::CustodianHandover),
            DeviceEvent::Return => Some(RecordKind::DeviceReturn),
            DeviceEvent::ReportLost => Some(RecordKind::LossConfirmation),
            DeviceEvent::Recover => Some(RecordKind::DeviceRecovery),
            DeviceEvent::DeliverToAgency | DeviceEvent::Lock | DeviceEvent::Recall => None,
        }
    }
}

impl DeviceState {
    /// Whether no event leaves this state (`Returned`, `Lost`).
    pub fn is_final(self) -> bool {
        DeviceEvent::ALL
            .into_iter()
            .all(|e| transition(self, e).is_err())
    }

    /// The events accepted in this state, in [`DeviceEvent::ALL`] order.
    pub fn events(self) -> Vec<DeviceEvent> {
        DeviceEvent::ALL
            .into_iter()
            .filter(|e| transition(self, *e).is_ok())
            .collect()
    }
}

/// An event that cannot happen in the device's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a device that is {} cannot take the event \"{}\"", from.label_en().to_lowercase(), event.label_en().to_lowercase())]
#[non_exhaustive]
pub struct TransitionError {
    /// The state the device is in.
    pub from: DeviceState,
    /// The refused event.
    pub event: DeviceEvent,
}

impl TransitionError {
    /// The message shown to Vietnamese users.
    pub fn message_vi(&self) -> String {
        format!(
            "Thiết bị đang ở trạng thái \"{}\", không thể thực hiện \"{}\"",
            self.from.label_vi(),
            self.event.label_vi()
        )
    }

    /// The message shown to English-speaking users.
    pub fn message_en(&self) -> String {
        self.to_string()
    }
}

/// The state a device reaches when `event` happens in state `from`, or why it cannot.
pub fn transition(from: DeviceState, event: DeviceEvent) -> Result<DeviceState, TransitionError> {
    use DeviceEvent as E;
    use DeviceState as S;
    match (from, event) {
        (S::InStock, E::DeliverToAgency) => Ok(S::AtManagingAgency),
        (S::AtManagingAgency, E::Assign) => Ok(S::Assigned),
        (S::Assigned, E::Handover) => Ok(S::Assigned),
        (S::Assigned, E::Lock) => Ok(S::Locked),
        (S::Locked, E::Recover) => Ok(S::Assigned),
        (S::Assigned | S::Locked, E::Recall) => Ok(S::ToRecall),
        (S::ToRecall | S::AtManagingAgency, E::Return) => Ok(S::Returned),
        (S::Assigned | S::Locked | S::ToRecall | S::AtManagingAgency, E::ReportLost) => Ok(S::Lost),
        _ => Err(TransitionError { from, event }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DeviceEvent as E;
    use DeviceState as S;

    #[test]
    fn a_token_from_the_ca_to_the_subscriber_and_back() {
        let mut state = S::InStock;
        for (event, expected) in [
            (E::DeliverToAgency, S::AtManagingAgency),
            (E::Assign, S::Assigned),
            (E::Lock, S::Locked), // the subscriber mistyped the PIN too often
            (E::Recover, S::Assigned), // the Department unlocked it (Mẫu 06)
            (E::Handover, S::Assigned), // a new custodian
            (E::Recall, S::ToRecall), // the certificate expired
            (E::Return, S::Returned), // back to the CA (Mẫu 08)
        ] {
            state = transition(state, event).unwrap();
            assert_eq!(state, expected, "after {event}");
        }
        assert!(state.is_final());
    }

    /// Every (state, event) pair: exactly the listed ones are accepted.
    #[test]
    fn the_full_transition_table() {
        let allowed = [
            (S::InStock, E::DeliverToAgency, S::AtManagingAgency),
            (S::AtManagingAgency, E::Assign, S::Assigned),
            (S::AtManagingAgency, E::Return, S::Returned),
            (S::AtManagingAgency, E::ReportLost, S::Lost),
            (S::Assigned, E::Handover, S::Assigned),
            (S::Assigned, E::Lock, S::Locked),
            (S::Assigned, E::Recall, S::ToRecall),
            (S::Assigned, E::ReportLost, S::Lost),
            (S::Locked, E::Recover, S::Assigned),
            (S::Locked, E::Recall, S::ToRecall),
            (S::Locked, E::ReportLost, S::Lost),
            (S::ToRecall, E::Return, S::Returned),
            (S::ToRecall, E::ReportLost, S::Lost),
        ];
        for from in S::ALL {
            for event in E::ALL {
                let expected = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && *e == event)
                    .map(|(_, _, to)| *to);
                match (transition(from, event), expected) {
                    (Ok(to), Some(want)) => assert_eq!(to, want),
                    (Err(err), None) => assert_eq!(err, TransitionError { from, event }),
                    (got, want) => panic!("{from} + {event}: got {got:?}, want {want:?}"),
                }
            }
        }
        let finals: Vec<_> = S::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(finals, [S::Returned, S::Lost]);
        assert_eq!(S::Locked.events(), [E::Recover, E::Recall, E::ReportLost]);
    }

    #[test]
    fn a_token_in_stock_cannot_be_lost_by_the_agency() {
        let err = transition(S::InStock, E::ReportLost).unwrap_err();
        assert_eq!(
            err.message_vi(),
            "Thiết bị đang ở trạng thái \"Trong kho\", không thể thực hiện \"Báo mất thiết bị\""
        );
        assert_eq!(
            err.message_en(),
            "a device that is in stock cannot take the event \"report the device lost\""
        );
    }

    #[test]
    fn events_produce_their_records() {
        let records: Vec<_> = E::ALL
            .into_iter()
            .filter_map(|e| e.record_kind().map(|r| (e, r.form_number())))
            .collect();
        assert_eq!(
            records,
            [
                (E::Assign, Some("07")),
                (E::Handover, None),
                (E::Recover, Some("06")),
                (E::Return, Some("08")),
                (E::ReportLost, Some("09")),
            ]
        );
    }

    #[test]
    fn stable_names_and_labels() {
        assert_eq!(
            S::ALL.map(S::as_str),
            [
                "in_stock",
                "at_managing_agency",
                "assigned",
                "locked",
                "to_recall",
                "returned",
                "lost"
            ]
        );
        assert_eq!(
            S::ALL.map(S::label_vi),
            [
                "Trong kho",
                "Tại cơ quan quản lý",
                "Đã cấp cho thuê bao",
                "Bị khóa",
                "Cần thu hồi",
                "Đã trả",
                "Thất lạc"
            ]
        );
        assert_eq!(
            DeviceKind::ALL.map(DeviceKind::as_str),
            ["token", "sim", "hsm", "rssp", "soft"]
        );
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Ok(s));
        }
        for e in E::ALL {
            assert_eq!(e.as_str().parse::<E>(), Ok(e));
            assert!(!e.label_vi().is_empty() && !e.label_en().is_empty());
        }
        for k in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(k.as_str()), Ok(k));
        }
        for r in RecordKind::ALL {
            assert_eq!(RecordKind::parse(r.as_str()), Ok(r));
        }
        assert!(S::parse("stolen").is_err());
        assert_eq!(
            serde_json::to_string(&S::AtManagingAgency).unwrap(),
            "\"at_managing_agency\""
        );
    }
}
