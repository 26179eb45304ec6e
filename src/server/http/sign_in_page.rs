//! The HTML of the portal's OAuth pages: the sign-in form of `oauth2/authorize` (the OAuth
//! parameters carried as hidden fields, a user name and a password field), the page that shows an
//! authorization code for `urn:ietf:wg:oauth:2.0:oob`, and the error page for a request that
//! cannot be redirected (unknown `client_id`, unregistered `redirect_uri`). Every value is
//! HTML-escaped; the pages forbid framing, scripts and caching. Knows nothing of OAuth itself.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Where the form posts (the authorize endpoint itself).
pub(super) const AUTHORIZE_PATH: &str = "/sharing/rest/oauth2/authorize";

/// The sign-in form; `error` is shown above it.
pub(super) fn form(hidden: &[(&str, &str)], username: &str, error: Option<&str>) -> Response {
    let fields: String = hidden
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let error = error
        .map(|e| format!("<p class=\"error\" id=\"error\">{}</p>\n", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1>\n{error}<form method=\"post\" action=\"{AUTHORIZE_PATH}\">\n{fields}\
         <label>Username <input type=\"text\" name=\"username\" value=\"{}\" autocomplete=\"username\" required></label>\n\
         <label>Password <input type=\"password\" name=\"password\" autocomplete=\"current-password\" required></label>\n\
         <button type=\"submit\">Sign In</button>\n</form>",
        escape(username)
    );
    page(StatusCode::OK, "Sign In", &body)
}

/// The page showing an authorization code to copy (out-of-band redirect).
pub(super) fn code_page(code: &str) -> Response {
    let body = format!(
        "<h1>Signed in</h1>\n<p>Copy this code and paste it into the application:</p>\n\
         <p><code id=\"code\">{}</code></p>",
        escape(code)
    );
    page(StatusCode::OK, "Signed in", &body)
}

/// An error page (the request is not redirected anywhere).
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let body = format!(
        "<h1>Error {}</h1>\n<p class=\"error\" id=\"error\">{}</p>",
        status.as_u16(),
        escape(message)
    );
    page(status, "Error", &body)
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>body{{font-family:sans-serif;max-width:24em;margin:3em auto}}\
         label{{display:block;margin:.8em 0}}input{{width:100%}}.error{{color:#b00}}</style>\n\
         </head>\n<body>\n{body}\n</body>\n</html>\n",
        escape(title)
    );
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// Escapes text for HTML content and double-quoted attributes.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(
            escape("\"><script>&'"),
            "&quot;&gt;&lt;script&gt;&amp;&#39;"
        );
    }
}
