//! Library errors as one-line messages with their exit codes: `kyso_i18n::catalogue`,
//! re-exported for the commands.

pub use kyso_i18n::catalogue::*;
