//! No Salesforce secret in logs, errors or `Debug` output: the consumer
//! secret, the authorization code, every access token (the first and the
//! refreshed one) and the refresh token, through a connection's whole life
//! against the testkit's Salesforce simulator (connect, test, sync, an
//! expired session refreshed, a field error, the daily quota, an Outbound
//! Message, a revoked app), with every event and span captured at TRACE
//! level.

mod salesforce_support;

use salesforce_support::*;
use scopelink_core::connector::{
    Connector, CrmSource, OpportunityUpdate, OpportunityWriteBack, WebhookReceiver,
};
use scopelink_core::secret::Credentials;
use scopelink_core::webhook::WebhookRequest;
use scopelink_reliability::log_capture::LogCapture;
use scopelink_reliability::secrets::Secrets;
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use secrecy::ExposeSecret;
use url::Url;

const CLIENT_SECRET: &str = "sf-consumer-secret-DO-NOT-LOG-4242";

fn capture() -> &'static LogCapture {
    LogCapture::global().expect("no other global subscriber in this test binary")
}

async fn tokens(sf: &SfHost) -> (String, Option<String>) {
    match sf
        .host
        .connections
        .credentials(&scopelink_core::Access::full(), &sf.host.conn)
        .await
        .unwrap()
    {
        Credentials::OAuth(t) => (
            t.access_token.expose_secret().to_string(),
            t.refresh_token.map(|r| r.expose_secret().to_string()),
        ),
        _ => panic!("not OAuth credentials"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_no_secret_reaches_logs_errors_or_debug() {
    let cap = capture();
    tracing::info!("capture on");
    let config = SalesforceSimConfig {
        client_secret: CLIENT_SECRET.into(),
        accounts: 30,
        ..SalesforceSimConfig::default()
    };
    let sim = SalesforceSim::start(config.clone()).await;
    let sf = SfHost::connect(
        &sim,
        &config,
        &[("outbound_action_id", "04k5g000000AbCdAAA")],
    )
    .await;
    let mut secrets = Secrets::new();
    secrets.add("consumer secret", CLIENT_SECRET);
    let code = Url::parse(&sf.callback)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    secrets.add("authorization code", &code);
    let (access, refresh) = tokens(&sf).await;
    secrets.add("access token", &access);
    secrets.add("refresh token", refresh.expect("a refresh token"));

    let connector = sf.connector(None).await;
    connector.test_connection().await.unwrap();
    let rec = Recorder::default();
    sf.host.run_crm(&connector, &rec).await.unwrap();

    // The session expires: one refresh, a new access token.
    sim.expire_sessions();
    connector.test_connection().await.unwrap();
    let (renewed, _) = tokens(&sf).await;
    assert_ne!(renewed, access);
    secrets.add("refreshed access token", &renewed);

    // Errors: a refused field, the quota, a forged Outbound Message, the
    // revoked app.
    let opp = sim.opportunities()[0]["Id"].as_str().unwrap().to_string();
    let field = connector
        .update_opportunity(
            &opp,
            &OpportunityUpdate {
                stage: Some("No Such Stage".into()),
                ..OpportunityUpdate::default()
            },
        )
        .await
        .unwrap_err();
    secrets.check_error("a field error", &field);
    sim.set_api_usage(sim.daily_api_limit());
    let quota = connector.filter_options().await.unwrap_err();
    secrets.check_error("the quota error", &quota);
    sim.set_api_usage(0);
    let (headers, body) = sim.outbound_message("04k5g000000ZzZzAAA", &[opp.as_str()]);
    let forged = connector
        .outbound_messages()
        .unwrap()
        .receive(&WebhookRequest {
            headers,
            body: body.into_bytes(),
            url: None,
        })
        .await
        .unwrap_err();
    secrets.check_error("an Outbound Message refusal", &forged);
    sim.revoke_all();
    sim.expire_sessions();
    let revoked = connector.test_connection().await.unwrap_err();
    secrets.check_error("the revoked-app error", &revoked);

    // Debug output of everything a host holds.
    secrets.check_debug("the connector", &connector);
    secrets.check_debug("the OAuth client", &sf.client);
    let connection = sf
        .host
        .connections
        .get(&sf.host.access, &sf.host.conn)
        .await
        .unwrap();
    secrets.check_debug("the connection", &connection);
    secrets.check_debug(
        "the settings",
        &scopelink_crm::salesforce::SalesforceSettings::from_map(&connection.settings).unwrap(),
    );

    secrets.check_log(cap);
    assert!(
        cap.text().contains("http_request"),
        "the capture saw the HTTP spans, so the check means something"
    );
}
