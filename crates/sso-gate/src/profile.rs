//! What the SSO said of a session's person, kept in the store with the session.

use serde::{Deserialize, Serialize};
use sso_client::Profile;

/// The stored form: JSON, short names, nothing but what access rules read.
#[derive(Serialize, Deserialize)]
struct Kept {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sub: Option<String>,
    #[serde(default)]
    emails: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<Vec<String>>,
}

pub(crate) fn encode(profile: &Profile) -> String {
    let kept = Kept {
        sub: profile.subject.clone(),
        emails: profile.emails.clone(),
        groups: profile.groups.clone(),
    };
    // A struct of strings always serializes.
    serde_json::to_string(&kept).unwrap_or_default()
}

/// `None` for anything that is not a profile we wrote (then it is fetched again).
pub(crate) fn decode(stored: &str) -> Option<Profile> {
    let kept: Kept = serde_json::from_str(stored).ok()?;
    Some(Profile {
        subject: kept.sub,
        emails: kept.emails,
        groups: kept.groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_survives_the_store() {
        let profile = Profile {
            subject: Some("s-1".into()),
            emails: vec!["a@example.gov.uk".into(), "b@example.com".into()],
            groups: Some(vec!["finance".into()]),
        };
        assert_eq!(decode(&encode(&profile)), Some(profile));
        let bare = Profile::default();
        assert_eq!(encode(&bare), r#"{"emails":[]}"#);
        assert_eq!(decode(&encode(&bare)), Some(bare));
        assert_eq!(decode("not json"), None);
    }
}
