//! Who may see what: lists of emails, email domains and groups, globally and per path
//! prefix.

use serde::Deserialize;
use sso_client::Profile;

/// Who is allowed: a person matching any list. Emails and domains are compared
/// ASCII-case-insensitively, groups exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowed {
    emails: Vec<String>,
    email_domains: Vec<String>,
    groups: Vec<String>,
}

impl Allowed {
    /// Who is allowed, from the lists as configured: entries are trimmed, emails and domains
    /// lower-cased, a domain's leading `@` dropped.
    pub fn new(emails: Vec<String>, email_domains: Vec<String>, groups: Vec<String>) -> Allowed {
        Allowed {
            emails: emails
                .iter()
                .map(|e| e.trim().to_ascii_lowercase())
                .collect(),
            email_domains: email_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect(),
            groups: groups.iter().map(|g| g.trim().to_string()).collect(),
        }
    }

    /// No list at all.
    pub fn is_empty(&self) -> bool {
        self.emails.is_empty() && self.email_domains.is_empty() && self.groups.is_empty()
    }

    fn allows(&self, profile: &Profile) -> bool {
        let by_email = profile.emails.iter().any(|email| {
            let email = email.to_ascii_lowercase();
            let domain = email.rsplit_once('@').map(|(_, d)| d);
            self.emails.contains(&email)
                || domain.is_some_and(|d| self.email_domains.iter().any(|allowed| allowed == d))
        });
        by_email
            || profile
                .groups
                .iter()
                .flatten()
                .any(|group| self.groups.contains(group))
    }
}

/// One rule of the file: the people allowed under a prefix of the path.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    prefix: String,
    allowed: Allowed,
}

/// The access rules: per prefix (the longest matching prefix decides), else the global
/// lists; with neither, everyone who signs in is allowed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    global: Allowed,
    /// Longest prefix first.
    rules: Vec<Rule>,
}

/// A rules file that cannot be used, naming the rule (1-based) where it can.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// Not TOML, or not the rules file's shape (the message says where).
    #[error("not a rules file: {0}")]
    Syntax(String),
    /// Two rules for one prefix: which one applies would be a guess.
    #[error("rule {index} (prefix {prefix:?}): the same prefix as rule {first}")]
    DuplicatePrefix {
        /// The later rule (1-based).
        index: usize,
        /// The earlier rule with that prefix (1-based).
        first: usize,
        /// The prefix they share.
        prefix: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default, rename = "rule")]
    rules: Vec<FileRule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileRule {
    prefix: String,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default)]
    email_domains: Vec<String>,
    #[serde(default)]
    groups: Vec<String>,
}

impl AccessRules {
    /// Only the global lists (`ALLOWED_EMAILS`, `ALLOWED_EMAIL_DOMAINS`, `ALLOWED_GROUPS`).
    pub fn global(allowed: Allowed) -> AccessRules {
        AccessRules {
            global: allowed,
            rules: Vec::new(),
        }
    }

    /// The global lists and the rules of a TOML file (`[[rule]]` tables with `prefix`
    /// and any of `emails`, `email_domains`, `groups`; a rule with no list allows
    /// nobody). Unknown fields and repeated prefixes are refused.
    pub fn from_toml(global: Allowed, text: &str) -> Result<AccessRules, RulesError> {
        let file: File = toml::from_str(text).map_err(|e| RulesError::Syntax(syntax(&e, text)))?;
        let mut seen: Vec<&str> = Vec::new();
        for (i, rule) in file.rules.iter().enumerate() {
            if let Some(first) = seen.iter().position(|p| *p == rule.prefix) {
                return Err(RulesError::DuplicatePrefix {
                    index: i + 1,
                    first: first + 1,
                    prefix: rule.prefix.clone(),
                });
            }
            seen.push(&rule.prefix);
        }
        let mut rules: Vec<Rule> = file
            .rules
            .into_iter()
            .map(|r| Rule {
                prefix: r.prefix,
                allowed: Allowed::new(r.emails, r.email_domains, r.groups),
            })
            .collect();
        rules.sort_by_key(|r| std::cmp::Reverse(r.prefix.len()));
        Ok(AccessRules { global, rules })
    }

    /// Whether any rule or list is set: only then is a profile needed.
    pub fn is_configured(&self) -> bool {
        !self.global.is_empty() || !self.rules.is_empty()
    }

    /// Whether `profile`'s person may read `path` (percent-decoded, without its leading
    /// `/`). No profile: only where nothing restricts.
    pub fn allows(&self, path: &str, profile: Option<&Profile>) -> bool {
        let allowed = match self.rules.iter().find(|r| path.starts_with(&r.prefix)) {
            Some(rule) => &rule.allowed,
            None if self.global.is_empty() => return true,
            None => &self.global,
        };
        profile.is_some_and(|p| allowed.allows(p))
    }
}

/// toml's message, with the number of the `[[rule]]` table it is in when it names a
/// place.
fn syntax(e: &toml::de::Error, text: &str) -> String {
    let message = e.message().to_string();
    let Some(span) = e.span() else {
        return message;
    };
    let before = &text[..span.start.min(text.len())];
    match before.matches("[[rule]]").count() {
        0 => message,
        n => format!("rule {n}: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(emails: &[&str], groups: Option<&[&str]>) -> Profile {
        Profile {
            subject: None,
            emails: emails.iter().map(|e| e.to_string()).collect(),
            groups: groups.map(|g| g.iter().map(|s| s.to_string()).collect()),
        }
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    const FILE: &str = r#"
[[rule]]
prefix = "finance/"
groups = ["finance"]

[[rule]]
prefix = "finance/public/"
email_domains = ["example.gov.uk"]

[[rule]]
prefix = "locked/"
"#;

    #[test]
    fn with_nothing_configured_everyone_signed_in_may_read_everything() {
        let rules = AccessRules::default();
        assert!(!rules.is_configured());
        assert!(rules.allows("anything", Some(&person(&["a@b.c"], None))));
    }

    #[test]
    fn global_lists_match_email_domain_or_group_ignoring_case_of_emails() {
        let rules = AccessRules::global(Allowed::new(
            list(&["A.Person@Example.com"]),
            list(&["@Example.GOV.uk"]),
            list(&["staff"]),
        ));
        assert!(rules.is_configured());
        assert!(rules.allows("x", Some(&person(&["a.person@example.com"], None))));
        assert!(rules.allows("x", Some(&person(&["someone@EXAMPLE.gov.uk"], None))));
        assert!(rules.allows("x", Some(&person(&["x@y.z", "other@example.gov.uk"], None))));
        assert!(rules.allows("x", Some(&person(&[], Some(&["staff"])))));
        assert!(
            !rules.allows("x", Some(&person(&[], Some(&["Staff"])))),
            "groups are exact"
        );
        assert!(!rules.allows("x", Some(&person(&["a@sub.example.gov.uk"], None))));
        assert!(!rules.allows("x", Some(&person(&["a@example.gov.uk.evil"], None))));
        assert!(!rules.allows("x", None));
    }

    #[test]
    fn the_longest_prefix_decides_and_others_fall_back_to_the_global_lists() {
        let global = Allowed::new(list(&["boss@example.com"]), vec![], vec![]);
        let rules = AccessRules::from_toml(global, FILE).unwrap();
        let finance = person(&["f@elsewhere.com"], Some(&["finance"]));
        let civil = person(&["c@example.gov.uk"], None);
        let boss = person(&["boss@example.com"], None);
        assert!(rules.allows("finance/report.pdf", Some(&finance)));
        assert!(!rules.allows("finance/report.pdf", Some(&civil)));
        assert!(
            !rules.allows("finance/report.pdf", Some(&boss)),
            "the rule, not the global lists"
        );
        assert!(rules.allows("finance/public/leaflet.pdf", Some(&civil)));
        assert!(!rules.allows("finance/public/leaflet.pdf", Some(&finance)));
        assert!(
            !rules.allows("locked/x", Some(&boss)),
            "a rule with no list allows nobody"
        );
        assert!(rules.allows("other/x", Some(&boss)));
        assert!(!rules.allows("other/x", Some(&civil)));
    }

    #[test]
    fn bad_files_name_the_rule() {
        let unknown = "[[rule]]\nprefix = \"a/\"\n\n[[rule]]\nprefix = \"b/\"\nemailz = [\"x\"]\n";
        let e = AccessRules::from_toml(Allowed::default(), unknown)
            .unwrap_err()
            .to_string();
        assert!(e.contains("rule 2") && e.contains("emailz"), "{e}");
        let duplicate =
            "[[rule]]\nprefix = \"a/\"\n[[rule]]\nprefix = \"b/\"\n[[rule]]\nprefix = \"a/\"\n";
        let e = AccessRules::from_toml(Allowed::default(), duplicate)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rule 3") && e.contains("rule 1") && e.contains("\"a/\""),
            "{e}"
        );
        let e = AccessRules::from_toml(Allowed::default(), "[[rule]]\nemails = []\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("prefix"), "{e}");
        assert!(AccessRules::from_toml(Allowed::default(), "not = [toml").is_err());
    }
}
