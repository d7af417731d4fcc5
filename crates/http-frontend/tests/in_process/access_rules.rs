//! Who may see what: the global lists and the per-prefix rules, with the profile the
//! SSO gives at sign-in and at each token re-check.

use http_frontend::{AccessRules, Allowed};
use test_kit::{Browser, HEALTHCHECK_KEY};

use crate::common::{frontend, login, Frontend};

const BROWSER: &str = "text/html,application/xhtml+xml,*/*;q=0.8";

fn list(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const RULES: &str = r#"
[[rule]]
prefix = "finance/"
groups = ["finance"]

[[rule]]
prefix = "finance/public/"
email_domains = ["example.com"]
"#;

async fn with_rules(global: Allowed, file: &str, email: &str, groups: Option<&[&str]>) -> Frontend {
    let rules = AccessRules::from_toml(global, file).expect("rules");
    let email = email.to_string();
    let groups = groups.map(list);
    frontend()
        .settings(|s| s.access_rules = rules)
        .sso(|m| {
            m.user_email = email;
            m.user_groups = groups;
        })
        .redis()
        .start()
        .await
}

#[tokio::test]
async fn the_longest_prefix_decides_and_other_keys_fall_back_to_the_global_lists() {
    let global = Allowed::new(vec![], list(&["example.com"]), vec![]);
    let stack = with_rules(global, RULES, "a.person@example.com", Some(&["staff"])).await;
    for key in [
        "finance/report.csv",
        "finance/public/leaflet.txt",
        "open.txt",
    ] {
        stack.put_object(key, key.as_bytes());
    }
    let browser = Browser::new();
    let leaflet = browser
        .get(&stack.proxy.url("/finance/public/leaflet.txt"))
        .await;
    assert_eq!(leaflet.status, 200, "{:?}", leaflet.redirects);
    assert_eq!(leaflet.body, b"finance/public/leaflet.txt");
    assert_eq!(browser.get(&stack.proxy.url("/open.txt")).await.status, 200);

    let refused = browser
        .get_with(
            &stack.proxy.url("/finance/report.csv"),
            &[("accept", BROWSER)],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    assert_eq!(
        refused.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let page = refused.text();
    assert!(page.contains("a.person@example.com"), "{page}");
    assert!(page.contains(r#"href="/__sign_out""#), "{page}");
    // The rules answer before S3 is asked: a key that does not exist is refused too.
    let missing = browser.get(&stack.proxy.url("/finance/nothing-here")).await;
    assert_eq!(missing.status, 403);
    assert!(stack
        .metrics
        .render()
        .contains("s3proxy_access_denied_total 2\n"));
    // The profile is kept with the session, for the token's TTL.
    let profiles = stack
        .redis()
        .keys("s3proxy__assets_session_id__*__profile")
        .await;
    assert_eq!(profiles.len(), 1, "{profiles:?}");
    assert!((35990..=36000).contains(&stack.redis().ttl(&profiles[0]).await));
}

#[tokio::test]
async fn a_group_opens_its_folder_and_a_related_email_counts() {
    let stack = with_rules(
        Allowed::new(list(&["Other.Address@Elsewhere.org"]), vec![], vec![]),
        RULES,
        "f.person@elsewhere.org",
        Some(&["finance"]),
    )
    .await;
    stack
        .sso
        .update(|m| m.user_related_emails = list(&["other.address@elsewhere.org"]));
    stack.put_object("finance/report.csv", b"numbers");
    stack.put_object("open.txt", b"open");
    let browser = Browser::new();
    let report = browser.get(&stack.proxy.url("/finance/report.csv")).await;
    assert_eq!(report.status, 200, "{:?}", report.redirects);
    // Not in the global list by `email`, but by a related email (any case).
    assert_eq!(browser.get(&stack.proxy.url("/open.txt")).await.status, 200);
}

#[tokio::test]
async fn non_browsers_get_plain_text_and_the_healthcheck_stays_public() {
    let global = Allowed::new(list(&["nobody@example.com"]), vec![], vec![]);
    let stack = with_rules(global, "", "someone@example.com", None).await;
    stack.put_object("x.txt", b"x");
    stack.put_object(HEALTHCHECK_KEY, b"ok");
    let health = Browser::without_cookies()
        .get(&stack.proxy.url(&format!("/{HEALTHCHECK_KEY}")))
        .await;
    assert_eq!(health.status, 200);
    let browser = Browser::new();
    let refused = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!(refused.status, 403, "{:?}", refused.redirects);
    assert_eq!(
        refused.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(refused.text().contains("someone@example.com"));
    // Still refused, and never sent round a loop of redirects.
    let again = browser.get(&stack.proxy.url("/x.txt")).await;
    assert_eq!((again.status.as_u16(), again.redirects.len()), (403, 0));
}

#[tokio::test]
async fn the_email_on_the_page_is_html_escaped() {
    let global = Allowed::new(list(&["nobody@example.com"]), vec![], vec![]);
    let stack = with_rules(global, "", "<script>x</script>@example.com", None).await;
    stack.put_object("x.txt", b"x");
    let page = Browser::new()
        .get_with(&stack.proxy.url("/x.txt"), &[("accept", BROWSER)])
        .await;
    assert_eq!(page.status, 403);
    assert!(!page.text().contains("<script>"));
    assert!(page
        .text()
        .contains("&lt;script&gt;x&lt;/script&gt;@example.com"));
}

#[tokio::test]
async fn without_rules_no_profile_is_fetched_or_kept() {
    let stack = frontend().redis().start().await;
    let browser = Browser::new();
    login(&stack, &browser).await;
    assert_eq!(stack.sso.me_calls(), 0, "user/me asked at sign-in");
    assert_eq!(stack.store.profiles_saved(), 0);
    assert!(stack.redis().keys("*__profile").await.is_empty());
}

#[tokio::test]
async fn a_session_from_before_the_rules_gets_its_profile_at_its_next_request() {
    let global = Allowed::new(vec![], list(&["example.com"]), vec![]);
    let stack = with_rules(global, "", "a@example.com", None).await;
    stack.put_object("x.txt", b"x");
    let redis = stack.redis();
    // As the Python service (or this one without rules) left it: token and marker only.
    let id = "PythonMadeSessionId";
    redis
        .set(
            &format!("s3proxy__assets_session_id__{id}__sso_token"),
            "test-token",
            36000,
        )
        .await;
    redis
        .set(
            &format!("s3proxy__assets_session_id__{id}__sso_token_checked"),
            "checked",
            3600,
        )
        .await;
    let response = Browser::without_cookies()
        .client()
        .get(stack.proxy.url("/x.txt"))
        .header("cookie", format!("assets_session_id={id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(stack.sso.me_calls(), 1);
    assert!(redis
        .get(&format!("s3proxy__assets_session_id__{id}__profile"))
        .await
        .is_some_and(|p| p.contains("a@example.com")));
}
