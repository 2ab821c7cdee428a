//! Certificate lifecycle requests (Decree 68: Mẫu 01–06): drafted by an agency's signature
//! officer, approved by the managing agency (the parent agency's officer, or a Department
//! administrator above), sent to the Department or the national CA, processed, then done or
//! refused with a reason.
//!
//! Every action appends to the request's timeline (`request_events`) and to the audit log in
//! the same transaction as the change. Completing a request changes the registry in that same
//! transaction too: issuance and renewal import the certificate(s) given at completion (a
//! renewed certificate becomes `superseded`, with `replaced_by` set), revocation marks the
//! certificate revoked with the request's reason, recovery moves the device with the `recover`
//! event, and a change of information writes the new subscriber fields given in the items.
//!
//! Deadlines are counted in working days ([`WorkCalendar`]) from the moment the request is
//! sent; the calendar's per-year configuration is the `calendar` setting (JSON).
//!
//! Visibility follows the registry: a request is seen by whoever may read its agency (its own
//! officers, the managing agency above it, the Department); anything else is *not found*.

use std::collections::BTreeMap;

use kyso_domain::calendar::{CalendarConfig, WorkCalendar};
use kyso_domain::device::{transition, DeviceEvent, DeviceState};
use kyso_domain::lifecycle::{next_state, Handler, RequestAction, RequestKind, RequestState};
use kyso_domain::roles::Permission;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::audit::Event;
use crate::registry::{self, SubscriberInput};
use crate::{Actor, Error, On, Record, Result, Store, WriteTx};

/// The setting holding the working-day calendar ([`CalendarConfig`] as JSON).
pub const CALENDAR_SETTING: &str = "calendar";
/// The setting holding who handles each request kind (JSON object: kind → handler), for
/// kinds that do not go to [`RequestKind::default_handler`].
pub const HANDLERS_SETTING: &str = "request_handlers";
/// Most items one request may list.
pub const MAX_ITEMS: usize = 200;

mod input;
pub use input::*;
mod output;
pub use output::*;
mod settings;
pub use settings::*;
mod validation;
use validation::*;
mod drafting;
pub use drafting::*;
mod reading;
pub use reading::*;
mod acting;
pub use acting::*;
mod letter_document;
pub use letter_document::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_managing_agency_is_the_parent_and_a_root_has_none() {
        assert_eq!(parent_path("/1/5/9/").as_deref(), Some("/1/5/"));
        assert_eq!(parent_path("/1/5/").as_deref(), Some("/1/"));
        assert_eq!(parent_path("/1/"), None);
        assert_eq!(parent_path(""), None);
    }

    #[test]
    fn only_sent_or_processing_requests_past_their_deadline_are_overdue() {
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        assert!(is_overdue(RequestState::Sent, Some(999), now));
        assert!(is_overdue(RequestState::Processing, Some(999), now));
        assert!(!is_overdue(RequestState::Sent, Some(1_000), now));
        assert!(!is_overdue(RequestState::Done, Some(1), now));
        assert!(!is_overdue(RequestState::Approved, None, now));
    }

    #[test]
    fn every_form_names_its_required_fields() {
        for kind in RequestKind::ALL {
            let fields = item_fields(kind);
            assert!(!fields.is_empty(), "{kind}");
            let issuance = matches!(
                kind,
                RequestKind::IssueIndividual
                    | RequestKind::IssueOrganization
                    | RequestKind::IssueDevice
            );
            assert_eq!(fields.contains(&("name", true)), issuance, "{kind}");
        }
    }
}
