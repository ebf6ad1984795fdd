//! Who may see what: users (inline in config or in a users file), roles (dashboards, datasets, features) and row
//! rules, resolved for one user into what the web layer enforces and the query layer applies.
//!
//! Everything here denies by default: a role grants nothing it does not name, a user with no role sees nothing,
//! and where any role has row rules for a dataset a user matching none of them sees no rows of it.

mod roles;
mod row_rules;
mod users_file;

pub use roles::{ADMIN, Feature, Grant, RoleConfig, Roles};
pub use row_rules::{RowGrant, RowRule, RowScope, RuleValues};
pub use users_file::{Attribute, UserRecord, UsersFile};
