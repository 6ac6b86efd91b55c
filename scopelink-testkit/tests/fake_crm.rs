//! The shared fake CRM source: pages in (updated_at, id) order, resume
//! tokens, `since`, a failure once at a page, and a page that never comes.

use futures::StreamExt;
use scopelink_core::connector::{CrmSource, StreamRequest};
use scopelink_core::{ConnectorError, DataType};
use scopelink_testkit::fake_crm::{Failure, FakeCrm};
use scopelink_testkit::store_conformance::{at, company};
use std::time::Duration;

fn request(since: Option<i64>, resume_from: Option<&str>) -> StreamRequest {
    StreamRequest {
        data_type: DataType::Companies,
        filter: Default::default(),
        since: since.map(at),
        resume_from: resume_from.map(str::to_string),
    }
}

/// Five companies updated at minutes 5, 4, 3, 2, 1 (so c5 comes first).
fn crm() -> FakeCrm {
    let crm = FakeCrm::new(2);
    crm.put_all((1..=5).map(|i| company(&format!("c{i}"), "Co", 6 - i)));
    crm
}

async fn ids(crm: &FakeCrm, req: StreamRequest) -> Vec<Result<Vec<String>, String>> {
    crm.stream(req)
        .map(|page| {
            page.map(|p| {
                p.records
                    .iter()
                    .map(|r| r.external_id().to_string())
                    .collect()
            })
            .map_err(|e| format!("{e:?}"))
        })
        .collect()
        .await
}

#[tokio::test]
async fn pages_follow_update_order_and_resume_and_since_narrow_them() {
    let crm = crm();
    let all = ids(&crm, request(None, None)).await;
    assert_eq!(
        all,
        [
            Ok(vec!["c5".to_string(), "c4".to_string()]),
            Ok(vec!["c3".to_string(), "c2".to_string()]),
            Ok(vec!["c1".to_string()]),
        ]
    );
    let resumed = ids(&crm, request(None, Some("2"))).await;
    assert_eq!(resumed, [Ok(vec!["c1".to_string()])]);
    let since = ids(&crm, request(Some(4), None)).await;
    assert_eq!(since, [Ok(vec!["c2".to_string(), "c1".to_string()])]);
    assert_eq!(crm.requests().len(), 3);
    assert_eq!(crm.served().len(), 5);
}

#[tokio::test]
async fn a_failure_hits_its_page_once() {
    let crm = crm();
    crm.fail_once_at(DataType::Companies, 1, Failure::Decode);
    let first: Vec<_> = crm.stream(request(None, None)).collect().await;
    assert!(first[0].is_ok());
    assert!(
        matches!(&first[1], Err(ConnectorError::Decode { what, .. }) if what.contains("page 1")),
        "{:?}",
        first[1]
    );
    assert_eq!(crm.failed(), [(DataType::Companies, 1)]);
    let again = ids(&crm, request(None, Some("1"))).await;
    assert!(again.iter().all(Result::is_ok), "{again:?}");
}

#[tokio::test]
async fn a_hanging_page_never_comes_and_says_so() {
    let crm = crm();
    crm.hang_at(DataType::Companies, 1);
    let mut stream = crm.stream(request(None, None));
    let first = stream.next().await.expect("the first page").expect("ok");
    assert_eq!(first.records.len(), 2);
    let waiting = tokio::time::timeout(Duration::from_secs(30), async {
        tokio::join!(crm.hung(), async {
            let next = tokio::time::timeout(Duration::from_millis(50), stream.next()).await;
            assert!(next.is_err(), "the second page must not arrive");
        })
    })
    .await;
    assert!(waiting.is_ok(), "the hang was never signalled");
    // The hang is used up: the next stream serves every page.
    assert_eq!(ids(&crm, request(None, None)).await.len(), 3);
}
