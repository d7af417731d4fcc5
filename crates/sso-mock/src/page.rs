//! The "Sign in" page shown by `GET /o/authorize/` when
//! [`MockConfig::login_page`](crate::MockConfig::login_page) is set.

/// A page whose form re-posts `params` to `/o/authorize/`, which then
/// redirects back to the client, like a person clicking "Sign in".
pub(crate) fn login_page(params: &[(String, String)], user_email: &str) -> String {
    let mut inputs = String::new();
    for (name, value) in params {
        inputs.push_str(&format!(
            "      <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(name),
            escape(value)
        ));
    }
    format!(
        "<!DOCTYPE html>\n\
         <html lang=\"en\">\n\
         <head>\n  <meta charset=\"utf-8\">\n  <title>Sign in</title>\n</head>\n\
         <body>\n  <h1>Sign in</h1>\n  <p>This is sso-mock, a stand-in for the real SSO.</p>\n\
         \x20 <form method=\"post\" action=\"/o/authorize/\">\n{inputs}\
         \x20     <button type=\"submit\">Sign in as {}</button>\n  </form>\n</body>\n</html>\n",
        escape(user_email)
    )
}

/// Escapes text for use in HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn page_carries_escaped_params_and_user() {
        let params = vec![("state".to_string(), "\"><script>".to_string())];
        let page = login_page(&params, "a<b>@example.com");
        assert!(page.contains("<title>Sign in</title>"));
        assert!(page.contains("method=\"post\" action=\"/o/authorize/\""));
        assert!(page
            .contains("<input type=\"hidden\" name=\"state\" value=\"&quot;&gt;&lt;script&gt;\">"));
        assert!(page.contains("Sign in as a&lt;b&gt;@example.com</button>"));
        assert!(!page.contains("<script>"));
    }
}
