//! Tracing spans of a sync run, its data types and a push (issue 13).
//!
//! A HaloPSA connection (CRM and PSA) syncs from the simulator and pushes
//! the sample scoping project, under a subscriber that records every span
//! with its fields and parent. The checks: one `sync_run` span carrying
//! the connection id and the provider, one `sync_data_type` span per data
//! type inside it carrying the data type too, the connector's
//! `http_request` spans inside those, one `push_project` span with its
//! requests inside it; and no secret in any span or event field.

use chrono::Utc;
use scopelink_core::http::{AddressPolicy, HttpConfig};
use scopelink_core::mapping::{sample_project, PushOptions};
use scopelink_core::secret::{ClientCredentials, CredentialRef, InMemoryVault};
use scopelink_core::store::ConnectionStore;
use scopelink_core::{
    Access, Connection, ConnectionId, Connections, FeatureCategory, MemoryStore, Provider,
    SyncEngine, SyncRequest,
};
use scopelink_halopsa::{HaloPsaConnector, HaloPsaSettings};
use scopelink_testkit::halopsa::HaloPsaSim;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

/// The simulator's application secret, which must show nowhere.
const SECRET: &str = "sim-secret";

/// One span as it was opened (and later recorded into).
#[derive(Debug, Clone)]
struct SpanRecord {
    name: &'static str,
    fields: BTreeMap<String, String>,
    /// Index of the parent span in [`Seen::spans`].
    parent: Option<usize>,
}

#[derive(Default)]
struct Seen {
    spans: Vec<SpanRecord>,
    /// Open span ids → index in `spans` (ids are reused once closed).
    open: HashMap<u64, usize>,
    /// Every event's fields, as text.
    events: Vec<String>,
}

/// A layer noting spans, their fields and parents, and events' fields.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Seen>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(
            field.name().to_string(),
            format!("{value:?}").replace('"', ""),
        );
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        attrs.record(&mut Fields(&mut fields));
        let parent_id = ctx
            .span(id)
            .and_then(|span| span.parent().map(|p| p.id().into_u64()));
        let mut seen = self.0.lock().unwrap();
        let parent = parent_id.and_then(|p| seen.open.get(&p).copied());
        seen.spans.push(SpanRecord {
            name: attrs.metadata().name(),
            fields,
            parent,
        });
        let index = seen.spans.len() - 1;
        seen.open.insert(id.into_u64(), index);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut seen = self.0.lock().unwrap();
        if let Some(&index) = seen.open.get(&id.into_u64()) {
            values.record(&mut Fields(&mut seen.spans[index].fields));
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().events.push(format!("{fields:?}"));
    }

    fn on_close(&self, id: Id, _ctx: Context<'_, S>) {
        self.0.lock().unwrap().open.remove(&id.into_u64());
    }
}

impl Recorder {
    fn spans(&self) -> Vec<SpanRecord> {
        self.0.lock().unwrap().spans.clone()
    }

    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().events.clone()
    }
}

/// The names of `index`'s ancestors, nearest first.
fn ancestors(spans: &[SpanRecord], index: usize) -> Vec<&'static str> {
    let mut names = Vec::new();
    let mut at = spans[index].parent;
    while let Some(i) = at {
        names.push(spans[i].name);
        at = spans[i].parent;
    }
    names
}

fn field<'a>(span: &'a SpanRecord, name: &str) -> &'a str {
    span.fields
        .get(name)
        .map(String::as_str)
        .unwrap_or_else(|| panic!("span {} has no field {name}: {:?}", span.name, span.fields))
}

/// Syncs and pushes against the HaloPSA simulator; returns the connection id.
async fn sync_and_push() -> ConnectionId {
    let sim = HaloPsaSim::start_default().await;
    let store = Arc::new(MemoryStore::new());
    let connections = Connections::new(store.clone(), Arc::new(InMemoryVault::new()));
    let now = Utc::now();
    let mut conn = Connection::new(
        ConnectionId::generate(),
        Provider::HaloPsa,
        "spans",
        [FeatureCategory::Crm, FeatureCategory::Psa].into(),
        CredentialRef("spans/credentials".into()),
        now,
    )
    .unwrap();
    conn.record_test(Ok(()), now).unwrap();
    store.save_connection(&conn).await.unwrap();

    let mut settings = HaloPsaSettings::new(sim.uri());
    settings.project_ticket_type_id = Some("3".into());
    settings.task_ticket_type_id = Some("26".into());
    let halo = HaloPsaConnector::new(
        settings,
        ClientCredentials::new("sim-client", SECRET),
        HttpConfig::default().with_addresses(AddressPolicy::allow_local()),
    )
    .unwrap();

    let engine = SyncEngine::new(connections);
    let report = engine
        .run(
            &Access::full(),
            &conn.id,
            &halo,
            &SyncRequest::default(),
            None,
        )
        .await
        .unwrap();
    assert!(!report.per_type.is_empty());

    let company = sim.clients()[0]["id"].to_string();
    let pushed = scopelink_core::push::push_project(
        &Access::full(),
        store.as_ref(),
        &conn.id,
        &halo,
        &sample_project(),
        &PushOptions::for_company(company),
        None,
    )
    .await
    .unwrap();
    assert!(pushed.created > 0);
    conn.id
}

#[test]
fn sync_runs_data_types_and_pushes_have_spans_with_connection_and_provider() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    // A current-thread runtime under a thread-local subscriber: tasks the
    // sync spawns (page read-ahead) run on this thread and are seen.
    let connection = tracing::subscriber::with_default(subscriber, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(sync_and_push())
    });
    let connection = connection.to_string();
    let provider = Provider::HaloPsa.to_string();
    let spans = recorder.spans();

    let runs: Vec<usize> = (0..spans.len())
        .filter(|&i| spans[i].name == "sync_run")
        .collect();
    assert_eq!(runs.len(), 1, "one sync_run span: {spans:#?}");
    let run = runs[0];
    assert_eq!(field(&spans[run], "connection"), connection);
    assert_eq!(field(&spans[run], "provider"), provider);
    assert_eq!(field(&spans[run], "full"), "false");
    assert!(ancestors(&spans, run).is_empty());

    let types: Vec<usize> = (0..spans.len())
        .filter(|&i| spans[i].name == "sync_data_type")
        .collect();
    let names: Vec<&str> = types
        .iter()
        .map(|&i| field(&spans[i], "data_type"))
        .collect();
    assert_eq!(names, ["companies", "contacts", "opportunities"]);
    for &t in &types {
        assert_eq!(spans[t].parent, Some(run), "{:?}", spans[t]);
        assert_eq!(field(&spans[t], "connection"), connection);
        assert_eq!(field(&spans[t], "provider"), provider);
        // Each data type's requests are traced inside it, the pages read
        // ahead on another task included.
        let requests = (0..spans.len())
            .filter(|&i| spans[i].name == "http_request" && spans[i].parent == Some(t))
            .count();
        assert!(requests > 0, "no http_request under {:?}", spans[t]);
    }

    let pushes: Vec<usize> = (0..spans.len())
        .filter(|&i| spans[i].name == "push_project")
        .collect();
    assert_eq!(pushes.len(), 1);
    let push = pushes[0];
    assert_eq!(field(&spans[push], "connection"), connection);
    assert_eq!(field(&spans[push], "provider"), provider);
    assert_eq!(field(&spans[push], "scoping_project"), sample_project().id);
    assert!(ancestors(&spans, push).is_empty());
    let posts = (0..spans.len())
        .filter(|&i| {
            spans[i].name == "http_request"
                && spans[i].fields.get("method").map(String::as_str) == Some("POST")
                && ancestors(&spans, i).contains(&"push_project")
        })
        .count();
    assert!(posts > 0, "no POST traced under the push");

    // No secret in any span or event field.
    for span in &spans {
        for value in span.fields.values() {
            assert!(!value.contains(SECRET), "{span:?}");
            assert!(!value.to_ascii_lowercase().contains("bearer"), "{span:?}");
        }
    }
    for event in recorder.events() {
        assert!(!event.contains(SECRET), "{event}");
    }
}
