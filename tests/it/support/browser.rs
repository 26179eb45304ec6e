//! The test playing the browser of an OAuth sign-in: GET the portal's authorize page, POST its
//! HTML form with a username and password as a browser would, and follow the redirect it answers
//! with (to the engine's loopback listener). Plain reqwest, redirects not followed by themselves.

use url::Url;

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("browser client")
}

/// The hidden fields of the sign-in form, as a browser submits them.
fn hidden_fields(html: &str) -> Vec<(String, String)> {
    html.split("<input type=\"hidden\" ")
        .skip(1)
        .filter_map(|rest| {
            let name = rest.split("name=\"").nth(1)?.split('"').next()?;
            let value = rest.split("value=\"").nth(1)?.split('"').next()?;
            Some((name.to_string(), value.replace("&amp;", "&")))
        })
        .collect()
}

/// Signs in on the authorize page as `user` and follows the redirect; the status the redirect
/// target answered with and its page.
pub async fn sign_in_in_browser(authorize: &str, user: &str, password: &str) -> (u16, String) {
    let authorize = Url::parse(authorize).expect("authorize URL");
    let page = browser()
        .get(authorize.clone())
        .send()
        .await
        .expect("authorize page");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("page text");
    let mut form = hidden_fields(&html);
    assert!(!form.is_empty(), "no sign-in form: {html}");
    form.push(("username".into(), user.into()));
    form.push(("password".into(), password.into()));
    let mut action = authorize.clone();
    action.set_query(None);
    let reply = browser()
        .post(action)
        .form(&form)
        .send()
        .await
        .expect("form post");
    assert_eq!(reply.status().as_u16(), 302, "the form should redirect");
    let location = reply.headers()["location"]
        .to_str()
        .expect("location")
        .to_string();
    let landed = browser()
        .get(location)
        .send()
        .await
        .expect("the loopback listener");
    let status = landed.status().as_u16();
    (status, landed.text().await.unwrap_or_default())
}
