//! The demo agencies whose systems are REST/JSON services of their own design — not X-Road,
//! joined by the adapter's REST back end: the State Social Protection Fund, the Ministry of
//! Internal Affairs, the Ministry of Transport, Communications and High Technologies, and
//! the State Committee on Property Issues. Each listens on its own port, as a separate
//! system would, and derives its records from the synthetic population.
//!
//! Each also has a [`Trouble`] switch, so tests can make it slow, make it answer garbage or
//! take it down, and see what callers get through the gateway.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

use super::people::{Person, Population, operator_of, valid_imei};

/// What a legacy system does wrong, on demand.
#[derive(Debug, Default)]
pub struct Trouble {
    /// Answer this many milliseconds late.
    pub delay_ms: AtomicU64,
    /// Answer an HTML error page with status 200.
    pub garbage: AtomicBool,
}

/// A running legacy system.
#[derive(Debug, Clone)]
pub struct LegacySystem {
    /// Its base URL.
    pub url: String,
    /// Its trouble switch.
    pub trouble: Arc<Trouble>,
    stop: Arc<tokio::sync::watch::Sender<bool>>,
}

impl LegacySystem {
    /// Takes it down: it stops listening.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

async fn serve(router: Router) -> anyhow::Result<LegacySystem> {
    let trouble = Arc::new(Trouble::default());
    let t = trouble.clone();
    let router = router.layer(axum::middleware::from_fn(move |req, next: axum::middleware::Next| {
        let t = t.clone();
        async move {
            let delay = t.delay_ms.load(Ordering::Relaxed);
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            if t.garbage.load(Ordering::Relaxed) {
                return (StatusCode::OK, "<html><body>Service temporarily unavailable</body></html>").into_response();
            }
            next.run(req).await
        }
    }));
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}", listener.local_addr()?);
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.changed().await;
        };
        if let Err(e) = axum::serve(listener, router).with_graceful_shutdown(shutdown).await {
            tracing::warn!(error = %e, "legacy system stopped");
        }
    });
    Ok(LegacySystem { url, trouble, stop: Arc::new(stop) })
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

// ---------------------------------------------------------------- Social Protection Fund

/// Employers an insured person works for (TIN, name).
const EMPLOYERS: &[(&str, &str)] = &[
    ("1400057421", "Azərenerji ASC"),
    ("9900003611", "Azərbaycan Dəmir Yolları QSC"),
    ("1700038881", "Bakı Metropoliteni QSC"),
    ("1300150671", "Kapital Bank ASC"),
    ("1500312241", "Gəncə Tekstil MMC"),
    ("2000174551", "Sumqayıt Kimya Sənaye Parkı"),
];

/// Whether a person is insured, and their monthly contribution in AZN and employer.
pub fn insurance(p: &Person) -> Option<(f64, &'static (&'static str, &'static str))> {
    let insured = (18..=65).contains(&p.age()) && (p.trait_bits >> 3) % 10 < 8;
    insured.then(|| (50.0 + ((p.trait_bits >> 12) % 550) as f64, &EMPLOYERS[((p.trait_bits >> 16) % 6) as usize]))
}

struct Sspf {
    people: Arc<Population>,
    registered: Mutex<HashMap<String, Value>>,
}

/// The Fund's insured-persons system.
pub async fn social_protection_fund(people: Arc<Population>) -> anyhow::Result<LegacySystem> {
    let state = Arc::new(Sspf { people, registered: Mutex::new(HashMap::new()) });
    serve(
        Router::new()
            .route("/insured/{fin}/payments", get(sspf_payments))
            .route("/insured/{fin}/pension-capital", get(sspf_capital))
            .route("/insured", post(sspf_register))
            .with_state(state),
    )
    .await
}

async fn sspf_payments(
    State(s): State<Arc<Sspf>>,
    Path(fin): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some((p, (monthly, employer))) = s.people.by_fin(&fin).and_then(|p| insurance(p).map(|i| (p, i))) else {
        return error(StatusCode::NOT_FOUND, "no insured person with this FIN");
    };
    let year = match q.get("year").map(|y| y.parse::<i32>()) {
        None => 2025,
        Some(Ok(y)) if (2010..=2026).contains(&y) => y,
        _ => return error(StatusCode::BAD_REQUEST, "year must be between 2010 and 2026"),
    };
    let start = (p.birth_year + 18).max(2010);
    let months = if year < start {
        0
    } else if year == 2026 {
        10
    } else {
        12
    };
    let payments: Vec<Value> = (1..=months)
        .map(|m| json!({"month": format!("{year}-{m:02}"), "amount": monthly, "employer": employer.1}))
        .collect();
    Json(json!({"fin": p.fin, "year": year, "payments": payments, "total": monthly * months as f64})).into_response()
}

async fn sspf_capital(State(s): State<Arc<Sspf>>, Path(fin): Path<String>) -> Response {
    let Some((p, (monthly, _))) = s.people.by_fin(&fin).and_then(|p| insurance(p).map(|i| (p, i))) else {
        return error(StatusCode::NOT_FOUND, "no insured person with this FIN");
    };
    let years = (2026 - (p.birth_year + 18).max(2006)).max(0) as f64;
    Json(json!({"fin": p.fin, "pensionCapital": (monthly * 12.0 * years * 0.22 * 100.0).round() / 100.0, "asOf": "2026-01-01"}))
        .into_response()
}

async fn sspf_register(State(s): State<Arc<Sspf>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").trim().to_owned();
    let (fin, tin, position, start) = (text("fin"), text("employerTin"), text("position"), text("startDate"));
    let Some(person) = s.people.by_fin(&fin) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "this FIN is not in the population registry");
    };
    if tin.len() != 10 || !tin.bytes().all(|b| b.is_ascii_digit()) {
        return error(StatusCode::BAD_REQUEST, "employerTin must be the employer's 10-digit tax identification number");
    }
    if position.is_empty() || start.is_empty() {
        return error(StatusCode::BAD_REQUEST, "position and startDate are required");
    }
    if insurance(person).is_some() {
        return error(StatusCode::CONFLICT, "this person is already insured");
    }
    let mut registered = s.registered.lock().unwrap_or_else(|p| p.into_inner());
    if registered.contains_key(&person.fin) {
        return error(StatusCode::CONFLICT, "this person is already registered");
    }
    let number = format!("SSPF-2026-{:06}", registered.len() + 1);
    let by = headers.get("x-road-client").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let record = json!({"registrationNumber": number, "status": "registered", "fin": person.fin, "employerTin": tin,
        "position": position, "startDate": start, "registeredThrough": by});
    registered.insert(person.fin.clone(), record.clone());
    (StatusCode::CREATED, Json(record)).into_response()
}

// ---------------------------------------------------------------- Internal Affairs

/// Region codes on number plates, by the population's regions.
const PLATE_REGIONS: &[u32] = &[10, 20, 50, 45, 62, 42, 85, 40, 49, 31];

/// Traffic offences: article of the Code of Administrative Offences, description, fine
/// (AZN), penalty points.
const OFFENCES: &[(&str, &str, u32, u32)] = &[
    ("328.1", "speeding by 10–20 km/h", 10, 0),
    ("328.2", "speeding by 20–40 km/h", 100, 3),
    ("328.3", "speeding by over 40 km/h", 200, 5),
    ("333.1", "running a red light", 100, 3),
    ("341.1", "parking where prohibited", 40, 0),
    ("345.1", "no seat belt", 40, 1),
];

/// A driver's vehicle plate, if they have one registered.
pub fn plate(index: usize, p: &Person) -> Option<String> {
    if !is_driver(p) || !(p.trait_bits >> 7).is_multiple_of(2) {
        return None;
    }
    let letters = b"ABCDEFGHJKLMNPRSTUVXYZ";
    let l = |k: usize| letters[k % letters.len()] as char;
    Some(format!(
        "{:02}-{}{}-{:03}",
        PLATE_REGIONS[p.region % PLATE_REGIONS.len()],
        l(index / 1000),
        l(index / 22_000),
        index % 1000
    ))
}

fn is_driver(p: &Person) -> bool {
    p.age() >= 18 && !(p.trait_bits >> 5).is_multiple_of(3)
}

fn fines(index: usize, p: &Person) -> Vec<Value> {
    if !is_driver(p) {
        return Vec::new();
    }
    let count = (p.trait_bits >> 9) % 4;
    (0..count)
        .map(|k| {
            let bits = p.trait_bits.rotate_left(7 * k as u32 + 3);
            let (article, what, amount, points) = OFFENCES[(bits % OFFENCES.len() as u64) as usize];
            json!({
                "protocol": format!("YP-{:07}-{k}", index),
                "date": format!("2025-{:02}-{:02}", 1 + (bits >> 8) % 12, 1 + (bits >> 12) % 28),
                "article": article, "offence": what, "amount": amount, "points": points,
                "paid": (bits >> 20).is_multiple_of(3),
                "vehicle": plate(index, p),
            })
        })
        .collect()
}

struct Mia {
    people: Arc<Population>,
    by_plate: HashMap<String, usize>,
}

/// The traffic police's fines register.
pub async fn internal_affairs(people: Arc<Population>) -> anyhow::Result<LegacySystem> {
    let by_plate = people.people.iter().enumerate().filter_map(|(i, p)| plate(i, p).map(|pl| (pl, i))).collect();
    let state = Arc::new(Mia { people, by_plate });
    serve(
        Router::new().route("/fines", get(mia_fines)).route("/drivers/{fin}/points", get(mia_points)).with_state(state),
    )
    .await
}

async fn mia_fines(State(s): State<Arc<Mia>>, Query(q): Query<HashMap<String, String>>) -> Response {
    let index = match (q.get("driver"), q.get("vehicle")) {
        (Some(fin), _) => match s.people.index_of(fin) {
            Some(i) if is_driver(&s.people.people[i]) => i,
            _ => return error(StatusCode::NOT_FOUND, "no driving licence for this FIN"),
        },
        (None, Some(plate)) => match s.by_plate.get(&plate.trim().to_ascii_uppercase()) {
            Some(&i) => i,
            None => return error(StatusCode::NOT_FOUND, "no vehicle with this number plate"),
        },
        (None, None) => return error(StatusCode::BAD_REQUEST, "give a driver's FIN or a vehicle's number plate"),
    };
    let mut list = fines(index, &s.people.people[index]);
    if let Some(plate) = q.get("vehicle").filter(|_| !q.contains_key("driver")) {
        list.retain(|f| f["vehicle"].as_str().is_some_and(|v| v.eq_ignore_ascii_case(plate.trim())));
    }
    let unpaid: u64 = list.iter().filter(|f| f["paid"] == false).filter_map(|f| f["amount"].as_u64()).sum();
    Json(json!({"fines": list, "unpaidTotal": unpaid})).into_response()
}

async fn mia_points(State(s): State<Arc<Mia>>, Path(fin): Path<String>) -> Response {
    let Some(i) = s.people.index_of(&fin).filter(|&i| is_driver(&s.people.people[i])) else {
        return error(StatusCode::NOT_FOUND, "no driving licence for this FIN");
    };
    let points: u64 = fines(i, &s.people.people[i]).iter().filter_map(|f| f["points"].as_u64()).sum();
    let licence = if points >= 10 { "suspended" } else { "valid" };
    Json(json!({"fin": s.people.people[i].fin, "points": points, "licence": licence})).into_response()
}

// ---------------------------------------------------------------- Transport and communications

/// Type allocation codes of common handsets.
const HANDSETS: &[(&str, &str)] = &[
    ("35332811", "Samsung Galaxy A54"),
    ("35875110", "Apple iPhone 14"),
    ("86769204", "Xiaomi Redmi Note 12"),
    ("35467811", "Samsung Galaxy S23"),
    ("35391411", "Apple iPhone 15"),
    ("86281606", "Honor X8"),
];

/// The handset a person registered with their number.
pub fn handset(index: usize, p: &Person) -> (String, &'static str) {
    let (tac, model) = HANDSETS[((p.trait_bits >> 13) % HANDSETS.len() as u64) as usize];
    let body = format!("{tac}{:06}", index % 1_000_000);
    let check = super::people::luhn_digit(&body).unwrap_or(0);
    (format!("{body}{check}"), model)
}

struct Transport {
    people: Arc<Population>,
    imeis: Mutex<HashMap<String, Value>>,
}

/// The mobile-device (IMEI) register.
pub async fn transport(people: Arc<Population>) -> anyhow::Result<LegacySystem> {
    let imeis = people
        .people
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (imei, model) = handset(i, p);
            let record = json!({"imei": imei, "status": "registered", "model": model, "phone": p.phone,
                "registeredAt": format!("{}-06-01", 2018 + (p.trait_bits >> 17) % 8)});
            (imei, record)
        })
        .collect();
    let state = Arc::new(Transport { people, imeis: Mutex::new(imeis) });
    serve(
        Router::new()
            .route("/imei/{imei}", get(imei_check))
            .route("/imei", post(imei_register))
            .route("/phones/{phone}", get(phone_search))
            .with_state(state),
    )
    .await
}

fn mask(phone: &str) -> String {
    let keep = phone.len().saturating_sub(4);
    format!("{}****", &phone[..keep.min(phone.len())])
}

async fn imei_check(State(s): State<Arc<Transport>>, Path(imei): Path<String>) -> Response {
    if !valid_imei(&imei) {
        return error(StatusCode::BAD_REQUEST, "not a valid IMEI: 15 digits with a correct check digit");
    }
    let imeis = s.imeis.lock().unwrap_or_else(|p| p.into_inner());
    match imeis.get(&imei) {
        Some(r) => {
            let mut r = r.clone();
            r["phone"] = mask(r["phone"].as_str().unwrap_or("")).into();
            Json(r).into_response()
        }
        None => Json(json!({"imei": imei, "status": "not registered"})).into_response(),
    }
}

async fn imei_register(State(s): State<Arc<Transport>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    // the register records who signed: an application without the official is refused (TT-6.6)
    let Some(user) = headers.get("x-road-userid").and_then(|v| v.to_str().ok()).filter(|u| !u.is_empty()) else {
        return error(StatusCode::FORBIDDEN, "the registration must be signed: the signing user is missing");
    };
    let text = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("").trim().to_owned();
    let (imei, fin, phone) = (text("imei"), text("fin"), text("phone"));
    if !valid_imei(&imei) {
        return error(StatusCode::BAD_REQUEST, "not a valid IMEI: 15 digits with a correct check digit");
    }
    let Some(person) = s.people.by_fin(&fin) else {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "this FIN is not in the population registry");
    };
    if s.people.by_phone(&phone).map(|p| &p.fin) != Some(&person.fin) {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "this phone number is not registered to this FIN");
    }
    let mut imeis = s.imeis.lock().unwrap_or_else(|p| p.into_inner());
    if imeis.contains_key(&imei) {
        return error(StatusCode::CONFLICT, "this IMEI is already registered");
    }
    let number = format!("IMEI-2026-{:06}", imeis.len() % 1_000_000);
    let record = json!({"imei": imei, "status": "registered", "model": "declared by the owner", "phone": person.phone,
        "registeredAt": "2026-11-22", "registrationNumber": number, "signedBy": user});
    imeis.insert(imei, record.clone());
    (StatusCode::CREATED, Json(record)).into_response()
}

async fn phone_search(State(s): State<Arc<Transport>>, Path(phone): Path<String>) -> Response {
    let Some(person) = s.people.by_phone(&phone) else {
        return error(StatusCode::NOT_FOUND, "no subscriber with this number");
    };
    let imeis = s.imeis.lock().unwrap_or_else(|p| p.into_inner());
    let devices = imeis.values().filter(|r| r["phone"] == person.phone.as_str()).count();
    Json(json!({"phone": person.phone, "operator": operator_of(&person.phone), "status": "active",
        "holder": format!("{} {}.", person.last_name, person.first_name.chars().next().unwrap_or(' ')),
        "registeredDevices": devices}))
    .into_response()
}

// ---------------------------------------------------------------- Property

/// A property's registry number, when the person owns one (about one in four).
pub fn registry_number(index: usize, p: &Person) -> Option<String> {
    (p.age() >= 18 && (p.trait_bits >> 11).is_multiple_of(4)).then(|| format!("{:03}-{:07}", 100 + p.region, index))
}

struct Property {
    people: Arc<Population>,
}

/// The real-estate register.
pub async fn property(people: Arc<Population>) -> anyhow::Result<LegacySystem> {
    serve(Router::new().route("/extracts/{number}", get(extract)).with_state(Arc::new(Property { people }))).await
}

async fn extract(State(s): State<Arc<Property>>, Path(number): Path<String>) -> Response {
    let parsed =
        number.split_once('-').filter(|(r, i)| r.len() == 3 && i.len() == 7).and_then(|(_, i)| i.parse::<usize>().ok());
    let Some(index) = parsed else {
        return error(StatusCode::BAD_REQUEST, "a registry number looks like 100-0001234");
    };
    let Some(p) = s.people.people.get(index).filter(|p| registry_number(index, p).as_deref() == Some(number.as_str()))
    else {
        return error(StatusCode::NOT_FOUND, "no property with this registry number");
    };
    let kinds = ["mənzil (flat)", "fərdi yaşayış evi (house)", "torpaq sahəsi (land plot)"];
    let kind = kinds[((p.trait_bits >> 23) % 3) as usize];
    let area = 35 + (p.trait_bits >> 27) % 180;
    let encumbrance =
        if (p.trait_bits >> 33).is_multiple_of(5) { "ipoteka (mortgage), Kapital Bank ASC" } else { "yoxdur (none)" };
    Json(json!({
        "registryNumber": number, "kind": kind, "address": p.address, "areaM2": area,
        "owner": p.full_name(), "ownerFin": p.fin, "share": "1/1", "encumbrance": encumbrance,
        "registeredOn": format!("{}-{:02}-10", 2005 + (p.trait_bits >> 37) % 20, 1 + (p.trait_bits >> 41) % 12),
    }))
    .into_response()
}
