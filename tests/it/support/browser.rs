//! The test as the user's browser at the reference portal's OAuth sign-in page: GET the
//! authorize page, POST its form as a user, and either follow the redirect to the client's
//! loopback listener or read the out-of-band code the page shows. No redirect is followed by
//! itself, so each step is the test's. Over HTTPS the browser takes the certificate the portal
//! presents, as a user who accepted the self-signed demo certificate's warning has.

use url::Url;

/// A browser that follows no redirect.
pub fn browser() -> reqwest::Client {
    trusting(None)
}

/// A browser that follows no redirect and trusts the server certificate at `tls_cert` (PEM).
pub fn trusting(tls_cert: Option<&std::path::Path>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if let Some(path) = tls_cert {
        let pem = std::fs::read(path).unwrap();
        builder = builder.add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap());
    }
    builder.build().unwrap()
}

/// The browser for `url`: over HTTPS it trusts the certificate that host presents.
async fn browser_for(url: &Url) -> reqwest::Client {
    let mut builder = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none());
    if url.scheme() == "https"
        && let Some(cert) = syncwatch::service::presented_certificate(url.as_str()).await
    {
        let pem = cert.to_pem();
        builder =
            builder.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

/// The hidden fields of the sign-in form, as a browser submits them.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.split("name=\"").nth(1)?.split('"').next()?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((name.to_string(), value.replace("&amp;", "&")))
        })
        .collect()
}

/// GETs the authorize page and POSTs its form as `user`; the portal's answer.
pub async fn submit_form(authorize: &str, user: &str, password: &str) -> reqwest::Response {
    let browser = browser_for(&Url::parse(authorize).unwrap()).await;
    submit_form_with(&browser, authorize, user, password).await
}

/// [`submit_form`] with the browser `browser`.
pub async fn submit_form_with(
    browser: &reqwest::Client,
    authorize: &str,
    user: &str,
    password: &str,
) -> reqwest::Response {
    let authorize = Url::parse(authorize).unwrap();
    let page = browser.get(authorize.clone()).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    let mut form = hidden_fields(&html);
    assert!(!form.is_empty(), "{html}");
    form.push(("username".into(), user.into()));
    form.push(("password".into(), password.into()));
    let mut action = authorize;
    action.set_query(None);
    browser.post(action).form(&form).send().await.unwrap()
}

/// Signs in on the page and follows the portal's redirect to the loopback listener; the
/// listener's HTTP status.
pub async fn sign_in_and_follow(authorize: &str, user: &str, password: &str) -> u16 {
    let reply = submit_form(authorize, user, password).await;
    assert_eq!(reply.status().as_u16(), 302);
    let location = reply.headers()["location"].to_str().unwrap().to_string();
    browser()
        .get(location)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Signs in on the page of an out-of-band sign-in; the code it shows.
pub async fn code_from_page(authorize: &str, user: &str, password: &str) -> String {
    let browser = browser_for(&Url::parse(authorize).unwrap()).await;
    code_from_page_with(&browser, authorize, user, password).await
}

/// [`code_from_page`] with the browser `browser`.
pub async fn code_from_page_with(
    browser: &reqwest::Client,
    authorize: &str,
    user: &str,
    password: &str,
) -> String {
    let page = submit_form_with(browser, authorize, user, password).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    html.split("<code id=\"code\">")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .map(|c| c.replace("&amp;", "&"))
        .unwrap_or_else(|| panic!("no code on the page: {html}"))
}

/// A free loopback port (for a redirect URI registered before the listener starts).
pub fn free_port() -> u16 {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    probe.local_addr().unwrap().port()
}
