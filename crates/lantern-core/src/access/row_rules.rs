//! Row rules: which rows of a dataset a role may see, written per dataset as
//! `rows: {orders: [{country: [Japan, Korea]}, {sub_region: "{{user.region}}"}]}` (a row must match one rule;
//! within a rule, every dimension), and resolved for one user into a [`RowScope`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use serde::{Deserialize, Deserializer};

/// A role's row access to one dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowGrant {
    /// Every row (`all`).
    All,
    /// Rows that match at least one rule.
    Rules(Vec<RowRule>),
}

impl<'de> Deserialize<'de> for RowGrant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Word(String),
            Rules(Vec<RowRule>),
        }
        match Repr::deserialize(d)? {
            Repr::Word(w) if w == "all" => Ok(RowGrant::All),
            Repr::Word(w) => Err(serde::de::Error::custom(format!(
                "`{w}`: expected `all` or a list of rules such as `- {{country: [Japan, Korea]}}`"
            ))),
            Repr::Rules(r) => Ok(RowGrant::Rules(r)),
        }
    }
}

impl RowGrant {
    /// Checks that every rule names a dimension of the dataset and has values.
    pub(super) fn check(&self, dimensions: &BTreeSet<String>) -> Result<(), String> {
        let RowGrant::Rules(rules) = self else {
            return Ok(());
        };
        for (i, rule) in rules.iter().enumerate() {
            if rule.0.is_empty() {
                return Err(format!("rule {} names no dimension", i + 1));
            }
            for (dimension, values) in &rule.0 {
                if !dimensions.contains(dimension) {
                    return Err(format!(
                        "rule {}: `{dimension}` is not a dimension of the dataset (dimensions: {})",
                        i + 1,
                        dimensions.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
                if matches!(values, RuleValues::Values(v) if v.is_empty()) {
                    return Err(format!("rule {}: `{dimension}` lists no value", i + 1));
                }
            }
        }
        Ok(())
    }
}

/// One rule: dimension → the values a row's value must be among.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RowRule(pub BTreeMap<String, RuleValues>);

/// A rule's values: literal (one or a list), or a user attribute (`"{{user.region}}"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleValues {
    Values(Vec<String>),
    Attribute(String),
}

impl<'de> Deserialize<'de> for RuleValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Text(String),
            Int(i64),
            Float(f64),
            Bool(bool),
        }
        impl Scalar {
            fn text(self) -> String {
                match self {
                    Scalar::Text(s) => s,
                    Scalar::Int(i) => i.to_string(),
                    Scalar::Float(f) => f.to_string(),
                    Scalar::Bool(b) => b.to_string(),
                }
            }
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            One(Scalar),
            Many(Vec<Scalar>),
        }
        Ok(match Repr::deserialize(d)? {
            Repr::One(s) => {
                let s = s.text();
                match attribute_of(&s) {
                    Some(a) => RuleValues::Attribute(a.to_string()),
                    None => RuleValues::Values(vec![s]),
                }
            }
            Repr::Many(v) => RuleValues::Values(v.into_iter().map(Scalar::text).collect()),
        })
    }
}

/// `region` from `{{user.region}}` (spaces allowed inside the braces).
fn attribute_of(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?.trim();
    inner.strip_prefix("user.").map(str::trim)
}

impl RowRule {
    /// The rule with the user's attributes put in; `None` when it is bound to an attribute the user lacks.
    pub(super) fn resolve(
        &self,
        attributes: &BTreeMap<String, Vec<String>>,
    ) -> Option<BTreeMap<String, Vec<String>>> {
        let mut out = BTreeMap::new();
        for (dimension, values) in &self.0 {
            let mut values = match values {
                RuleValues::Values(v) => v.clone(),
                RuleValues::Attribute(a) => attributes.get(a).filter(|v| !v.is_empty())?.clone(),
            };
            values.sort();
            values.dedup();
            out.insert(dimension.clone(), values);
        }
        Some(out)
    }
}

/// The rows of one dataset one user may see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum RowScope {
    All,
    /// Rows matching any of these (dimension → allowed values, all of them to hold); none when empty.
    Only(Vec<BTreeMap<String, Vec<String>>>),
}

impl RowScope {
    /// No row at all.
    pub fn none() -> Self {
        RowScope::Only(Vec::new())
    }

    /// The alternatives in one order, without repeats, so that equal scopes compare and key equally.
    pub(super) fn only(mut alternatives: Vec<BTreeMap<String, Vec<String>>>) -> Self {
        alternatives.sort();
        alternatives.dedup();
        RowScope::Only(alternatives)
    }

    pub fn is_all(&self) -> bool {
        matches!(self, RowScope::All)
    }

    /// A stable text form for cache keys and logs: `*` for every row, else the alternatives joined by `;`.
    pub fn canonical(&self) -> String {
        let RowScope::Only(alternatives) = self else {
            return "*".into();
        };
        let mut out = String::new();
        for (i, rule) in alternatives.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            for (j, (dimension, values)) in rule.iter().enumerate() {
                if j > 0 {
                    out.push('&');
                }
                // Encoded, so that a value holding `|`, `&` or `;` cannot pass for another rule.
                let enc = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                let _ = write!(out, "{}=", enc(dimension));
                let joined: Vec<String> = values.iter().map(|v| enc(v)).collect();
                out.push_str(&joined.join("|"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_values_attributes_and_all() {
        let g: RowGrant = serde_yaml::from_str(
            "[{country: [Japan, Korea]}, {sub_region: '{{ user.region }}'}, {year: 2025}]",
        )
        .unwrap();
        let RowGrant::Rules(rules) = &g else { panic!() };
        assert_eq!(
            rules[0].0["country"],
            RuleValues::Values(vec!["Japan".into(), "Korea".into()])
        );
        assert_eq!(
            rules[1].0["sub_region"],
            RuleValues::Attribute("region".into())
        );
        assert_eq!(rules[2].0["year"], RuleValues::Values(vec!["2025".into()]));
        assert_eq!(
            serde_yaml::from_str::<RowGrant>("all").unwrap(),
            RowGrant::All
        );
        let e = serde_yaml::from_str::<RowGrant>("everything")
            .unwrap_err()
            .to_string();
        assert!(e.contains("everything"), "{e}");
    }

    #[test]
    fn canonical_forms_cannot_collide() {
        let a = RowScope::only(vec![BTreeMap::from([("c".into(), vec!["a|b".into()])])]);
        let b = RowScope::only(vec![BTreeMap::from([(
            "c".into(),
            vec!["a".into(), "b".into()],
        )])]);
        assert_ne!(a.canonical(), b.canonical());
        assert_eq!(RowScope::none().canonical(), "");
        assert_eq!(RowScope::All.canonical(), "*");
    }
}
