//! The simulator's set-up: the connected app, the org's data and limits.

use std::time::Duration;

/// How a [`super::SalesforceSim`] is set up. `Default` is a realistic
/// Enterprise Edition org with a registered connected app.
#[derive(Debug, Clone)]
pub struct SalesforceSimConfig {
    /// The connected app's consumer key.
    pub client_id: String,
    /// The connected app's consumer secret.
    pub client_secret: String,
    /// The connected app's callback URL (matched exactly).
    pub redirect_uri: String,
    /// Generated accounts.
    pub accounts: usize,
    /// Generated contacts per account.
    pub contacts_per_account: usize,
    /// Generated opportunities (spread over the accounts; every other one
    /// gets a primary contact role).
    pub opportunities: usize,
    /// The API versions the org lists at `GET /services/data/`, e.g.
    /// `"62.0"`; others answer 404.
    pub api_versions: Vec<String>,
    /// The org's rolling 24-hour API request allocation
    /// (`DailyApiRequests.Max`).
    pub daily_api_limit: u64,
    /// API requests already counted against the allocation at start.
    pub api_usage: u64,
    /// The connected app's own allocation, if one is set:
    /// `(app name, max)`, reported as `per-app-api-usage` in
    /// `Sforce-Limit-Info` and under `DailyApiRequests` in `/limits` (reported,
    /// not enforced: no public source says how Salesforce refuses it).
    pub per_app_limit: Option<(String, u64)>,
    /// How long a session (access token) lives; `None`: until
    /// [`super::SalesforceSim::expire_sessions`]. Token answers never say
    /// (Salesforce sends no `expires_in`).
    pub session_lifetime: Option<Duration>,
    /// Delay added to every API answer.
    pub latency: Option<Duration>,
    /// Whether the org has multiple currencies enabled: only then do
    /// records have `CurrencyIsoCode` (a query naming it in a
    /// single-currency org is refused with `INVALID_FIELD`).
    pub multi_currency: bool,
    /// The organization id (`00D...`, 18 characters).
    pub organization_id: String,
    /// The integration user's id (`005...`).
    pub user_id: String,
}

impl Default for SalesforceSimConfig {
    fn default() -> Self {
        Self {
            client_id: "3MVG9sim.consumer.key".into(),
            client_secret: "sim-consumer-secret".into(),
            redirect_uri: "https://app.example.com/oauth/salesforce/callback".into(),
            accounts: 25,
            contacts_per_account: 2,
            opportunities: 40,
            api_versions: ["58.0", "59.0", "60.0", "61.0", "62.0"]
                .map(String::from)
                .to_vec(),
            daily_api_limit: 15_000,
            api_usage: 0,
            per_app_limit: None,
            session_lifetime: Some(Duration::from_secs(2 * 3600)),
            latency: None,
            multi_currency: false,
            organization_id: "00D5g000004SimOEAS".into(),
            user_id: "0055g00000SimUsAAJ".into(),
        }
    }
}
