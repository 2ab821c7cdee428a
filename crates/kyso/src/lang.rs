//! User-facing language and errors: `kyso_i18n`, re-exported for the commands.

pub use kyso_i18n::{Lang, UserError};
