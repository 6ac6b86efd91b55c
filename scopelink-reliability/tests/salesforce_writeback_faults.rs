//! A Salesforce write-back cut off halfway: the answer to the contact-role
//! `POST` is reset after Salesforce created the role, so the connector sees
//! an error (a POST is never resent blindly). Running the write-back again
//! completes it without a second role: the role is found and kept.

mod salesforce_support;

use rust_decimal::Decimal;
use salesforce_support::*;
use scopelink_core::connector::{OpportunityUpdate, OpportunityWriteBack};
use scopelink_reliability::fault_proxy::{Fault, FaultProxy};
use scopelink_testkit::salesforce::{SalesforceSim, SalesforceSimConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn salesforce_a_writeback_cut_off_after_the_role_post_completes_once_when_rerun() {
    let config = SalesforceSimConfig::default();
    let sim = SalesforceSim::start(config.clone()).await;
    let sf = SfHost::connect(&sim, &config, &[]).await;
    let proxy = FaultProxy::start_for(&sim.instance_url()).await.unwrap();
    let connector = sf.connector(Some(&proxy.url())).await;

    // An opportunity without a primary contact, and a contact of its account.
    let opp = sim
        .opportunities()
        .into_iter()
        .find(|o| o["ContactId"].is_null())
        .expect("an opportunity without a primary contact");
    let opp_id = opp["Id"].as_str().unwrap().to_string();
    let account = opp["AccountId"].as_str().unwrap().to_string();
    let contact = sim
        .contacts()
        .into_iter()
        .find(|c| c["AccountId"].as_str() == Some(account.as_str()))
        .unwrap();
    let contact_id = contact["Id"].as_str().unwrap().to_string();
    let update = OpportunityUpdate {
        probability: Some(Decimal::from(40)),
        stage: Some("Value Proposition".into()),
        contact_id: Some(contact_id.clone()),
        ..OpportunityUpdate::default()
    };

    // Requests: 1 versions, 2 PATCH, 3 roles query, 4 role POST.
    proxy.fault_request(4, Fault::ResetMidBody(0));
    let err = connector
        .update_opportunity(&opp_id, &update)
        .await
        .expect_err("the POST's answer was cut off");
    assert!(!err.is_auth_failure(), "{err}");
    let roles_for = |sim: &SalesforceSim| {
        sim.contact_roles()
            .into_iter()
            .filter(|r| r["OpportunityId"].as_str() == Some(opp_id.as_str()))
            .filter(|r| r["ContactId"].as_str() == Some(contact_id.as_str()))
            .count()
    };
    assert_eq!(
        roles_for(&sim),
        1,
        "Salesforce created the role before the reset"
    );
    let posts = proxy.log().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts, 1, "the POST was not resent");

    connector
        .update_opportunity(&opp_id, &update)
        .await
        .unwrap();
    assert_eq!(roles_for(&sim), 1, "no second role");
    let row = sim.record(&opp_id).unwrap();
    assert_eq!(row["ContactId"], contact_id.as_str());
    assert_eq!(row["StageName"], "Value Proposition");
    assert_eq!(row["Probability"].as_f64(), Some(40.0));
}
