//! Who is acting, and which agencies their roles reach.
//!
//! Every role is granted on one agency and reaches that agency's whole subtree. Agencies carry a
//! materialized path (`/1/5/9/`: the ids from the root down), so "inside the subtree of G" is
//! "path starts with G's path" — one indexed prefix test in SQL and in Rust.

use kyso_domain::roles::{Permission, Role};

use crate::{Error, Record, Result};

/// One role on one agency subtree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    pub agency_id: i64,
    /// The agency's materialized path.
    pub path: String,
}

/// The user (or API token) doing something, with the address the request came from.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: i64,
    pub username: String,
    pub grants: Vec<Grant>,
    /// Where the request came from (IP address), for the audit log.
    pub source: String,
}

/// What a write concerns, and so what its actor must hold: given to [`crate::Store::begin_write`],
/// which checks it before the transaction begins ([`Actor::may`]).
#[derive(Debug, Clone, Copy)]
pub enum On<'a> {
    /// A record of the agency with this materialized path, needing this permission there.
    Agency(Permission, &'a str),
    /// A new root agency: the system, or a DOST administrator granted on a root agency.
    NewRoot,
    /// Settings and jobs of the whole registry (the calendar, request handlers, the expiry
    /// scan): the system or a DOST administrator.
    Registry,
    /// The actor's own account: logging in and out, its password, sessions, API tokens and
    /// notices (the statements name the actor's own id). Anyone may.
    Own,
    /// Entries of the audit log alone (a failed login, a batch of audited reads): what anyone
    /// does is recorded.
    AuditLog,
    /// Only the system itself (seeding, the mailer's bookkeeping).
    System,
}

/// The agency subtrees in which an actor holds a permission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    paths: Vec<String>,
}

impl Actor {
    /// The system itself (start-up seeding, scheduled notices): no grants are needed.
    pub fn system() -> Actor {
        Actor {
            user_id: 0,
            username: "system".into(),
            grants: Vec::new(),
            source: String::new(),
        }
    }

    pub(crate) fn is_system(&self) -> bool {
        self.user_id == 0
    }

    /// The subtrees in which the actor may do `p`.
    pub fn scope(&self, p: Permission) -> Scope {
        if self.is_system() {
            return Scope {
                paths: vec!["/".into()],
            };
        }
        let mut paths: Vec<String> = self
            .grants
            .iter()
            .filter(|g| g.role.allows(p))
            .map(|g| g.path.clone())
            .collect();
        paths.sort();
        // Drop paths inside another granted path: the filter stays short.
        let mut kept: Vec<String> = Vec::with_capacity(paths.len());
        for p in paths {
            if !kept.iter().any(|k| p.starts_with(k.as_str())) {
                kept.push(p);
            }
        }
        Scope { paths: kept }
    }

    /// Whether the actor may do `p` on the agency with materialized path `path`.
    pub fn can(&self, p: Permission, path: &str) -> bool {
        self.scope(p).contains(path)
    }

    /// The one scope rule of reads that name one record: the record `what` at the agency with
    /// path `path` is *not found* where the actor cannot read that agency (its existence is
    /// not revealed), and *forbidden* where it can read it but may not do `p` there.
    pub fn reach(&self, p: Permission, path: &str, what: Record) -> Result<()> {
        if !self.can(Permission::ReadRegistry, path) {
            Err(Error::NotFound { what })
        } else if !self.can(p, path) {
            Err(Error::Forbidden)
        } else {
            Ok(())
        }
    }

    /// Whether the actor may write what `on` names (the check of [`crate::Store::begin_write`];
    /// anything not explicitly allowed is refused).
    pub fn may(&self, on: On<'_>) -> Result<()> {
        let allowed = match on {
            On::Agency(p, path) => return self.reach(p, path, Record::Agency),
            On::NewRoot => {
                self.is_system()
                    || self
                        .grants
                        .iter()
                        .any(|g| g.role == Role::DostAdmin && g.path.matches('/').count() == 2)
            }
            On::Registry => self.is_system() || self.has_role(Role::DostAdmin),
            On::Own | On::AuditLog => true,
            On::System => self.is_system(),
        };
        if allowed {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }

    /// Whether the actor holds `role` anywhere.
    pub fn has_role(&self, role: Role) -> bool {
        self.grants.iter().any(|g| g.role == role)
    }
}

impl Scope {
    pub fn contains(&self, path: &str) -> bool {
        self.paths.iter().any(|p| path.starts_with(p.as_str()))
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The materialized paths of the subtrees reached (none inside another).
    pub(crate) fn paths(&self) -> &[String] {
        &self.paths
    }

    /// Whether the scope reaches a whole tree (it holds a root agency, or is the system's):
    /// its searches read the whole province.
    pub(crate) fn is_whole_tree(&self) -> bool {
        self.paths.iter().any(|p| p.matches('/').count() <= 2)
    }

    /// An SQL condition `(col LIKE $n || '%' OR …)` with its parameters, numbered from
    /// `first`; `FALSE`-equivalent when the scope is empty.
    pub(crate) fn sql(&self, column: &str, first: usize) -> (String, Vec<String>) {
        if self.paths.is_empty() {
            return ("1 = 0".into(), Vec::new());
        }
        let parts: Vec<String> = (0..self.paths.len())
            .map(|i| format!("{column} LIKE ${}", first + i))
            .collect();
        let params = self
            .paths
            .iter()
            .map(|p| format!("{}%", escape_like(p)))
            .collect();
        (format!("({})", parts.join(" OR ")), params)
    }
}

/// Paths hold only digits and `/`, but escape LIKE's wildcards anyway.
fn escape_like(s: &str) -> String {
    s.replace(['%', '_'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(grants: &[(Role, &str)]) -> Actor {
        Actor {
            user_id: 7,
            username: "u".into(),
            grants: grants
                .iter()
                .map(|(role, path)| Grant {
                    role: *role,
                    agency_id: 1,
                    path: (*path).into(),
                })
                .collect(),
            source: String::new(),
        }
    }

    #[test]
    fn a_role_reaches_its_agency_and_everything_below_it_only() {
        let a = actor(&[(Role::SignatureOfficer, "/1/5/")]);
        assert!(a.can(Permission::WriteRegistry, "/1/5/"));
        assert!(a.can(Permission::WriteRegistry, "/1/5/9/"));
        assert!(!a.can(Permission::WriteRegistry, "/1/"));
        assert!(
            !a.can(Permission::WriteRegistry, "/1/50/"),
            "prefix of digits is not a subtree"
        );
        assert!(
            !a.can(Permission::ReadAudit, "/1/5/"),
            "a signature officer is no auditor"
        );
    }

    #[test]
    fn a_write_is_refused_unless_its_concern_is_explicitly_allowed() {
        let officer = actor(&[(Role::SignatureOfficer, "/1/5/")]);
        assert!(officer
            .may(On::Agency(Permission::WriteRegistry, "/1/5/9/"))
            .is_ok());
        // Readable but not writable here: forbidden; outside every subtree: not found.
        let clerk = actor(&[(Role::Clerk, "/1/5/")]);
        assert!(matches!(
            clerk.may(On::Agency(Permission::WriteRegistry, "/1/5/")),
            Err(Error::Forbidden)
        ));
        assert!(matches!(
            officer.may(On::Agency(Permission::WriteRegistry, "/1/6/")),
            Err(Error::NotFound {
                what: Record::Agency
            })
        ));
        for on in [On::NewRoot, On::Registry, On::System] {
            assert!(matches!(officer.may(on), Err(Error::Forbidden)), "{on:?}");
            assert!(Actor::system().may(on).is_ok(), "{on:?}");
        }
        let root_admin = actor(&[(Role::DostAdmin, "/1/")]);
        assert!(root_admin.may(On::NewRoot).is_ok());
        assert!(root_admin.may(On::Registry).is_ok());
        assert!(matches!(root_admin.may(On::System), Err(Error::Forbidden)));
        let sub_admin = actor(&[(Role::DostAdmin, "/1/5/")]);
        assert!(matches!(sub_admin.may(On::NewRoot), Err(Error::Forbidden)));
        assert!(actor(&[]).may(On::Own).is_ok());
    }

    #[test]
    fn nested_grants_collapse_into_the_outer_one() {
        let a = actor(&[(Role::Clerk, "/1/5/9/"), (Role::SignatureOfficer, "/1/5/")]);
        let (sql, params) = a.scope(Permission::ReadRegistry).sql("a.path", 3);
        assert_eq!(sql, "(a.path LIKE $3)");
        assert_eq!(params, vec!["/1/5/%".to_owned()]);
        assert_eq!(
            actor(&[]).scope(Permission::ReadRegistry).sql("p", 1).0,
            "1 = 0"
        );
    }
}
