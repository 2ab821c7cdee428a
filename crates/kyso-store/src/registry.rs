//! The provincial registry: agencies (a tree with electronic identifier codes), subscribers,
//! their certificates and key devices. Every function takes the acting user and checks that
//! the agency concerned lies inside one of the user's subtrees for the permission needed;
//! anything outside is reported as not found, so its existence is not revealed.

use kyso_domain::codes::AgencyCode;
use kyso_domain::device::{transition, DeviceEvent, DeviceKind, DeviceState};
use kyso_domain::fields;
use kyso_domain::roles::Permission;
use kyso_domain::text::fold;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::audit::Event;
use crate::words::{Index, Words};
use crate::{hex, sha256, unique, Actor, Error, Result, Store, WriteTx};

use kyso_domain::registry::{AgencyKind, CertStatus, SubscriberKind};

/// Most rows one listing returns.
pub const MAX_PAGE: i64 = 500;

mod agencies;
pub use agencies::*;
mod subscribers;
pub use subscribers::*;
mod certificates;
pub use certificates::*;
mod devices;
pub use devices::*;
mod dashboard;
pub use dashboard::*;
