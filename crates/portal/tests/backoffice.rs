//! The registry's back office over HTTP (R-10): staff log in with a password and a one-time
//! code (replays and guessing refused; repeated failures slowed down per source address and
//! login, never a lock a stranger could put on the account), see pending
//! applications with overdue ones flagged, approve and refuse with a CSRF-protected form, and
//! the catalogue shows the result.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use egov_registry::store::{Registry, Request};
use time::macros::date;

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client of the portal at `addr` whose connections come from the loopback address
    /// `from` (127.0.0.0/8 is all loopback: another "source" on the same machine).
    fn new(addr: std::net::SocketAddr, from: &str) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .local_address(Some(from.parse().unwrap()))
            .build()
            .unwrap();
        Client { base: format!("http://{addr}"), http }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> (u16, String, Option<String>) {
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        let r = req.send().await.unwrap();
        let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned());
        (r.status().as_u16(), r.text().await.unwrap(), location)
    }

    async fn post(
        &self,
        path: &str,
        cookie: Option<&str>,
        origin: Option<&str>,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        let enc = |s: &str| percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string();
        let body: Vec<String> = form.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect();
        let mut req = self
            .http
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"));
        if let Some(c) = cookie {
            req = req.header("cookie", c);
        }
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send().await.unwrap()
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn csrf(page: &str) -> String {
    page.split(r#"name="csrf" value=""#).nth(1).unwrap().split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn staff_decide_applications_in_the_back_office() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(&egov_store::sqlite_url(&dir.path().join("r.db"))).await.unwrap();
    registry.seed_resources().await.unwrap();
    let key = egov_registry::staff::StaffKey::open_or_create(dir.path()).unwrap();
    let creds = registry.add_staff(&key, "l.aliyeva", "Leyla Əliyeva").await.unwrap();
    assert!(registry.add_staff(&key, "l.aliyeva", "again").await.is_err());
    let mut record = egov_registry::catalogue_seed::named_services().remove(11); // mortgage application
    record.name.en = "Mortgage registration, filed on paper".into();
    let filed = registry
        .file(Request::Register(Box::new(record)), "State Committee on Property Issues", date!(2025 - 01 - 06))
        .await
        .unwrap();
    let mut other = egov_registry::catalogue_seed::named_services().remove(0);
    other.name.en = "To be refused".into();
    let refused =
        registry.file(Request::Register(Box::new(other)), "Ministry of Justice", date!(2025 - 01 - 06)).await.unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = egov_portal::start(listener, registry.clone(), key, Duration::from_secs(3600)).await.unwrap();
    let c = Client::new(running.addr, "127.0.0.1");

    // not logged in: to the login page
    let (status, _, location) = c.get("/en/backoffice/", None).await;
    assert_eq!((status, location.as_deref()), (303, Some("/en/backoffice/login")));
    let (status, page, _) = c.get("/en/backoffice/login", None).await;
    assert_eq!(status, 200);
    assert!(page.contains(r#"<label for="code">"#) && page.contains(r#"autocomplete="one-time-code""#));

    // wrong password, wrong code: refused without saying which
    let code = egov_registry::staff::current_code(&creds.totp_secret, now()).unwrap();
    for (password, code) in [("guess", code.as_str()), (creds.password.as_str(), "000000")] {
        let r = c
            .post("/en/backoffice/login", None, None, &[("login", "l.aliyeva"), ("password", password), ("code", code)])
            .await;
        assert_eq!(r.status(), 401);
        let body = r.text().await.unwrap();
        assert!(
            body.contains(r#"role="alert""#) && body.contains("The login, password or one-time code is wrong."),
            "{body}"
        );
    }
    let r =
        c.post("/en/backoffice/login", None, None, &[("login", "nobody"), ("password", "x"), ("code", "123456")]).await;
    assert_eq!(r.status(), 401);

    // the right three: a session cookie limited to the back office
    let r = c
        .post(
            "/en/backoffice/login",
            None,
            None,
            &[("login", "l.aliyeva"), ("password", &creds.password), ("code", &code)],
        )
        .await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Strict")
            && set_cookie.contains("Path=/en/backoffice")
    );
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    assert!(!set_cookie.contains("Secure"), "plain HTTP here");
    // the same code cannot log in again (RFC 6238 §5.2)
    let r = c
        .post(
            "/en/backoffice/login",
            None,
            None,
            &[("login", "l.aliyeva"), ("password", &creds.password), ("code", &code)],
        )
        .await;
    assert_eq!(r.status(), 401);

    // the pending list, overdue flagged
    let (status, list, _) = c.get("/en/backoffice/", Some(&cookie)).await;
    assert_eq!(status, 200);
    assert!(list.contains("Leyla Əliyeva") && list.contains("Mortgage registration, filed on paper"), "{list}");
    assert!(list.contains(r#"class="overdue""#) && list.contains("Overdue"));
    let token = csrf(&list);

    // approving needs the form's token and this site's origin
    let approve = format!("/en/backoffice/applications/{}/approve", filed.id);
    assert_eq!(c.post(&approve, Some(&cookie), None, &[("csrf", "forged")]).await.status(), 403);
    assert_eq!(c.post(&approve, Some(&cookie), Some("http://evil.example"), &[("csrf", &token)]).await.status(), 403);
    assert_eq!(c.post(&approve, None, None, &[("csrf", &token)]).await.status(), 401);
    let r = c.post(&approve, Some(&cookie), Some(&c.base), &[("csrf", &token)]).await;
    assert_eq!(r.status(), 303);
    let next = r.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(next, format!("/en/backoffice/?decided={}", filed.id));
    let (_, list, _) = c.get(&next, Some(&cookie)).await;
    assert!(list.contains("The decision is recorded."), "{list}");
    let decided = registry.application(filed.id).await.unwrap();
    assert_eq!(decided.status, "approved");
    assert!(decided.decided_by.as_deref().unwrap().contains("l.aliyeva"));
    assert!(decided.late(decided.decided_on.unwrap()), "decided after its due date, and recorded so");
    let (_, found, _) = c.get("/en/search?q=filed+on+paper", None).await;
    assert!(found.contains("Mortgage registration, filed on paper"), "the catalogue shows it at once");

    // refusing needs a reason
    let refuse = format!("/en/backoffice/applications/{}/refuse", refused.id);
    let r = c.post(&refuse, Some(&cookie), None, &[("csrf", &token), ("reason", " ")]).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Write the reason for refusal."));
    let r = c.post(&refuse, Some(&cookie), None, &[("csrf", &token), ("reason", "duplicates 08-000001")]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(registry.application(refused.id).await.unwrap().status, "refused");
    let (_, list, _) = c.get("/en/backoffice/", Some(&cookie)).await;
    assert!(list.contains("No pending applications."));

    // log out: the session is gone
    assert_eq!(c.post("/en/backoffice/logout", Some(&cookie), None, &[("csrf", &token)]).await.status(), 303);
    assert_eq!(c.get("/en/backoffice/", Some(&cookie)).await.0, 303);

    // a stranger guessing her password from another address: three tries, then each must
    // wait (429, Retry-After) — slowed down, not let through, and not counted while waiting
    let stranger = Client::new(running.addr, "127.0.0.2");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let r = stranger
            .post(
                "/az/backoffice/login",
                None,
                None,
                &[("login", "l.aliyeva"), ("password", "wrong"), ("code", "111111")],
            )
            .await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            assert_eq!(r.headers()["retry-after"], "1");
            assert!(r.text().await.unwrap().contains("saniyədən sonra yenidən cəhd edin"));
        }
    }
    assert_eq!(statuses, [401, 401, 401, 429, 429]);
    // even with her real password and a fresh code the stranger's address waits
    let code = egov_registry::staff::current_code(&creds.totp_secret, now() + 30).unwrap();
    let own = [("login", "l.aliyeva"), ("password", creds.password.as_str()), ("code", code.as_str())];
    assert_eq!(stranger.post("/az/backoffice/login", None, None, &own).await.status(), 429);
    // the database counted the attempts that were tried, for the operator's log: the replayed
    // code above and the stranger's three
    assert_eq!(registry.failed_logins("l.aliyeva").await.unwrap(), Some(4));

    // and she, from her own address, logs in at once (the account was never locked); behind
    // HTTPS the cookie is Secure
    running.portal.set_secure_cookies(true);
    let r = c.post("/az/backoffice/login", None, None, &own).await;
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    assert!(r.headers()["set-cookie"].to_str().unwrap().contains("; Secure"));
    assert_eq!(registry.failed_logins("l.aliyeva").await.unwrap(), Some(0), "reset by her success");
    running.stop();
}
