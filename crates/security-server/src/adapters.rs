//! Adapter servers connected to this security server (TT-4.1.4, TT-4.2): their mapping
//! files are kept here and pushed from here, and the services a mapping declares are
//! registered here — SOAP from the generated WSDL, REST from the generated OpenAPI — at the
//! address the adapter reports after the push. Changing an adapter's address or protocol is
//! a new mapping pushed to where it runs now.

use egov_adapter::{AdapterError, describe, front, mapping};
use egov_xroad::ClientId;

use crate::conf::{ConfError, ConfStore};

/// An adapter as this server keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAdapter {
    /// The adapter's name (from its mapping).
    pub name: String,
    /// The client whose services it answers.
    pub client: ClientId,
    /// Where it answers.
    pub base_url: String,
    /// The mapping file's text.
    pub mapping: String,
}

/// Why connecting an adapter failed.
#[derive(Debug, thiserror::Error)]
pub enum AdapterLinkError {
    /// The mapping or the push was refused (the message says where and why).
    #[error(transparent)]
    Adapter(#[from] AdapterError),
    /// The configuration store refused.
    #[error(transparent)]
    Conf(#[from] ConfError),
}

/// Validates `text`, pushes it to the adapter (at `url`, or where this server last saw it),
/// keeps it, and registers its services for `client`, replacing what an earlier mapping of
/// the same adapter registered. Returns the adapter as stored.
pub async fn connect(
    store: &ConfStore,
    client: &ClientId,
    text: &str,
    url: Option<&str>,
    token: &str,
    ca_pem: Option<&[u8]>,
) -> Result<StoredAdapter, AdapterLinkError> {
    let mut parsed = mapping::parse(text, "mapping")?;
    // everything that can be checked here is checked before the adapter changes
    if !store.load().await?.hosts(client) {
        return Err(ConfError::NotFound(format!(
            "client {client} is not registered on this security server (egov ss client add)"
        ))
        .into());
    }
    let previous = store.adapter(&parsed.name).await?;
    if parsed.tls.is_some() && ca_pem.is_none() {
        return Err(ConfError::Invalid(
            "the adapter serves HTTPS: give its certificate (or its CA's) so this server can verify it".into(),
        )
        .into());
    }
    let target = url
        .map(str::to_owned)
        .or_else(|| previous.as_ref().map(|p| p.base_url.clone()))
        .unwrap_or_else(|| parsed.base_url.clone());
    let answer = egov_adapter::push(&target, token, text, ca_pem).await?;
    // the adapter says where it now listens (a mapping may ask for any free port)
    let reported: Option<String> = serde_json::from_str::<serde_json::Value>(&answer)
        .ok()
        .and_then(|v| v.get("base_url").and_then(|u| u.as_str()).map(str::to_owned));
    if let Some(base) = reported {
        parsed.base_url = base;
    }
    let old_base = previous.as_ref().map(|p| p.base_url.as_str());
    if let Err(e) = store.replace_adapter_services(client, &parsed.base_url, old_base, &services(&parsed)).await {
        // the adapter runs the new mapping already; say so, so the administrator reruns
        return Err(ConfError::Invalid(format!(
            "the adapter applied the mapping, but registering its services failed ({e}); run connect again"
        ))
        .into());
    }
    let stored = StoredAdapter {
        name: parsed.name.clone(),
        client: client.clone(),
        base_url: parsed.base_url.clone(),
        mapping: text.to_owned(),
    };
    let certificate = ca_pem.map(|p| String::from_utf8_lossy(p).into_owned());
    store.save_adapter(&stored, token, certificate.as_deref()).await?;
    Ok(stored)
}

/// What a mapping registers on the security server.
#[derive(Debug, Clone)]
pub struct AdapterServices {
    /// WSDL URL and text (all SOAP services).
    pub wsdl: (String, String),
    /// Per REST service: code, base URL, OpenAPI text, method of its one endpoint.
    pub rest: Vec<(String, String, String, &'static str)>,
}

fn services(m: &mapping::AdapterMapping) -> AdapterServices {
    let wsdl = describe::wsdl(m, &format!("{}/soap", m.base_url));
    let rest = m
        .services
        .iter()
        .map(|s| {
            let url = front::rest_url(m, &s.code);
            let openapi = describe::openapi(m, s, &url).to_string();
            (s.code.clone(), url, openapi, if s.is_write() { "POST" } else { "GET" })
        })
        .collect();
    AdapterServices { wsdl: (format!("{}/wsdl", m.base_url), wsdl), rest }
}
