//! Keyset paging of the Autotask simulator's queries with a filter that
//! skips rows: every matching row once, in id order, and each page's
//! `prevPageUrl` naming the page before it. Plain reqwest, no connector.

use scopelink_testkit::autotask::{AutotaskSim, AutotaskSimConfig};
use serde_json::{json, Value};

async fn post(sim: &AutotaskSim, url: &str, body: &Value) -> Value {
    let c = sim.config();
    let resp = reqwest::Client::new()
        .post(url)
        .header("ApiIntegrationCode", c.integration_code)
        .header("UserName", c.username)
        .header("Secret", c.secret)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("the simulator answers");
    assert_eq!(resp.status(), 200);
    resp.json().await.expect("a JSON page")
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

fn link(page: &Value, which: &str) -> Option<String> {
    page["pageDetails"][which].as_str().map(str::to_string)
}

#[tokio::test]
async fn filtered_pages_cover_every_match_once_and_link_back_one_page() {
    let sim = AutotaskSim::start(AutotaskSimConfig {
        companies: 47,
        ..AutotaskSimConfig::default()
    })
    .await;
    let active: Vec<i64> = sim
        .companies()
        .iter()
        .filter(|c| c["isActive"] == true)
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    assert!(
        active.len() > 20 && active.len() < 47,
        "the filter skips some rows"
    );
    let body = json!({
        "MaxRecords": 7,
        "IncludeFields": ["id", "isActive"],
        "filter": [{"op": "eq", "field": "isActive", "value": true}],
    });

    let mut pages: Vec<Value> = vec![
        post(
            &sim,
            &format!("{}v1.0/Companies/query", sim.zone_url()),
            &body,
        )
        .await,
    ];
    while let Some(next) = link(pages.last().expect("a page"), "nextPageUrl") {
        pages.push(post(&sim, &next, &body).await);
    }
    let seen: Vec<i64> = pages.iter().flat_map(ids).collect();
    assert_eq!(seen, active, "every active company once, by id");
    assert_eq!(pages.len(), active.len().div_ceil(7));
    assert!(pages[..pages.len() - 1].iter().all(|p| ids(p).len() == 7));

    assert_eq!(link(&pages[0], "prevPageUrl"), None);
    for i in 1..pages.len() {
        let prev = link(&pages[i], "prevPageUrl").expect("a previous page");
        let back = post(&sim, &prev, &body).await;
        assert_eq!(
            ids(&back),
            ids(&pages[i - 1]),
            "page {i} links back to page {}",
            i - 1
        );
    }
}
