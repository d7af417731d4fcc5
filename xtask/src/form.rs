//! Just enough HTML form reading for the smoke test to press the SSO mock's Sign in
//! button: the form's action and its hidden fields.

use crate::Result;

/// A page's form: where it posts and its hidden fields.
pub struct Form {
    /// Where it posts, as written in the page.
    pub action: String,
    /// Hidden inputs' names and (unescaped) values, in page order.
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn parse(html: &str) -> Result<Form> {
        let forms = tags(html, "form");
        let form_tag = forms.first().ok_or("the page has no <form>")?;
        let action = attribute(form_tag, "action").unwrap_or_default();
        let fields: Vec<(String, String)> = tags(html, "input")
            .into_iter()
            .filter(|tag| attribute(tag, "type").as_deref() == Some("hidden"))
            .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
            .collect();
        if fields.is_empty() {
            return Err("the form has no hidden fields".into());
        }
        Ok(Form { action, fields })
    }
}

/// The inside of each `<name ...>` tag of `html`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
    let open = format!("<{name} ");
    html.match_indices(&open)
        .filter_map(|(i, _)| {
            let rest = &html[i + open.len()..];
            rest.find('>').map(|end| &rest[..end])
        })
        .collect()
}

/// The unescaped value of a double-quoted attribute.
fn attribute(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// `action` made absolute against the page's URL.
pub fn resolve(page: &str, action: &str) -> String {
    if action.starts_with("http://") || action.starts_with("https://") {
        return action.to_owned();
    }
    let after_scheme = page.find("://").map_or(0, |i| i + 3);
    let origin_end = page[after_scheme..]
        .find('/')
        .map_or(page.len(), |i| i + after_scheme);
    if action.is_empty() {
        page.to_owned()
    } else {
        format!("{}{action}", &page[..origin_end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sign_in_form() {
        let html = "<form method=\"post\" action=\"/o/authorize/\">\n\
            <input type=\"hidden\" name=\"state\" value=\"a&amp;b\">\n\
            <input type=\"hidden\" name=\"scope\" value=\"read write\">\n\
            <input type=\"text\" name=\"other\" value=\"x\">\n\
            <button type=\"submit\">Sign in</button></form>";
        let form = Form::parse(html).unwrap();
        assert_eq!(form.action, "/o/authorize/");
        assert_eq!(
            form.fields,
            [
                ("state".to_owned(), "a&b".to_owned()),
                ("scope".to_owned(), "read write".to_owned())
            ]
        );
        assert!(Form::parse("<p>no form</p>").is_err());
    }

    #[test]
    fn resolves_actions() {
        let page = "http://localhost:8081/o/authorize/?state=x";
        assert_eq!(
            resolve(page, "/o/authorize/"),
            "http://localhost:8081/o/authorize/"
        );
        assert_eq!(resolve(page, "http://a/b"), "http://a/b");
        assert_eq!(resolve(page, ""), page);
    }
}
