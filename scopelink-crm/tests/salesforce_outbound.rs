//! Outbound Message receipt against the simulator's messages: checked
//! (org, action), parsed, applied through the engine, acknowledged.

mod support;

use scopelink_core::connector::WebhookReceiver;
use scopelink_core::webhook::WebhookRequest;
use scopelink_core::{DataType, WebhookError};
use scopelink_crm::salesforce::ACK_RESPONSE;
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};
use support::connect_with;

const ACTION: &str = "04k5g000000AbCdAAA";

fn request(headers: Vec<(String, String)>, body: String) -> WebhookRequest {
    WebhookRequest {
        headers,
        body: body.into_bytes(),
        url: None,
    }
}

#[tokio::test]
async fn salesforce_outbound_messages_are_checked_applied_and_acknowledged() {
    let c = connect_with(
        SalesforceSimConfig::default(),
        &[("outbound_action_id", ACTION)],
    )
    .await;
    let engine = c.env.engine();
    engine
        .run(
            &c.env.access,
            &c.id,
            &c.connector,
            &scopelink_core::SyncRequest::all().data_types([DataType::Companies]),
            None,
        )
        .await
        .unwrap();
    let id = c.sim.accounts()[5]["Id"].as_str().unwrap().to_string();
    assert!(c.sim.edit(
        "Account",
        &id,
        serde_json::json!({"Name": "Renamed by a workflow"})
    ));
    let receiver = c.connector.outbound_messages().unwrap();
    let (headers, body) = c.sim.outbound_message(ACTION, &[id.as_str()]);
    let events = receiver
        .receive(&request(headers.clone(), body.clone()))
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].external_id, id);
    let applied = engine
        .apply_webhook(&c.id, &c.connector, events.clone())
        .await
        .unwrap();
    assert_eq!(applied.updated, 1, "{applied:?}");
    // Salesforce may deliver it again: nothing is applied twice.
    let again = engine
        .apply_webhook(&c.id, &c.connector, events)
        .await
        .unwrap();
    assert_eq!((again.updated, again.skipped), (0, 1));
    // The reply the listener sends back is the acknowledgement Salesforce expects.
    assert_eq!(
        ACK_RESPONSE.replace(char::is_whitespace, ""),
        SalesforceSim::outbound_ack().replace(char::is_whitespace, "")
    );

    // Another action of the same org is refused.
    let (headers, body) = c.sim.outbound_message("04k5g000000ZzZzAAA", &[id.as_str()]);
    let err = receiver.receive(&request(headers, body)).await.unwrap_err();
    assert!(
        matches!(err, WebhookError::NotForThisConnection { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn salesforce_outbound_messages_of_another_org_are_refused() {
    let c = connect_with(SalesforceSimConfig::default(), &[]).await;
    let other = SalesforceSim::start(SalesforceSimConfig {
        organization_id: "00D5g000009OtherAAA".into(),
        ..SalesforceSimConfig::default()
    })
    .await;
    let id = other.accounts()[0]["Id"].as_str().unwrap().to_string();
    let (headers, body) = other.outbound_message(ACTION, &[id.as_str()]);
    let err = c
        .connector
        .outbound_messages()
        .unwrap()
        .receive(&request(headers, body))
        .await
        .unwrap_err();
    assert!(
        matches!(err, WebhookError::NotForThisConnection { .. }),
        "{err}"
    );
    assert_eq!(err.response_status(), 403);
}
