//! The Autotask simulator's answers have the shapes of the fixtures
//! (`fixtures/autotask/*.json`, each citing its public source in the
//! folder's README): the same keys, the same JSON types.

use reqwest::Method;
use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use serde_json::{json, Value};
use std::collections::BTreeSet;

fn fixture(text: &str) -> Value {
    serde_json::from_str(text).expect("fixture JSON")
}

/// The keys of an object, annotations (`_http`, `_note`) left out.
fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .expect("an object")
        .keys()
        .filter(|k| !k.starts_with('_'))
        .cloned()
        .collect()
}

/// The JSON type of each key (`null` matches any type: the fixtures'
/// nulls are values, not types).
fn same_types(ours: &Value, theirs: &Value, what: &str) {
    for k in keys(theirs) {
        let (a, b) = (&ours[&k], &theirs[&k]);
        if a.is_null() || b.is_null() {
            continue;
        }
        let kind = |v: &Value| match v {
            Value::Bool(_) => "bool",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
            Value::Null => "null",
        };
        assert_eq!(kind(a), kind(b), "{what}.{k}: {a} vs {b}");
    }
}

async fn call(sim: &AutotaskSim, method: Method, path: &str, body: Option<Value>) -> Value {
    let c = sim.config();
    let mut rb = reqwest::Client::new()
        .request(method, format!("{}v1.0/{path}", sim.zone_url()))
        .header("ApiIntegrationCode", c.integration_code)
        .header("UserName", c.username)
        .header("Secret", c.secret);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let resp = rb.send().await.expect("answer");
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.expect("JSON")
}

#[tokio::test]
async fn answers_have_the_fixtures_keys_and_types() {
    let sim = AutotaskSim::start(AutotaskSimConfig::default()).await;

    let zone: Value = reqwest::get(format!(
        "{}/ATServicesRest/v1.0/zoneInformation?user=sync-api%40example-msp.com",
        sim.zone_lookup_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let sample = fixture(include_str!(
        "../../fixtures/autotask/zone_information.json"
    ));
    assert_eq!(keys(&zone), keys(&sample));
    same_types(&zone, &sample, "zoneInformation");

    let threshold = call(&sim, Method::GET, "ThresholdInformation", None).await;
    let sample = fixture(include_str!(
        "../../fixtures/autotask/threshold_information.json"
    ));
    assert_eq!(keys(&threshold), keys(&sample));
    same_types(&threshold, &sample, "ThresholdInformation");

    let page = call(
        &sim,
        Method::POST,
        "Companies/query",
        Some(json!({"MaxRecords": 2, "filter": [{"op": "exist", "field": "id"}]})),
    )
    .await;
    let sample = fixture(include_str!(
        "../../fixtures/autotask/companies_query_page.json"
    ));
    assert_eq!(keys(&page), keys(&sample));
    assert_eq!(keys(&page["pageDetails"]), keys(&sample["pageDetails"]));
    same_types(&page["pageDetails"], &sample["pageDetails"], "pageDetails");
    let ours = &page["items"][0];
    let theirs = &sample["items"][0];
    assert!(
        keys(ours).is_superset(&keys(theirs)),
        "a company has every key of the sample: missing {:?}",
        keys(theirs).difference(&keys(ours)).collect::<Vec<_>>()
    );
    same_types(ours, theirs, "company");
    for k in keys(theirs) {
        assert_eq!(
            ours[&k], theirs[&k],
            "the first company is the fixture's: {k}"
        );
    }

    let count = call(
        &sim,
        Method::POST,
        "Companies/query/count",
        Some(json!({"filter": [{"op": "eq", "field": "companyType", "value": 1}]})),
    )
    .await;
    let sample = fixture(include_str!("../../fixtures/autotask/query_count.json"));
    assert_eq!(keys(&count), keys(&sample));

    let fields = call(
        &sim,
        Method::GET,
        "Companies/entityInformation/fields",
        None,
    )
    .await;
    let sample = fixture(include_str!("../../fixtures/autotask/company_fields.json"));
    for theirs in sample["fields"].as_array().unwrap() {
        let ours = fields["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == theirs["name"])
            .unwrap_or_else(|| panic!("field {}", theirs["name"]));
        assert_eq!(keys(ours), keys(theirs), "{}", theirs["name"]);
        same_types(ours, theirs, "field");
        for flag in ["dataType", "isRequired", "isPickList", "isQueryable"] {
            assert_eq!(ours[flag], theirs[flag], "{}.{flag}", theirs["name"]);
        }
        if let Some(list) = theirs["picklistValues"].as_array() {
            let ours_list = ours["picklistValues"].as_array().unwrap();
            assert_eq!(keys(&ours_list[0]), keys(&list[0]));
            same_types(&ours_list[0], &list[0], "picklist value");
            if theirs["name"] == "companyType" {
                let labels = |l: &[Value]| -> Vec<(Value, Value)> {
                    l.iter()
                        .map(|p| (p["value"].clone(), p["label"].clone()))
                        .collect()
                };
                assert_eq!(labels(ours_list), labels(list));
            }
        }
    }

    // The swagger's `Field` model (UserDefinedFieldInformationResultModel).
    let udfs = call(
        &sim,
        Method::GET,
        "Companies/entityInformation/userDefinedFields",
        None,
    )
    .await;
    let udf = &udfs["fields"][0];
    assert_eq!(udf["name"], "Customer Tier");
    let swagger_field: BTreeSet<String> = [
        "name",
        "label",
        "type",
        "length",
        "description",
        "isRequired",
        "isReadOnly",
        "isQueryable",
        "isReference",
        "referenceEntityType",
        "isPickList",
        "picklistValues",
        "picklistParentValueField",
        "defaultValue",
        "isSupportedWebhookField",
    ]
    .iter()
    .map(|k| k.to_string())
    .collect();
    assert_eq!(keys(udf), swagger_field);

    let item = call(&sim, Method::GET, "Opportunities/4817", None).await;
    let sample = fixture(include_str!(
        "../../fixtures/autotask/opportunity_item.json"
    ));
    assert_eq!(keys(&item), keys(&sample));
    for k in keys(&sample["item"]) {
        assert_eq!(item["item"][&k], sample["item"][&k], "opportunity {k}");
    }

    let webhook: Value = fixture(include_str!(
        "../../fixtures/autotask/company_webhook_create.json"
    ));
    let mut body = webhook.as_object().unwrap().clone();
    body.remove("_http");
    let created = call(
        &sim,
        Method::POST,
        "CompanyWebhooks",
        Some(Value::Object(body)),
    )
    .await;
    let sample = fixture(include_str!("../../fixtures/autotask/create_response.json"));
    assert_eq!(keys(&created), keys(&sample));
    same_types(&created, &sample, "create");
}
