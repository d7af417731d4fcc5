//! Who signed in, as the provider describes them: what access rules are decided on.

use serde_json::{Map, Value};

/// What the provider says about the signed-in person.
///
/// Its `Debug` shows only counts and group names: emails and the subject are personal
/// data and stay out of logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Profile {
    /// OpenID Connect: `sub`. Staff SSO: `user_id`, when it is a string.
    pub subject: Option<String>,
    /// Every email that identifies the person, in the provider's order, without
    /// duplicates. OpenID Connect: `email`, unless `email_verified` is false. Staff SSO:
    /// `email` then `related_emails`.
    pub emails: Vec<String>,
    /// The groups claim (OpenID Connect: `OIDC_GROUPS_CLAIM`; staff SSO: `groups`) when
    /// the provider sent it as a list of strings; `None` when it sent no such list.
    pub groups: Option<Vec<String>>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("subject", &self.subject.as_ref().map(|_| "<redacted>"))
            .field("emails", &self.emails.len())
            .field("groups", &self.groups)
            .finish()
    }
}

impl Profile {
    /// The staff SSO's `api/v1/user/me/` answer.
    pub(crate) fn from_staff_me(me: &Map<String, Value>) -> Profile {
        let mut profile = Profile {
            subject: string(me, "user_id"),
            emails: Vec::new(),
            groups: string_list(me, "groups"),
        };
        profile.add_email(string(me, "email"));
        for email in string_items(me, "related_emails") {
            profile.add_email(Some(email));
        }
        profile
    }

    /// OpenID Connect claims (from the ID token or userinfo).
    pub(crate) fn from_claims(claims: &Map<String, Value>, groups_claim: &str) -> Profile {
        let mut profile = Profile {
            subject: string(claims, "sub"),
            emails: Vec::new(),
            groups: string_list(claims, groups_claim),
        };
        if email_verified(claims) {
            profile.add_email(string(claims, "email"));
        }
        profile
    }

    /// This profile updated with a newer one: what the newer one says wins, and what it
    /// does not say at all (no email, no groups claim) is kept. Some providers put the
    /// groups in the ID token only, others in userinfo only.
    pub fn updated_with(self, newer: Profile) -> Profile {
        Profile {
            subject: newer.subject.or(self.subject),
            emails: if newer.emails.is_empty() {
                self.emails
            } else {
                newer.emails
            },
            groups: newer.groups.or(self.groups),
        }
    }

    fn add_email(&mut self, email: Option<String>) {
        if let Some(email) = email.filter(|e| !e.is_empty()) {
            if !self.emails.contains(&email) {
                self.emails.push(email);
            }
        }
    }
}

fn string(object: &Map<String, Value>, name: &str) -> Option<String> {
    object
        .get(name)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// The strings of a list, ignoring anything else in it.
fn string_items(object: &Map<String, Value>, name: &str) -> Vec<String> {
    match object.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// A list of strings, only when every item is a string.
fn string_list(object: &Map<String, Value>, name: &str) -> Option<Vec<String>> {
    match object.get(name) {
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect(),
        _ => None,
    }
}

/// `email_verified` false (or `"false"`, as some providers send it) disqualifies the
/// email; absent, it is taken as the provider's word.
fn email_verified(claims: &Map<String, Value>) -> bool {
    match claims.get("email_verified") {
        Some(Value::Bool(verified)) => *verified,
        Some(Value::String(s)) => !s.eq_ignore_ascii_case("false"),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        }
    }

    #[test]
    fn staff_me_with_related_emails_and_groups() {
        let p = Profile::from_staff_me(&object(json!({
            "email": "a@example.gov.uk",
            "related_emails": ["b@example.com", "a@example.gov.uk", 7, ""],
            "groups": ["finance", "staff"],
            "user_id": "1234",
            "first_name": "A",
        })));
        assert_eq!(p.emails, ["a@example.gov.uk", "b@example.com"]);
        assert_eq!(p.groups, Some(vec!["finance".into(), "staff".into()]));
        assert_eq!(p.subject.as_deref(), Some("1234"));
    }

    #[test]
    fn staff_me_without_lists() {
        let p = Profile::from_staff_me(&object(json!({
            "email": "a@example.gov.uk",
            "groups": "finance",
            "related_emails": "x@example.com",
        })));
        assert_eq!(p.emails, ["a@example.gov.uk"]);
        assert_eq!(p.groups, None);
        let p = Profile::from_staff_me(&object(json!({"groups": ["a", 1]})));
        assert_eq!(
            p.groups, None,
            "a list with a non-string is no list of strings"
        );
        assert!(p.emails.is_empty());
    }

    #[test]
    fn oidc_claims_honour_email_verified_and_the_groups_claim() {
        let claims = json!({
            "sub": "s-1",
            "email": "a@example.com",
            "email_verified": true,
            "roles": ["admin"],
            "groups": ["ignored"],
        });
        let p = Profile::from_claims(&object(claims.clone()), "roles");
        assert_eq!(p.subject.as_deref(), Some("s-1"));
        assert_eq!(p.emails, ["a@example.com"]);
        assert_eq!(p.groups, Some(vec!["admin".into()]));

        for unverified in [json!(false), json!("false"), json!("FALSE")] {
            let mut c = object(claims.clone());
            c.insert("email_verified".into(), unverified);
            assert!(Profile::from_claims(&c, "groups").emails.is_empty());
        }
        let mut c = object(claims);
        c.remove("email_verified");
        assert_eq!(Profile::from_claims(&c, "groups").emails, ["a@example.com"]);
    }

    #[test]
    fn newer_profiles_win_where_they_say_something() {
        let old = Profile {
            subject: Some("s".into()),
            emails: vec!["old@example.com".into()],
            groups: Some(vec!["g".into()]),
        };
        let kept = old.clone().updated_with(Profile::default());
        assert_eq!(kept, old);
        let newer = Profile {
            subject: Some("s".into()),
            emails: vec!["new@example.com".into()],
            groups: Some(Vec::new()),
        };
        assert_eq!(old.updated_with(newer.clone()), newer);
    }

    #[test]
    fn debug_hides_emails_and_subject() {
        let p = Profile {
            subject: Some("subject-value".into()),
            emails: vec!["a.person@example.com".into()],
            groups: Some(vec!["finance".into()]),
        };
        let text = format!("{p:?}");
        assert!(!text.contains("a.person"), "{text}");
        assert!(!text.contains("subject-value"), "{text}");
        assert!(text.contains("finance"), "{text}");
    }
}
