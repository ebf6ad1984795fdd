//! Roles from config: each names the dashboards, datasets and features it opens and its row rules per dataset.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Deserializer, Serialize};

use super::row_rules::{RowGrant, RowScope, RuleValues};
use super::users_file::UserRecord;
use crate::error::{Error, Result};
use crate::filters::Restriction;
use crate::semantic::SemanticModel;

/// What a role opens among dashboards or datasets: everything (`"*"`) or the listed ids.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Grant {
    All,
    #[default]
    None,
    Only(BTreeSet<String>),
}

impl Grant {
    pub fn allows(&self, id: &str) -> bool {
        match self {
            Grant::All => true,
            Grant::None => false,
            Grant::Only(ids) => ids.contains(id),
        }
    }

    fn ids(&self) -> impl Iterator<Item = &String> {
        match self {
            Grant::Only(ids) => Some(ids.iter()),
            _ => None,
        }
        .into_iter()
        .flatten()
    }
}

impl<'de> Deserialize<'de> for Grant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Star(String),
            List(Vec<String>),
        }
        match Repr::deserialize(d)? {
            Repr::Star(s) if s == "*" => Ok(Grant::All),
            Repr::Star(s) => Err(serde::de::Error::custom(format!(
                "`{s}`: expected \"*\" (everything) or a list of ids"
            ))),
            Repr::List(ids) if ids.is_empty() => Ok(Grant::None),
            Repr::List(ids) => Ok(Grant::Only(ids.into_iter().collect())),
        }
    }
}

/// What a role may do beyond opening dashboards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    /// Download a chart's rows as CSV.
    Export,
    /// See the dataset rows behind a chart ("view rows").
    ViewRows,
    /// The datasets list and each dataset's profile page.
    DatasetPages,
    /// Ask the AI chat about a dataset.
    Chat,
    /// Edit and re-run the SQL of a chat answer (still in the sandbox, under the user's row rules).
    ChatSql,
}

impl Feature {
    pub const ALL: [Feature; 5] = [
        Feature::Export,
        Feature::ViewRows,
        Feature::DatasetPages,
        Feature::Chat,
        Feature::ChatSql,
    ];

    /// How the feature is named to users.
    pub fn label(self) -> &'static str {
        match self {
            Feature::Export => "CSV export",
            Feature::ViewRows => "view rows",
            Feature::DatasetPages => "datasets pages",
            Feature::Chat => "chat",
            Feature::ChatSql => "chat SQL editing",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Feature::Export => "export",
            Feature::ViewRows => "view_rows",
            Feature::DatasetPages => "dataset_pages",
            Feature::Chat => "chat",
            Feature::ChatSql => "chat_sql",
        }
    }
}

/// One role under `auth.roles`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoleConfig {
    /// Dashboards this role may open (`"*"` or ids); a dashboard also needs its dataset granted.
    pub dashboards: Grant,
    /// Datasets whose dashboards, pages and chat this role may use (`"*"` or ids).
    pub datasets: Grant,
    pub features: BTreeSet<Feature>,
    /// Row rules by dataset id: `all`, or rules of which a row must match one; `"*": all` for every dataset.
    pub rows: BTreeMap<String, RowGrant>,
}

/// The name of the role that opens everything; it exists even when config defines no roles.
pub const ADMIN: &str = "admin";

/// The `rows` key that stands for every dataset (only `all` may follow it).
const EVERY_DATASET: &str = "*";

/// Every role, checked once, and which datasets have row rules (those deny rows to users without one).
#[derive(Debug, Clone)]
pub struct Roles {
    roles: BTreeMap<String, RoleConfig>,
    ruled: BTreeSet<String>,
}

impl Roles {
    /// The configured roles plus the built-in `admin` (everything, every row) unless config defines its own.
    pub fn new(mut roles: BTreeMap<String, RoleConfig>) -> Self {
        roles
            .entry(ADMIN.to_string())
            .or_insert_with(|| RoleConfig {
                dashboards: Grant::All,
                datasets: Grant::All,
                features: Feature::ALL.into_iter().collect(),
                rows: BTreeMap::from([(EVERY_DATASET.to_string(), RowGrant::All)]),
            });
        let ruled = roles
            .values()
            .flat_map(|r| {
                r.rows
                    .iter()
                    .filter(|(_, g)| matches!(g, RowGrant::Rules(_)))
                    .map(|(d, _)| d.clone())
            })
            .collect();
        Self { roles, ruled }
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }

    /// Checks that every id a role names exists, and every user's roles: a typo would silently grant nothing.
    pub fn check(
        &self,
        dashboards: &BTreeSet<String>,
        datasets: &BTreeMap<String, BTreeSet<String>>,
        users: &[UserRecord],
    ) -> Result<()> {
        for (name, role) in &self.roles {
            let at = |field: &str| format!("auth.roles.{name}.{field}");
            if let Some(id) = role.dashboards.ids().find(|id| !dashboards.contains(*id)) {
                return Err(Error::config(
                    at("dashboards"),
                    format!("no dashboard `{id}`"),
                ));
            }
            if let Some(id) = role.datasets.ids().find(|id| !datasets.contains_key(*id)) {
                return Err(Error::config(at("datasets"), format!("no dataset `{id}`")));
            }
            for (dataset, grant) in &role.rows {
                if dataset == EVERY_DATASET {
                    if *grant != RowGrant::All {
                        return Err(Error::config(
                            at("rows.*"),
                            "only `all` may be given for every dataset",
                        ));
                    }
                    continue;
                }
                let Some(dimensions) = datasets.get(dataset) else {
                    return Err(Error::config(at("rows"), format!("no dataset `{dataset}`")));
                };
                grant
                    .check(dimensions)
                    .map_err(|m| Error::config(at(&format!("rows.{dataset}")), m))?;
            }
        }
        for u in users {
            if let Some(r) = u.roles.iter().find(|r| !self.roles.contains_key(*r)) {
                return Err(Error::config(
                    format!("user `{}`", u.username),
                    format!(
                        "no role `{r}` (roles: {})",
                        self.names().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks that every role a single sign-on mapping at `field` grants exists (a typo would sign users in with
    /// nothing to open).
    pub fn check_granted<'a>(
        &self,
        field: &str,
        granted: impl IntoIterator<Item = &'a String>,
    ) -> Result<()> {
        for r in granted {
            if !self.roles.contains_key(r) {
                return Err(Error::config(
                    field,
                    format!(
                        "no role `{r}` (roles: {})",
                        self.names().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Checks that the literal values of every role's rules for `dataset` parse as their dimensions' types in
    /// `model` (a loaded version), so a typo stops the start rather than failing requests later. Values bound to
    /// user attributes are typed when a user's rows are compiled.
    pub fn check_values(&self, dataset: &str, model: &SemanticModel) -> Result<()> {
        for (name, role) in &self.roles {
            let Some(RowGrant::Rules(rules)) = role.rows.get(dataset) else {
                continue;
            };
            for (i, rule) in rules.iter().enumerate() {
                let literal: BTreeMap<String, Vec<String>> = rule
                    .0
                    .iter()
                    .filter_map(|(d, v)| match v {
                        RuleValues::Values(v) => Some((d.clone(), v.clone())),
                        RuleValues::Attribute(_) => None,
                    })
                    .collect();
                if literal.is_empty() {
                    continue;
                }
                Restriction::compile(&RowScope::Only(vec![literal]), model).map_err(|e| {
                    let message = match e {
                        Error::Config { message, .. } => message,
                        other => other.to_string(),
                    };
                    Error::config(
                        format!("auth.roles.{name}.rows.{dataset}"),
                        format!("rule {}: {message}", i + 1),
                    )
                })?;
            }
        }
        Ok(())
    }

    fn of<'a>(&'a self, roles: &'a [String]) -> impl Iterator<Item = &'a RoleConfig> {
        roles.iter().filter_map(|r| self.roles.get(r))
    }

    /// Whether any of `roles` opens the dashboard `id` over `dataset`.
    pub fn dashboard(&self, roles: &[String], id: &str, dataset: &str) -> bool {
        self.of(roles).any(|r| r.dashboards.allows(id)) && self.dataset(roles, dataset)
    }

    pub fn dataset(&self, roles: &[String], id: &str) -> bool {
        self.of(roles).any(|r| r.datasets.allows(id))
    }

    pub fn feature(&self, roles: &[String], feature: Feature) -> bool {
        self.of(roles).any(|r| r.features.contains(&feature))
    }

    /// The rows of `dataset` a user with `roles` and `attributes` may see: every row where no role has row rules
    /// for it; else the union of what the user's roles allow (`all` for any wins), and none without a rule.
    pub fn rows(
        &self,
        roles: &[String],
        attributes: &BTreeMap<String, Vec<String>>,
        dataset: &str,
    ) -> RowScope {
        if !self.ruled.contains(dataset) {
            return RowScope::All;
        }
        let mut alternatives = Vec::new();
        for role in self.of(roles) {
            match role.rows.get(dataset).or(role.rows.get(EVERY_DATASET)) {
                Some(RowGrant::All) => return RowScope::All,
                Some(RowGrant::Rules(rules)) => {
                    alternatives.extend(rules.iter().filter_map(|r| r.resolve(attributes)))
                }
                None => {}
            }
        }
        RowScope::only(alternatives)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roles(yaml: &str) -> Roles {
        Roles::new(serde_yaml::from_str(yaml).unwrap())
    }

    fn attrs(pairs: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
            .collect()
    }

    const ROLES: &str = "
viewer: {dashboards: [sales], datasets: '*'}
japan:
  dashboards: '*'
  datasets: [orders]
  features: [export]
  rows: {orders: [{country: [Japan, Korea]}]}
regional:
  datasets: [orders]
  rows: {orders: [{sub_region: '{{user.region}}', team: Web}]}
everything: {datasets: '*', rows: {orders: all}}
";

    #[test]
    fn grants_only_what_roles_name() {
        let r = roles(ROLES);
        let v = ["viewer".to_string()];
        assert!(r.dashboard(&v, "sales", "orders"));
        assert!(!r.dashboard(&v, "costs", "orders"));
        assert!(!r.feature(&v, Feature::Export));
        let j = ["japan".to_string()];
        assert!(r.dashboard(&j, "costs", "orders"));
        assert!(
            !r.dashboard(&j, "costs", "usage"),
            "its dataset is not granted"
        );
        assert!(r.feature(&j, Feature::Export));
        assert!(!r.dashboard(&[], "sales", "orders"), "no role, nothing");
        let admin = [ADMIN.to_string()];
        assert!(r.dashboard(&admin, "anything", "any"));
        assert!(r.feature(&admin, Feature::Chat));
    }

    #[test]
    fn rows_are_the_union_of_the_roles_rules_and_none_without_one() {
        let r = roles(ROLES);
        let none = BTreeMap::new();
        // No role has rules for `usage`: every row.
        assert_eq!(r.rows(&["viewer".into()], &none, "usage"), RowScope::All);
        // Rules exist for `orders`: a role without one sees nothing.
        assert_eq!(
            r.rows(&["viewer".into()], &none, "orders"),
            RowScope::none()
        );
        assert_eq!(r.rows(&[], &none, "orders"), RowScope::none());
        let japan = r.rows(&["japan".into()], &none, "orders");
        assert_eq!(japan.canonical(), "country=Japan|Korea");
        // Bound to an attribute the user lacks: that rule matches nothing.
        assert_eq!(
            r.rows(&["regional".into()], &none, "orders"),
            RowScope::none()
        );
        let apac = attrs(&[("region", &["APAC"])]);
        let both = r.rows(&["japan".into(), "regional".into()], &apac, "orders");
        assert_eq!(
            both.canonical(),
            "country=Japan|Korea;sub_region=APAC&team=Web"
        );
        assert_eq!(
            r.rows(&["japan".into(), "everything".into()], &none, "orders"),
            RowScope::All
        );
        assert_eq!(r.rows(&[ADMIN.into()], &none, "orders"), RowScope::All);
    }

    #[test]
    fn names_what_does_not_exist() {
        let r = roles(ROLES);
        let boards = ["sales".to_string(), "costs".into()].into_iter().collect();
        let mut datasets = BTreeMap::new();
        datasets.insert(
            "orders".to_string(),
            ["country", "sub_region", "team"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        );
        r.check(&boards, &datasets, &[]).unwrap();
        let bad = roles("x: {dashboards: [salse]}");
        let e = bad.check(&boards, &datasets, &[]).unwrap_err().to_string();
        assert!(
            e.contains("auth.roles.x.dashboards") && e.contains("salse"),
            "{e}"
        );
        let bad = roles("x: {rows: {orders: [{contry: [Japan]}]}}");
        let e = bad.check(&boards, &datasets, &[]).unwrap_err().to_string();
        assert!(
            e.contains("auth.roles.x.rows.orders") && e.contains("contry"),
            "{e}"
        );
        let err = serde_yaml::from_str::<BTreeMap<String, RoleConfig>>("x: {features: [exprt]}")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exprt"), "{err}");
    }
}
