//! The mapping file: which X-Road services an adapter offers, what request fields each
//! takes, which back end answers it (a REST/JSON call or a read-only SQL query), and how the
//! back end's answer becomes response elements (TT-2.4, TT-4.1.4).
//!
//! ```toml
//! [adapter]
//! name = "azersu-billing"
//! listen = "127.0.0.1:8600"
//!
//! [[service]]
//! code = "waterDebt"
//! request = { subscriber = "string" }
//! rest = { url = "http://127.0.0.1:9001/debts/{subscriber}" }
//! response = { debt = "/amount", currency = "/currency" }
//! ```
//!
//! Everything is checked when the file is read, and every refusal names the file, the line
//! and the problem: a template naming a field that does not exist, SQL that could write, a
//! timeout beyond the 2 s budget (TT-5.3). Nothing is built from strings at request time
//! except what this module has validated.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

use crate::AdapterError;

/// The longest a back end may take: the gateway's budget for one exchange is 2 s (TT-5.3),
/// and the adapter is one step of it.
pub const MAX_TIMEOUT: Duration = Duration::from_millis(2000);
const DEFAULT_TIMEOUT: Duration = Duration::from_millis(1500);

/// A validated mapping file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterMapping {
    /// The adapter's name (logs, generated descriptions).
    pub name: String,
    /// Where it listens.
    pub listen: SocketAddr,
    /// HTTPS certificate and key (PEM), when it serves HTTPS (TT-4.2).
    pub tls: Option<TlsFiles>,
    /// How the security server reaches it: `url` from the file, else `http(s)://listen`.
    pub base_url: String,
    /// The services, in file order.
    pub services: Vec<ServiceMapping>,
}

/// HTTPS certificate and key files.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// Certificate chain (PEM).
    pub certificate: PathBuf,
    /// Private key (PEM).
    pub key: PathBuf,
}

/// One service of the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceMapping {
    /// X-Road service code.
    pub code: String,
    /// X-Road service version, if any.
    pub version: Option<String>,
    /// Titles by language (`az`, `en`, `ru`).
    pub title: IndexMap<String, String>,
    /// Request fields, in order.
    pub fields: Vec<Field>,
    /// What answers it.
    pub backend: Backend,
    /// Response elements and where each comes from (JSON pointer for REST, column for SQL).
    pub response: Vec<(String, String)>,
    /// Element name of each repeated entry (SQL rows, or the REST `items` array).
    pub repeat: Option<String>,
    /// Whether the caller must name the signing user (X-Road `userId`, TT-6.6): services
    /// that change records on someone's behalf.
    pub user_required: bool,
}

impl ServiceMapping {
    /// Whether the adapter's REST side takes this service as a POST with a JSON body (the
    /// back end writes) rather than a GET with query parameters.
    pub fn is_write(&self) -> bool {
        matches!(&self.backend, Backend::Rest(r) if r.method != "GET")
    }
}

/// A request field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its name (the SOAP element / JSON key / query parameter).
    pub name: String,
    /// Its type.
    pub kind: FieldType,
    /// Whether a request without it is refused.
    pub required: bool,
    /// Longest accepted value, in characters.
    pub max_length: usize,
}

/// Types a request field may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Text.
    String,
    /// A whole number (i64).
    Integer,
    /// A decimal number, kept as its text.
    Decimal,
    /// `true` or `false`.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
}

/// The back end of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// A REST/JSON call.
    Rest(RestBackend),
    /// A read-only SQL query.
    Sql(SqlBackend),
}

/// A REST/JSON back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestBackend {
    /// HTTP method.
    pub method: String,
    /// URL template: `{field}` is replaced by the field's value, percent-encoded.
    pub url: String,
    /// Query parameters: name → template.
    pub query: Vec<(String, String)>,
    /// JSON body for POST/PUT/PATCH: key → template (the field's typed value when the
    /// template is exactly `{field}`).
    pub body: Option<Vec<(String, String)>>,
    /// JSON pointer to an array whose entries become repeated response entries.
    pub items: Option<String>,
    /// How long to wait.
    pub timeout: Duration,
}

/// A SQL back end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlBackend {
    /// `sqlite://…` or `postgres://…` (kept out of every error message: it may hold a password).
    pub database: String,
    /// The query with its `:field` parameters as written.
    pub query: String,
    /// The query as sent: each `:field` replaced by its `$k` placeholder.
    pub statement: String,
    /// The fields bound to `$1`, `$2`, …: distinct, in order of first appearance.
    pub params: Vec<String>,
    /// How long to wait.
    pub timeout: Duration,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    adapter: RawAdapter,
    #[serde(default, rename = "service")]
    services: Vec<Spanned<RawService>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAdapter {
    name: Spanned<String>,
    listen: Spanned<String>,
    url: Option<Spanned<String>>,
    tls: Option<TlsFiles>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawService {
    code: Spanned<String>,
    version: Option<Spanned<String>>,
    #[serde(default)]
    title: IndexMap<String, String>,
    #[serde(default)]
    request: IndexMap<String, Spanned<RawField>>,
    rest: Option<Spanned<RawRest>>,
    sql: Option<Spanned<RawSql>>,
    #[serde(default)]
    response: IndexMap<String, Spanned<String>>,
    repeat: Option<Spanned<String>>,
    #[serde(default)]
    user_required: bool,
}

/// `fin = "string"`, or `fin = { type = "string", required = false, max_length = 7 }`.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawField {
    Short(FieldType),
    Full(FullField),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullField {
    #[serde(rename = "type")]
    kind: FieldType,
    #[serde(default = "yes")]
    required: bool,
    max_length: Option<usize>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRest {
    method: Option<Spanned<String>>,
    url: Spanned<String>,
    #[serde(default)]
    query: IndexMap<String, Spanned<String>>,
    body: Option<IndexMap<String, Spanned<String>>>,
    items: Option<Spanned<String>>,
    timeout_ms: Option<Spanned<u64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSql {
    database: Spanned<String>,
    query: Spanned<String>,
    timeout_ms: Option<Spanned<u64>>,
}

/// Longest field value when the file sets none.
const DEFAULT_MAX_LENGTH: usize = 1024;

/// Reads and validates a mapping file's text; `file` names it in errors.
pub fn parse(text: &str, file: &str) -> Result<AdapterMapping, AdapterError> {
    let at = Locator { text, file };
    let raw: RawFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| at.line(s.start)).map_or(String::new(), |l| format!(":{l}"));
        AdapterError::Mapping(format!("{file}{line}: {}", e.message()))
    })?;
    let name = raw.adapter.name.get_ref();
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        return Err(at.error(&raw.adapter.name, "adapter name must be letters, digits, '.', '_' or '-'"));
    }
    let listen: SocketAddr =
        raw.adapter.listen.get_ref().parse().map_err(|_| {
            at.error(&raw.adapter.listen, "listen must be an address and port, e.g. \"127.0.0.1:8600\"")
        })?;
    if raw.services.is_empty() {
        return Err(AdapterError::Mapping(format!("{file}: no [[service]] is defined")));
    }
    let mut services: Vec<ServiceMapping> = Vec::with_capacity(raw.services.len());
    for s in &raw.services {
        let service = service(&at, s)?;
        if services.iter().any(|o| o.code == service.code && o.version == service.version) {
            return Err(at.error(&s.get_ref().code, &format!("service '{}' is defined twice", service.code)));
        }
        services.push(service);
    }
    let scheme = if raw.adapter.tls.is_some() { "https" } else { "http" };
    let base_url = match &raw.adapter.url {
        None if listen.ip().is_unspecified() => {
            return Err(at.error(
                &raw.adapter.listen,
                "listen is a wildcard address: add url = \"http(s)://host:port\" saying how the security server reaches the adapter",
            ));
        }
        None => format!("{scheme}://{listen}"),
        Some(u) => match url::Url::parse(u.get_ref()) {
            Ok(parsed) if parsed.scheme() == scheme && parsed.host().is_some() => {
                u.get_ref().trim_end_matches('/').to_owned()
            }
            Ok(_) => return Err(at.error(u, &format!("url must be a {scheme}:// URL (the adapter serves {scheme})"))),
            Err(e) => return Err(at.error(u, &format!("url is not a URL: {e}"))),
        },
    };
    Ok(AdapterMapping { name: name.clone(), listen, tls: raw.adapter.tls, base_url, services })
}

/// Turns byte offsets into line numbers for messages.
struct Locator<'a> {
    text: &'a str,
    file: &'a str,
}

impl Locator<'_> {
    fn line(&self, offset: usize) -> usize {
        self.text.get(..offset).map_or(0, |t| t.matches('\n').count()) + 1
    }

    fn error(&self, at: &dyn HasSpan, message: &str) -> AdapterError {
        AdapterError::Mapping(format!("{}:{}: {message}", self.file, self.line(at.start())))
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// X-Road identifier parts: no separators or characters that break paths and ids.
fn is_xroad_code(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

fn service(at: &Locator<'_>, spanned: &Spanned<RawService>) -> Result<ServiceMapping, AdapterError> {
    let s = spanned.get_ref();
    let code = s.code.get_ref();
    if !is_xroad_code(code) {
        return Err(at.error(&s.code, "service code must be letters, digits, '.', '_' or '-'"));
    }
    let bad = |t: &dyn HasSpan, m: String| at.error(t, &format!("service '{code}': {m}"));
    if let Some(v) = &s.version
        && !is_xroad_code(v.get_ref())
    {
        return Err(bad(v, "version must be letters, digits, '.', '_' or '-'".into()));
    }
    for lang in s.title.keys() {
        if !["az", "en", "ru"].contains(&lang.as_str()) {
            return Err(bad(&s.code, format!("title language '{lang}' is not one of az, en, ru")));
        }
    }
    let mut fields = Vec::with_capacity(s.request.len());
    for (name, f) in &s.request {
        if !is_identifier(name) {
            return Err(bad(
                f,
                format!("request field '{name}' must be a letter or '_' followed by letters, digits or '_'"),
            ));
        }
        let (kind, required, max_length) = match f.get_ref() {
            RawField::Short(kind) => (*kind, true, DEFAULT_MAX_LENGTH),
            RawField::Full(full) => (full.kind, full.required, full.max_length.unwrap_or(DEFAULT_MAX_LENGTH)),
        };
        if max_length == 0 {
            return Err(bad(f, format!("request field '{name}': max_length must be at least 1")));
        }
        fields.push(Field { name: name.clone(), kind, required, max_length });
    }
    let field_names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let known = |name: &str| field_names.contains(&name);
    let list = || if field_names.is_empty() { "none".to_owned() } else { field_names.join(", ") };
    let backend = match (&s.rest, &s.sql) {
        (Some(rest), None) => Backend::Rest(rest_backend(rest.get_ref(), &known, &list, &bad)?),
        (None, Some(sql)) => Backend::Sql(sql_backend(sql.get_ref(), &known, &list, &bad)?),
        (Some(_), Some(sql)) => return Err(bad(sql, "has both a rest and a sql back end; choose one".into())),
        (None, None) => return Err(bad(spanned, "has no back end: add a rest = { … } or sql = { … } table".into())),
    };
    if s.response.is_empty() {
        return Err(bad(spanned, "has no response elements: add response = { element = \"source\" }".into()));
    }
    let mut response = Vec::with_capacity(s.response.len());
    for (element, source) in &s.response {
        if !is_identifier(element) {
            return Err(bad(source, format!("response element '{element}' is not a valid element name")));
        }
        let src = source.get_ref();
        match &backend {
            Backend::Rest(_) if !src.is_empty() && !src.starts_with('/') => {
                return Err(bad(
                    source,
                    format!(
                        "response element '{element}': \"{src}\" is not a JSON pointer (it starts with '/', e.g. \"/amount\")"
                    ),
                ));
            }
            Backend::Sql(_) if !is_identifier(src) => {
                return Err(bad(source, format!("response element '{element}': \"{src}\" is not a column name")));
            }
            _ => {}
        }
        response.push((element.clone(), src.clone()));
    }
    let repeat = match &s.repeat {
        Some(r) if !is_identifier(r.get_ref()) => {
            return Err(bad(r, format!("repeat '{}' is not a valid element name", r.get_ref())));
        }
        Some(r) => Some(r.get_ref().clone()),
        None => match &backend {
            Backend::Sql(_) => Some("row".into()),
            Backend::Rest(r) if r.items.is_some() => Some("item".into()),
            Backend::Rest(_) => None,
        },
    };
    Ok(ServiceMapping {
        code: code.clone(),
        version: s.version.as_ref().map(|v| v.get_ref().clone()),
        title: s.title.clone(),
        fields,
        backend,
        response,
        repeat,
        user_required: s.user_required,
    })
}

/// Anything with a place in the file.
trait HasSpan {
    fn start(&self) -> usize;
}

impl<T> HasSpan for Spanned<T> {
    fn start(&self) -> usize {
        self.span().start
    }
}

type Bad<'a> = dyn Fn(&dyn HasSpan, String) -> AdapterError + 'a;

fn timeout(t: Option<&Spanned<u64>>, bad: &Bad<'_>) -> Result<Duration, AdapterError> {
    match t {
        None => Ok(DEFAULT_TIMEOUT),
        Some(ms) => {
            let d = Duration::from_millis(*ms.get_ref());
            if d.is_zero() || d > MAX_TIMEOUT {
                return Err(bad(
                    ms,
                    format!(
                        "timeout_ms must be between 1 and {} (the exchange's budget, TT-5.3)",
                        MAX_TIMEOUT.as_millis()
                    ),
                ));
            }
            Ok(d)
        }
    }
}

fn rest_backend(
    r: &RawRest,
    known: &dyn Fn(&str) -> bool,
    list: &dyn Fn() -> String,
    bad: &Bad<'_>,
) -> Result<RestBackend, AdapterError> {
    let method = r.method.as_ref().map_or("GET".to_owned(), |m| m.get_ref().to_ascii_uppercase());
    if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
        let at: &dyn HasSpan = r.method.as_ref().map_or(&r.url as &dyn HasSpan, |m| m as &dyn HasSpan);
        return Err(bad(at, format!("method '{method}' is not one of GET, POST, PUT, PATCH, DELETE")));
    }
    let check = |template: &Spanned<String>, what: &str| -> Result<(), AdapterError> {
        for name in placeholders(template.get_ref()).map_err(|e| bad(template, format!("{what}: {e}")))? {
            if !known(name) {
                return Err(bad(
                    template,
                    format!("{what} refers to {{{name}}}, which is not a request field (fields: {})", list()),
                ));
            }
        }
        Ok(())
    };
    check(&r.url, "url")?;
    let sample = fill(r.url.get_ref(), &|_| Some("x".into())).unwrap_or_default();
    match url::Url::parse(&sample) {
        Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {}
        Ok(u) => return Err(bad(&r.url, format!("url scheme '{}' is not http or https", u.scheme()))),
        Err(e) => return Err(bad(&r.url, format!("url is not a URL: {e}"))),
    }
    let checked = |templates: &IndexMap<String, Spanned<String>>, what: &str| {
        let mut out = Vec::with_capacity(templates.len());
        for (name, template) in templates {
            check(template, &format!("{what} '{name}'"))?;
            out.push((name.clone(), template.get_ref().clone()));
        }
        Ok::<_, AdapterError>(out)
    };
    let query = checked(&r.query, "query parameter")?;
    let body = match &r.body {
        None => None,
        Some(_) if !["POST", "PUT", "PATCH"].contains(&method.as_str()) => {
            return Err(bad(&r.url, format!("a body is sent only with POST, PUT or PATCH, not {method}")));
        }
        Some(b) => Some(checked(b, "body key")?),
    };
    if let Some(items) = &r.items
        && !items.get_ref().starts_with('/')
    {
        return Err(bad(items, format!("items \"{}\" is not a JSON pointer (it starts with '/')", items.get_ref())));
    }
    Ok(RestBackend {
        method,
        url: r.url.get_ref().clone(),
        query,
        body,
        items: r.items.as_ref().map(|i| i.get_ref().clone()),
        timeout: timeout(r.timeout_ms.as_ref(), bad)?,
    })
}

fn sql_backend(
    s: &RawSql,
    known: &dyn Fn(&str) -> bool,
    list: &dyn Fn() -> String,
    bad: &Bad<'_>,
) -> Result<SqlBackend, AdapterError> {
    let database = s.database.get_ref();
    if !(database.starts_with("sqlite:")
        || database.starts_with("postgres://")
        || database.starts_with("postgresql://"))
    {
        // the value itself is not repeated: it may carry a password
        return Err(bad(&s.database, "database must be a sqlite: or postgres:// URL".into()));
    }
    let query = s.query.get_ref().trim();
    let statement = query.strip_suffix(';').unwrap_or(query);
    let lower = statement.to_ascii_lowercase();
    if !(lower.starts_with("select") || lower.starts_with("with")) {
        return Err(bad(&s.query, "query must be one read-only SELECT (or WITH … SELECT)".into()));
    }
    let (positional, params) = positional_sql(statement).map_err(|e| bad(&s.query, e))?;
    for p in &params {
        if !known(p) {
            return Err(bad(&s.query, format!("query uses :{p}, which is not a request field (fields: {})", list())));
        }
    }
    Ok(SqlBackend {
        database: database.clone(),
        query: statement.to_owned(),
        statement: positional,
        params,
        timeout: timeout(s.timeout_ms.as_ref(), bad)?,
    })
}

/// The `{name}` placeholders of a template, in order. `{{` and `}}` are literal braces.
pub fn placeholders(template: &str) -> Result<Vec<&str>, String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.as_bytes().first() == Some(&c) {
            rest = &after[1..];
            continue;
        }
        if c == b'}' {
            return Err("a '}' without its '{' (write '}}' for a literal brace)".into());
        }
        let end = after.find('}').ok_or("a '{' without its '}' (write '{{' for a literal brace)")?;
        let name = &after[..end];
        if !is_identifier(name) {
            return Err(format!("{{{name}}} is not a field name"));
        }
        out.push(name);
        rest = &after[end + 1..];
    }
    Ok(out)
}

/// Fills a template: each `{name}` becomes `value(name)`; `None` when a value is missing
/// or the template is malformed.
pub fn fill(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let (c, after) = (rest.as_bytes()[i], &rest[i + 1..]);
        if after.as_bytes().first() == Some(&c) {
            out.push(c as char);
            rest = &after[1..];
            continue;
        }
        if c == b'}' {
            return None;
        }
        let end = after.find('}')?;
        out.push_str(&value(&after[..end])?);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// The statement with each `:name` replaced by `$k`, where k numbers the distinct names in
/// order of first appearance (the same name binds the same value, in SQLite and PostgreSQL
/// alike), and those names. Nothing but the validated parameter names is rewritten.
pub fn positional_sql(sql: &str) -> Result<(String, Vec<String>), String> {
    let mut names: Vec<String> = Vec::new();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut last = 0;
    scan_sql(sql, &mut |start, name| {
        let k = match names.iter().position(|n| n == name) {
            Some(k) => k + 1,
            None => {
                names.push(name.to_owned());
                names.len()
            }
        };
        out.push_str(&sql[last..start]);
        out.push_str(&format!("${k}"));
        last = start + 1 + name.len();
    })?;
    out.push_str(&sql[last..]);
    Ok((out, names))
}

/// The `:name` parameters of a SQL statement, in order, outside quoted strings and
/// identifiers (`'…'`, `"…"`) and comments; `::` (a PostgreSQL cast) is not a parameter.
pub fn sql_params(sql: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    scan_sql(sql, &mut |_, name| out.push(name.to_owned()))?;
    Ok(out)
}

/// Calls `found(offset of ':', name)` for each parameter.
fn scan_sql(sql: &str, found: &mut dyn FnMut(usize, &str)) -> Result<(), String> {
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                if i >= b.len() {
                    return Err("an unclosed quote".into());
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                return Err("comments are not allowed in the query".into());
            }
            b';' => return Err("only one statement is allowed (a ';' inside the query)".into()),
            b':' if b.get(i + 1) == Some(&b':') => i += 1,
            b':' => {
                let start = i + 1;
                let mut end = start;
                while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
                    end += 1;
                }
                let name = &sql[start..end];
                if !is_identifier(name) {
                    return Err(format!("':' at byte {i} is not followed by a field name"));
                }
                found(i, name);
                i = end - 1;
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[adapter]
name = "azersu-billing"
listen = "127.0.0.1:8600"

[[service]]
code = "waterDebt"
title = { en = "Water debt", az = "Su borcu" }
request = { subscriber = "string" }
rest = { url = "http://127.0.0.1:9001/debts/{subscriber}" }
response = { debt = "/amount", currency = "/currency" }

[[service]]
code = "personByFin"
version = "v1"
request = { fin = { type = "string", max_length = 7 } }
sql = { database = "sqlite:///var/lib/pop.db", query = "SELECT first_name, last_name FROM person WHERE fin = :fin" }
response = { firstName = "first_name", lastName = "last_name" }
"#;

    #[test]
    fn a_good_file_is_read_in_order() {
        let m = parse(GOOD, "azersu.toml").unwrap();
        assert_eq!(m.listen.port(), 8600);
        assert_eq!(m.services.len(), 2);
        let water = &m.services[0];
        assert_eq!(water.response, vec![("debt".into(), "/amount".into()), ("currency".into(), "/currency".into())]);
        assert_eq!(water.repeat, None);
        let Backend::Rest(r) = &water.backend else { panic!() };
        assert_eq!((r.method.as_str(), r.timeout), ("GET", DEFAULT_TIMEOUT));
        let person = &m.services[1];
        assert_eq!(person.fields[0].max_length, 7);
        assert_eq!(person.repeat.as_deref(), Some("row"));
        let Backend::Sql(s) = &person.backend else { panic!() };
        assert_eq!(s.params, vec!["fin".to_owned()]);
    }

    fn error(text: &str) -> String {
        parse(text, "m.toml").unwrap_err().to_string()
    }

    fn with_service(service: &str) -> String {
        format!("[adapter]\nname = \"a\"\nlisten = \"127.0.0.1:1\"\n\n[[service]]\n{service}")
    }

    #[test]
    fn refusals_name_the_line_and_the_problem() {
        let cases = [
            (
                with_service(
                    "code = \"x\"\nrequest = { fin = \"string\" }\nrest = { url = \"http://h/{fn}\" }\nresponse = { a = \"/a\" }",
                ),
                "m.toml:8: service 'x': url refers to {fn}, which is not a request field (fields: fin)",
            ),
            (
                with_service(
                    "code = \"x\"\nrequest = { fin = \"string\" }\nsql = { database = \"sqlite://d\", query = \"DELETE FROM p WHERE fin = :fin\" }\nresponse = { a = \"a\" }",
                ),
                "m.toml:8: service 'x': query must be one read-only SELECT",
            ),
            (
                with_service(
                    "code = \"x\"\nsql = { database = \"sqlite://d\", query = \"SELECT a FROM p; DROP TABLE p\" }\nresponse = { a = \"a\" }",
                ),
                "only one statement",
            ),
            (
                with_service(
                    "code = \"x\"\nrest = { url = \"http://h/\", timeout_ms = 5000 }\nresponse = { a = \"/a\" }",
                ),
                "m.toml:7: service 'x': timeout_ms must be between 1 and 2000",
            ),
            (
                with_service("code = \"x\"\nrest = { url = \"http://h/\" }\nresponse = { a = \"a\" }"),
                "is not a JSON pointer",
            ),
            (with_service("code = \"x\"\nresponse = { a = \"a\" }"), "has no back end"),
            (
                with_service("code = \"x/y\"\nrest = { url = \"http://h/\" }\nresponse = { a = \"/a\" }"),
                "m.toml:6: service code must be",
            ),
            (
                with_service(
                    "code = \"x\"\nrequest = { fin = \"text\" }\nrest = { url = \"http://h/\" }\nresponse = { a = \"/a\" }",
                ),
                "m.toml:7",
            ),
            (
                with_service("code = \"x\"\nrest = { url = \"ftp://h/\" }\nresponse = { a = \"/a\" }"),
                "not http or https",
            ),
            (
                with_service(
                    "code = \"x\"\nrest = { url = \"http://h/\", body = { a = \"b\" } }\nresponse = { a = \"/a\" }",
                ),
                "only with POST, PUT or PATCH",
            ),
            (
                with_service("code = \"x\"\nrest = { url = \"http://h/\" }\nresponse = { a = \"/a\" }\nsurprise = 1"),
                "m.toml:9: unknown field `surprise`",
            ),
            (
                "[adapter]\nname = \"a\"\nlisten = \"nowhere\"\n".to_owned(),
                "m.toml:3: listen must be an address and port",
            ),
        ];
        for (text, want) in cases {
            let got = error(&text);
            assert!(got.contains(want), "wanted {want:?} in {got:?}\n{text}");
        }
        let secret = with_service(
            "code = \"x\"\nsql = { database = \"mysql://u:hunter2@h/d\", query = \"SELECT 1 AS a\" }\nresponse = { a = \"a\" }",
        );
        assert!(!error(&secret).contains("hunter2"), "connection strings never appear in errors");
        let twice = format!(
            "{}\n\n[[service]]\ncode = \"x\"\nrest = {{ url = \"http://h/\" }}\nresponse = {{ a = \"/a\" }}",
            with_service("code = \"x\"\nrest = { url = \"http://h/\" }\nresponse = { a = \"/a\" }")
        );
        assert!(error(&twice).contains("defined twice"));
    }

    #[test]
    fn sql_parameters_skip_strings_and_casts() {
        assert_eq!(sql_params("SELECT ':no', a::text FROM t WHERE x = :fin AND y = :year").unwrap(), ["fin", "year"]);
        assert!(sql_params("SELECT 'open").is_err());
        assert!(sql_params("SELECT 1 -- x").is_err());
        let (sql, names) = positional_sql("SELECT ':x' FROM t WHERE a = :fin OR b = :year OR c = :fin").unwrap();
        assert_eq!(sql, "SELECT ':x' FROM t WHERE a = $1 OR b = $2 OR c = $1");
        assert_eq!(names, ["fin", "year"]);
    }

    #[test]
    fn templates_fill_and_escape_braces() {
        assert_eq!(placeholders("/a/{x}/{{lit}}/{y}").unwrap(), ["x", "y"]);
        assert_eq!(fill("/a/{x}/{{lit}}", &|n| Some(n.to_uppercase())).unwrap(), "/a/X/{lit}");
        assert!(placeholders("/a/{x").is_err() && placeholders("/a/x}").is_err() && placeholders("{a b}").is_err());
        assert_eq!(fill("/{x}", &|_| None), None);
    }

    proptest::proptest! {
        #[test]
        fn template_and_sql_scanners_never_panic(s in ".{0,60}") {
            let _ = placeholders(&s);
            let _ = fill(&s, &|n| Some(n.to_owned()));
            let _ = sql_params(&s);
            let _ = parse(&s, "fuzz.toml");
        }

        #[test]
        fn filled_templates_hold_exactly_the_values(a in "[a-z0-9]{0,10}", b in "[a-z0-9]{0,10}") {
            let filled = fill("/p/{a}/q?b={b}", &|n| Some(if n == "a" { a.clone() } else { b.clone() })).unwrap();
            proptest::prop_assert_eq!(filled, format!("/p/{a}/q?b={b}"));
        }
    }
}
