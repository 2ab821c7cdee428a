//! The schemas of fields the store keeps as stable names (feature `openapi`): each lists the
//! values of the domain's enum, so the REST API's document never holds a copy of them.

use kyso_domain::device::{DeviceEvent, DeviceKind, DeviceState};
use kyso_domain::lifecycle::{Handler, RequestAction, RequestKind, RequestState};
use kyso_domain::openapi::{names, names_array};
use kyso_domain::registry::{AgencyKind, SubscriberKind};
use kyso_domain::roles::Role;
use utoipa::openapi::schema::{ArrayBuilder, Object};

pub fn role_name() -> Object {
    names::<Role>()
}
pub fn agency_kind() -> Object {
    names::<AgencyKind>()
}
pub fn subscriber_kind() -> Object {
    names::<SubscriberKind>()
}
pub fn device_kind() -> Object {
    names::<DeviceKind>()
}
pub fn device_state() -> Object {
    names::<DeviceState>()
}
pub fn device_event() -> Object {
    names::<DeviceEvent>()
}
pub fn request_kind() -> Object {
    names::<RequestKind>()
}
pub fn request_state() -> Object {
    names::<RequestState>()
}
pub fn request_handler() -> Object {
    names::<Handler>()
}
pub fn request_action() -> Object {
    names::<RequestAction>()
}
pub fn request_actions() -> ArrayBuilder {
    names_array::<RequestAction>()
}
