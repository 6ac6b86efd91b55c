//! The public handle.

use super::schema::SObject;
use super::*;

/// A running Salesforce simulator: a login host and an instance host.
pub struct SalesforceSim {
    login: OAuthSim,
    server: MockServer,
    pub(super) state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for SalesforceSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceSim")
            .field("login_url", &self.login.uri())
            .field("instance_url", &self.server.uri())
            .finish_non_exhaustive()
    }
}

impl SalesforceSim {
    /// Starts the login host and the instance host on loopback ports.
    pub async fn start(config: SalesforceSimConfig) -> Self {
        let server = MockServer::start().await;
        let mut extra = Map::new();
        extra.insert("instance_url".into(), json!(server.uri()));
        let login = OAuthSim::start(OAuthSimConfig {
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            redirect_uri: config.redirect_uri.clone(),
            authorize_path: "/services/oauth2/authorize".into(),
            token_path: "/services/oauth2/token".into(),
            userinfo_path: "/services/oauth2/userinfo".into(),
            access_lifetime: config.session_lifetime,
            send_expires_in: false,
            sign_issued_at: true,
            rotate_refresh_tokens: false,
            issue_refresh_tokens: true,
            extra_token_fields: extra,
            jwt_public_key_pem: None,
            jwt_audience: String::new(),
        })
        .await;
        login.set_token_field(
            "id",
            json!(format!(
                "{}/id/{}/{}",
                login.uri(),
                config.organization_id,
                config.user_id
            )),
        );
        // Salesforce's OpenID Connect userinfo (a subset of its fields).
        login.set_userinfo(json!({
            "sub": format!("{}/id/{}/{}", login.uri(), config.organization_id, config.user_id),
            "user_id": config.user_id,
            "organization_id": config.organization_id,
            "preferred_username": "integration@acme-corp.example",
            "nickname": "integration",
            "name": "Integration User",
            "email": "integration@acme-corp.example",
            "email_verified": true,
            "given_name": "Integration",
            "family_name": "User",
            "zoneinfo": "Europe/Berlin",
            "active": true,
            "user_type": "STANDARD",
            "language": "en_US",
            "locale": "en_US",
            "urls": {
                "rest": format!("{}/services/data/v{{version}}/", server.uri()),
                "sobjects": format!("{}/services/data/v{{version}}/sobjects/", server.uri()),
                "query": format!("{}/services/data/v{{version}}/query/", server.uri()),
            },
        }));
        // With My Domain the org's own host (the instance) answers OAuth too.
        login.mount_on(&server).await;
        let state = Arc::new(Mutex::new(State::new(config, login.live_tokens())));
        mount(&server, &state).await;
        Self {
            login,
            server,
            state,
        }
    }

    /// Starts with [`SalesforceSimConfig::default`].
    pub async fn start_default() -> Self {
        Self::start(SalesforceSimConfig::default()).await
    }

    fn st(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// The login host, `http://127.0.0.1:PORT` (`/services/oauth2/authorize`
    /// and `/services/oauth2/token` answer there).
    pub fn login_url(&self) -> String {
        self.login.uri()
    }

    /// The org's My Domain host: the instance host, where
    /// `/services/oauth2/authorize` and `/services/oauth2/token` answer as
    /// on the login host (one authorization server, two hosts).
    pub fn my_domain_url(&self) -> String {
        self.server.uri()
    }

    /// The full authorize URL.
    pub fn authorize_url(&self) -> String {
        self.login.authorize_url()
    }

    /// The full token URL.
    pub fn token_url(&self) -> String {
        self.login.token_url()
    }

    /// The instance host the token's `instance_url` names, where the REST
    /// API answers.
    pub fn instance_url(&self) -> String {
        self.server.uri()
    }

    /// The authorization server underneath (counters, `deny_next`,
    /// `revoke_all`, the last token form).
    pub fn oauth(&self) -> &OAuthSim {
        &self.login
    }

    /// Follows an authorize URL as the user's browser would and returns the
    /// redirect (the callback URL with `code` and `state`, or `error`);
    /// `None` when the login host refused to redirect (unknown client or
    /// callback URL).
    pub fn follow(&self, authorize_url: &str) -> Option<String> {
        self.login.follow(authorize_url)
    }

    /// Ends every session now (the next API call gets 401
    /// `INVALID_SESSION_ID`; refresh tokens still work).
    pub fn expire_sessions(&self) {
        self.login.expire_access_tokens();
    }

    /// Revokes every session and refresh token (the user revoked the app).
    pub fn revoke_all(&self) {
        self.login.revoke_all();
    }

    /// The organization id (`00D...`).
    pub fn organization_id(&self) -> String {
        self.st().config.organization_id.clone()
    }

    /// Sets the API requests counted in the rolling 24 hours.
    pub fn set_api_usage(&self, used: u64) {
        self.st().api_usage = used;
    }

    /// The API requests counted in the rolling 24 hours.
    pub fn api_usage(&self) -> u64 {
        self.st().api_usage
    }

    /// The daily allocation (`DailyApiRequests.Max`).
    pub fn daily_api_limit(&self) -> u64 {
        self.st().config.daily_api_limit
    }

    /// The API requests counted against the connected app's allocation.
    pub fn app_usage(&self) -> u64 {
        self.st().app_usage
    }

    /// Records a change to account `id` made in Salesforce (a new
    /// `LastModifiedDate` and `SystemModstamp`); `false` if there is none.
    pub fn touch_account(&self, id: &str) -> bool {
        self.st().touch(SObject::Account, id)
    }

    /// Sets fields of a record as a user would in Salesforce, with no
    /// checks, and stamps the change; `false` if there is no such record
    /// (`object`: `Account`, `Contact`, `Opportunity`,
    /// `OpportunityContactRole`).
    pub fn edit(&self, object: &str, id: &str, fields: Value) -> bool {
        let Some(object) = SObject::parse(object) else {
            return false;
        };
        let mut st = self.st();
        let Some(row) = st.find_mut(object, id) else {
            return false;
        };
        if let Value::Object(map) = fields {
            for (k, v) in map {
                row.insert(k, v);
            }
        }
        st.touch(object, id)
    }

    /// Creates a record as a user would in Salesforce, with no checks
    /// (`object` as in [`SalesforceSim::edit`]; `fields` an object of API
    /// names). The new id, or `None` for an unknown object.
    pub fn create(&self, object: &str, fields: Value) -> Option<String> {
        let object = SObject::parse(object)?;
        let Value::Object(fields) = fields else {
            return None;
        };
        let mut st = self.st();
        let at = st.tick();
        let id = st.insert(object, fields, at);
        if object == SObject::OpportunityContactRole {
            if let Some(opp) = st
                .find(object, &id)
                .and_then(|r| r.get("OpportunityId"))
                .and_then(Value::as_str)
                .map(str::to_string)
            {
                st.sync_primary_contact(&opp);
            }
        }
        Some(id)
    }

    /// Deletes account `id` as a user would (to the recycle bin, with its
    /// contacts and opportunities); `false` if there is no live account.
    pub fn delete_account(&self, id: &str) -> bool {
        self.st().cascade_delete(SObject::Account, id)
    }

    /// Deletes any record (`object` as in [`SalesforceSim::edit`]).
    pub fn delete(&self, object: &str, id: &str) -> bool {
        SObject::parse(object).is_some_and(|o| self.st().cascade_delete(o, id))
    }

    /// Every account, deleted ones too (`IsDeleted`), with every field.
    pub fn accounts(&self) -> Vec<Value> {
        self.st().rows(SObject::Account)
    }

    /// Every contact, deleted ones too.
    pub fn contacts(&self) -> Vec<Value> {
        self.st().rows(SObject::Contact)
    }

    /// Every opportunity, deleted ones too.
    pub fn opportunities(&self) -> Vec<Value> {
        self.st().rows(SObject::Opportunity)
    }

    /// Every opportunity contact role, deleted ones too.
    pub fn contact_roles(&self) -> Vec<Value> {
        self.st().rows(SObject::OpportunityContactRole)
    }

    /// One record by id (any type), deleted or not.
    pub fn record(&self, id: &str) -> Option<Value> {
        let st = self.st();
        SObject::ALL
            .iter()
            .find_map(|o| st.find(*o, id).cloned().map(Value::Object))
    }

    /// Adds a validation rule: any write that sets `object.field` fails
    /// with 400 `FIELD_CUSTOM_VALIDATION_EXCEPTION`, `message`, and
    /// `fields: [field]`.
    pub fn add_validation_rule(&self, object: &str, field: &str, message: &str) {
        let Some(object) = SObject::parse(object) else {
            return;
        };
        let field = object
            .field(field)
            .map_or(field.to_string(), |f| f.name.to_string());
        self.st().rules.push(state::Rule {
            object,
            field,
            message: message.to_string(),
        });
    }

    /// Removes every validation rule.
    pub fn clear_validation_rules(&self) {
        self.st().rules.clear();
    }

    /// Every request the instance host received, in order (token requests
    /// go to the login host: see [`SalesforceSim::oauth`]).
    pub fn requests(&self) -> Vec<SimRequest> {
        self.st().sim.log.all().to_vec()
    }

    /// How many requests the instance host received.
    pub fn request_count(&self) -> usize {
        self.st().sim.log.len()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.st().sim.log.clear();
    }

    /// Answers the next `n` counted API calls with `status` and
    /// Salesforce's body for it (403: `REQUEST_LIMIT_EXCEEDED`; 503:
    /// `SERVER_UNAVAILABLE`; 500: `UNKNOWN_EXCEPTION`).
    pub fn fail_next(&self, n: u64, status: u16) {
        self.st().sim.faults.set_next(n, status);
    }

    /// Every `k`-th counted API call from now on fails with `status`
    /// (`k = 0` stops it).
    pub fn fail_every(&self, k: u64, status: u16) {
        self.st().sim.faults.set_every(k, status);
    }

    /// Stops every injected failure.
    pub fn clear_faults(&self) {
        self.st().sim.faults.clear();
    }

    /// What fault injection did so far.
    pub fn fault_stats(&self) -> FaultStats {
        self.st().sim.faults.stats()
    }

    /// Delays every answer by `latency` (`None`: no delay).
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.st().config.latency = latency;
    }

    /// Delays the next `n` answers by `latency`, then goes back to
    /// [`SalesforceSim::set_latency`]'s setting.
    pub fn slow_next(&self, n: u32, latency: Duration) {
        let mut st = self.st();
        st.slow_next = n;
        st.slow_latency = latency;
    }

    /// Every SOQL query received, in order (to check what a client
    /// selects and the batch size it asks for).
    pub fn queries(&self) -> Vec<SimQuery> {
        self.st().queries.clone()
    }

    /// Open query cursors (`nextRecordsUrl`s not yet read to the end).
    pub fn open_cursors(&self) -> usize {
        self.st().cursors.len()
    }
}
