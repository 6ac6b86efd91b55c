//! The hidden benchmark-support path `fuzz::entity` (what the benchmark's
//! bare loop asks Autotask for) names the entity and the `IncludeFields`
//! that a sync's queries really send, for every data type.

mod common;

use common::setup;
use scopelink_autotask::fuzz;
use scopelink_core::model::DataType;
use scopelink_core::SyncRequest;
use scopelink_testkit::autotask::AutotaskSimConfig;
use serde_json::json;

#[tokio::test]
async fn the_bare_loops_fields_are_the_ones_a_sync_asks_for() {
    let s = setup(AutotaskSimConfig {
        companies: 3,
        contacts_per_company: 1,
        opportunities: 2,
        configuration_items: 2,
        products: 2,
        ..AutotaskSimConfig::default()
    })
    .await;
    s.env
        .engine()
        .run(
            &s.env.access,
            &s.conn,
            &s.at,
            &SyncRequest::all().full(),
            None,
        )
        .await
        .expect("the sync completes");
    let requests = s.sim.requests();
    for data_type in DataType::SYNC_ORDER {
        let (entity, fields) = fuzz::entity(data_type).expect("Autotask syncs every type");
        assert_eq!(fields.first(), Some(&"id"), "{entity}: id comes first");
        let bodies: Vec<_> = requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(&format!("/{entity}/query")))
            .map(|r| r.body.clone().expect("a JSON body"))
            .collect();
        assert!(!bodies.is_empty(), "the sync never queried {entity}");
        for body in bodies {
            assert_eq!(body["IncludeFields"], json!(fields), "{entity}");
        }
    }
}
