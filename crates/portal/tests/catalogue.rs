//! The portal's informative part over HTTP on loopback, on SQLite and on PostgreSQL: pages
//! in three languages, search that understands Azerbaijani letters, the service page with
//! what a person needs before starting, bodies, the registry of resources, the statistics
//! bulletin with CSV, open data, and clear refusals of bad parameters.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use egov_registry::store::Registry;
use time::macros::date;

async fn seeded(url: &str) -> Registry {
    let registry = Registry::open(url).await.unwrap();
    registry.seed_resources().await.unwrap();
    let mut services = egov_registry::catalogue_seed::named_services();
    services.extend(egov_registry::catalogue_seed::generated_services(1000));
    let numbers = registry.import(&services, "initial load", date!(2025 - 01 - 15)).await.unwrap();
    // usage: the named services most used, in decreasing order
    for (i, n) in numbers.iter().take(30).enumerate() {
        registry.record_usage(n, "2025-05", 10_000 - 100 * i as i64).await.unwrap();
    }
    registry.record_usage(&numbers[40], "2025-04", 5).await.unwrap();
    registry
}

struct Site {
    base: String,
    http: reqwest::Client,
}

impl Site {
    async fn get(&self, path: &str) -> (u16, String) {
        let r = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let (status, body) = self.get(path).await;
        (status, serde_json::from_str(&body).unwrap())
    }
}

async fn exercise(registry: Registry) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let keys = tempfile::tempdir().unwrap();
    let key = egov_registry::staff::StaffKey::open_or_create(keys.path()).unwrap();
    let running = egov_portal::start(listener, registry, key, Duration::from_secs(3600)).await.unwrap();
    let site = Site {
        base: format!("http://{}", running.addr),
        http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(),
    };

    // the language follows the browser, then the address
    let r = site.http.get(format!("{}/", site.base)).header("accept-language", "ru,en;q=0.5").send().await.unwrap();
    assert_eq!((r.status().as_u16(), r.headers()["location"].to_str().unwrap()), (303, "/ru/"));
    let (status, home) = site.get("/az/").await;
    assert_eq!(status, 200);
    assert!(home.contains(r#"<html lang="az">"#) && home.contains(r##"<a class="skip" href="#main">"##), "{home}");
    assert!(home.contains(r#"href="/en/" lang="en" hreflang="en""#) && home.contains("Русский"));
    assert!(home.contains("sosial müdafiə, sosial təminat"), "areas are listed");
    let (_, english) = site.get("/en/").await;
    assert!(english.contains("Electronic Government Portal") && english.contains(r#"aria-current="page">English"#));

    // search: Azerbaijani letters typed without marks, capitals, other languages
    let (_, found) = site.get("/az/search?q=imei+qeydiyyati").await;
    assert!(found.contains("Mobil cihazların IMEI kodlarının qeydiyyatı"), "{found}");
    let (_, found) = site.get("/az/search?q=%C6%8FM%C6%8FK").await; // ƏMƏK
    let (_, typed) = site.get("/az/search?q=emek").await;
    assert!(found.contains("xidmət tapıldı") && found.matches("<li>").count() > 3);
    assert_eq!(found.matches("<h2><a").count(), typed.matches("<h2><a").count(), "Ə typed as e finds the same");
    let (_, russian) = site.get("/ru/search?q=%D0%BF%D0%B5%D0%BD%D1%81%D0%B8%D0%BE%D0%BD").await; // пенсион
    assert!(russian.contains("Пенсионный калькулятор"), "{russian}");
    let (_, none) = site.get("/en/search?q=zzzqqq").await;
    assert!(none.contains("No service found") && none.contains("Try other words"));
    // filters and paging
    let (_, area) = site.get("/en/search?q=pension&area=22&user=natural-persons").await;
    assert!(area.contains(r#"<option value="22" selected>"#) && area.contains("Pension calculator"));
    let (_, paged) = site.get("/az/search?page=2").await;
    assert!(paged.contains(r#"<ol class="results" aria-label="Tapılan xidmətlər" start="21">"#), "{paged}");
    assert!(paged.contains(r#"rel="prev""#) && paged.contains(r#"rel="next""#));

    // a service page has everything a person needs before starting
    let (_, list) = site.json("/api/v1/services?q=IMEI%20qeydiyyat").await;
    let number = list["services"][0]["registryNumber"].as_str().unwrap().to_owned();
    let (status, page) = site.get(&format!("/en/services/{number}")).await;
    assert_eq!(status, 200);
    for want in [
        "IMEI registration of mobile devices",
        "Ministry of Transport",
        "2.00 AZN",
        "Fetched by the portal itself",
        "Steps",
        "Grounds for refusal",
        "Complaints are answered within",
        "AZ/GOV/1400000005/imei-registry/registerImei/v1",
        "You need to log in",
    ] {
        assert!(page.contains(want), "{want:?} missing from the service page");
    }

    // bodies and the registry of resources (P-3.4)
    let (_, body) = site.get("/ru/bodies/21").await;
    assert!(body.contains("Государственный фонд социальной защиты") && body.contains("21.1."));
    let (_, resources) = site.get("/az/resources").await;
    assert_eq!(resources.matches("<tr><td>").count(), 63);
    let (_, page) = site.get("/en/resources/2.1").await;
    assert!(
        page.contains(r#"<h1 lang="az">"#) && page.contains("AZ/GOV/1400000002/population-registry/getPersonByFin/v1")
    );
    let (_, system) = site.json("/api/v1/systems/2.1").await;
    assert_eq!(system["system"]["personal_data"], true);
    assert_eq!(system["owner"]["name"]["en"], "Ministry of Justice");

    // the statistics bulletin (B-1) and its CSV
    let (_, stats) = site.get("/en/statistics?month=2025-05").await;
    assert!(stats.contains("The 20 most used services") && stats.contains("10000"), "{stats}");
    assert_eq!(stats.matches("/en/services/").count(), 20, "top 20 only");
    let r = site.http.get(format!("{}/az/statistics.csv?month=2025-05&table=top", site.base)).send().await.unwrap();
    assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = r.text().await.unwrap();
    assert_eq!(csv.lines().count(), 21, "{csv}");
    assert!(csv.lines().nth(1).unwrap().starts_with("1,"));
    let (_, providers) = site.get("/en/statistics.csv?month=2025-05&table=providers").await;
    assert!(providers.contains("State Social Protection Fund"));

    // open data
    let (_, api) = site.json("/api/v1/services?area=22").await;
    assert!(api["total"].as_u64().unwrap() >= 4);
    let (_, ld) = site.json("/api/v1/services.jsonld").await;
    assert_eq!(ld["@graph"].as_array().unwrap().len(), 1013);
    assert_eq!(ld["@graph"][0]["@type"], "PublicService");
    assert!(ld["@graph"][0]["@id"].as_str().unwrap().starts_with(&format!("{}/api/v1/services/", site.base)));
    let (_, openapi) = site.json("/api/v1/openapi.json").await;
    assert!(openapi["paths"]["/api/v1/services"]["get"]["parameters"].is_array());

    // bad input: a clear refusal naming the parameter, nothing crashed
    let (status, page) = site.get("/en/search?area=99").await;
    assert_eq!(status, 400);
    assert!(page.contains("area: a number from 1 to 29"), "{page}");
    let (status, body) = site.json("/api/v1/services?user=aliens").await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("user:"));
    assert_eq!(site.get("/az/services/00-999999").await.0, 404);
    assert_eq!(site.get("/xx/").await.0, 404);
    assert_eq!(site.get("/en/statistics?month=May").await.0, 400);
    assert_eq!(site.get("/api/v1/systems/99.9").await.0, 404);

    // a new registration shows up after a refresh
    let mut fresh = egov_registry::catalogue_seed::named_services().remove(0);
    fresh.name.en = "A brand new service".into();
    running.portal.registry().import(&[fresh], "test", date!(2025 - 06 - 02)).await.unwrap();
    running.portal.refresh().await.unwrap();
    let (_, found) = site.get("/en/search?q=brand+new").await;
    assert!(found.contains("A brand new service"));
    running.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    exercise(seeded(&egov_store::sqlite_url(&dir.path().join("registry.db"))).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_on_postgres() {
    let Some(url) = egov_store::test_postgres_url("the_catalogue_on_postgres").await else { return };
    exercise(seeded(&url).await).await;
    egov_store::drop_test_database(&url).await;
}

/// Issue 13, item 12: every response — page, open data, stylesheet, back office, redirect,
/// refusal, 404, 405 — carries the security headers, because one layer wraps the whole
/// router. The paths below take every route of `egov_portal::router` once (and its error
/// answers); a route added without a line here is still covered by the layer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let registry = seeded(&egov_store::sqlite_url(&dir.path().join("registry.db"))).await;
    let key = egov_registry::staff::StaffKey::open_or_create(dir.path()).unwrap();
    let creds = registry.add_staff(&key, "l.aliyeva", "Leyla Əliyeva").await.unwrap();
    let mut paper = egov_registry::catalogue_seed::named_services().remove(11);
    paper.name.en = "Filed on paper".into();
    let filed =
        registry.file(egov_registry::store::Request::Register(Box::new(paper)), "Someone", date!(2025 - 01 - 06)).await;
    let filed = filed.unwrap().id;
    // a record stored before web addresses were checked: shown, but never as a link
    let number = registry.services().await.unwrap()[0].registry_number.clone();
    let record: String = sqlx::query_scalar("SELECT record FROM services WHERE registry_number = $1")
        .bind(&number)
        .fetch_one(registry.database().pool())
        .await
        .unwrap();
    let mut record: serde_json::Value = serde_json::from_str(&record).unwrap();
    record["web_address"] = "javascript:alert(document.cookie)".into();
    sqlx::query("UPDATE services SET record = $1 WHERE registry_number = $2")
        .bind(record.to_string())
        .bind(&number)
        .execute(registry.database().pool())
        .await
        .unwrap();
    let system = registry.systems().await.unwrap()[0].code.clone();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = egov_portal::start(listener, registry, key, Duration::from_secs(3600)).await.unwrap();
    let base = format!("http://{}", running.addr);
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let form = |path: &str, body: String, cookie: &str| {
        http.post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("cookie", cookie)
            .body(body)
    };

    let service_page = http.get(format!("{base}/en/services/{number}")).send().await.unwrap().text().await.unwrap();
    assert!(service_page.contains("javascript:alert(document.cookie)"), "shown as text");
    assert!(!service_page.contains(r#"href="javascript:"#), "{service_page}");

    // logged in, for the back office's own pages
    let code = egov_registry::staff::current_code(&creds.totp_secret, time::OffsetDateTime::now_utc().unix_timestamp());
    let login = format!("login=l.aliyeva&password={}&code={}", creds.password, code.unwrap());
    let r = form("/en/backoffice/login", login, "").send().await.unwrap();
    assert_eq!(r.status(), 303);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();

    let get = |path: &str| http.get(format!("{base}{path}")).header("cookie", cookie.as_str());
    let checks: Vec<(reqwest::RequestBuilder, u16)> = vec![
        (get("/"), 303),
        (get("/static/portal.css"), 200),
        (get("/api/v1/openapi.json"), 200),
        (get("/api/v1/services"), 200),
        (get("/api/v1/services.jsonld"), 200),
        (get(&format!("/api/v1/services/{number}")), 200),
        (get("/api/v1/services/00-000000"), 404),
        (get("/api/v1/bodies"), 200),
        (get("/api/v1/bodies/1"), 200),
        (get("/api/v1/systems"), 200),
        (get(&format!("/api/v1/systems/{system}")), 200),
        (get("/en/"), 200),
        (get("/en/search?q=pension"), 200),
        (get("/en/search?page=0"), 400),
        (get(&format!("/en/services/{number}")), 200),
        (get("/en/services/00-000000"), 404),
        (get("/en/bodies"), 200),
        (get("/en/bodies/1"), 200),
        (get("/en/resources"), 200),
        (get(&format!("/en/resources/{system}")), 200),
        (get("/en/statistics?month=2025-05"), 200),
        (get("/en/statistics?month=2025-13"), 400),
        (get("/en/statistics.csv?month=2025-05&table=top"), 200),
        (get("/en/statistics.csv?month=2025-05&table=nope"), 400),
        (get("/en/open-data"), 200),
        (get("/en/backoffice/"), 200),
        (get("/en/backoffice/login"), 200),
        (get(&format!("/en/backoffice/applications/{filed}")), 200),
        (get("/en/backoffice/applications/not-a-number"), 400),
        (form(&format!("/en/backoffice/applications/{filed}/approve"), "csrf=forged".into(), &cookie), 403),
        (form("/en/backoffice/login", "login=x".into(), ""), 422),
        (form("/en/backoffice/logout", "csrf=forged".into(), &cookie), 403),
        (form("/en/", String::new(), ""), 405),
        (get("/no/such/page"), 404),
    ];
    for (request, status) in checks {
        let request = request.build().unwrap();
        let what = format!("{} {}", request.method(), request.url().path());
        let r = http.execute(request).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{what}");
        let h = r.headers();
        for (name, value) in egov_portal::SECURITY_HEADERS {
            assert_eq!(h.get(name).and_then(|v| v.to_str().ok()), Some(value), "{what}: {name}");
        }
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{what}");
        assert!(h["referrer-policy"] == "same-origin" && h["x-content-type-options"] == "nosniff", "{what}");
        if what.contains("/backoffice/") {
            assert_eq!(h["cache-control"], "no-store", "{what}");
        }
        assert!(h.get("strict-transport-security").is_none(), "plain HTTP: {what}");
    }
    // behind HTTPS, HSTS too
    running.portal.set_secure_cookies(true);
    let r = http.get(format!("{base}/en/")).send().await.unwrap();
    assert_eq!(r.headers()["strict-transport-security"], "max-age=31536000");
    running.stop();
}
