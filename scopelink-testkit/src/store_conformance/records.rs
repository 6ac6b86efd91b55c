//! Records: upserts, keys and batch lookups.

use super::fixtures::*;
use scopelink_core::store::UpsertOutcome;
use scopelink_core::{DataType, Store};

/// Records: upsert created / updated / unchanged, read back, contains,
/// count, delete, purge of one connection leaving the other untouched.
pub async fn check_records(store: &dyn Store) {
    let ctx = "records";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    let acme = company("c1", "Acme", 1);
    assert_eq!(
        store.upsert_record(&a, acme.clone()).await.expect("upsert"),
        UpsertOutcome::Created,
        "{ctx}: a new record must be Created"
    );
    assert_eq!(
        store.upsert_record(&a, acme.clone()).await.expect("upsert"),
        UpsertOutcome::Unchanged,
        "{ctx}: an identical record must be Unchanged"
    );
    let renamed = company("c1", "Acme Ltd", 2);
    assert_eq!(
        store
            .upsert_record(&a, renamed.clone())
            .await
            .expect("upsert"),
        UpsertOutcome::Updated,
        "{ctx}: a changed record must be Updated"
    );
    assert_eq!(
        store
            .record(&a, DataType::Companies, "c1")
            .await
            .expect("record"),
        Some(renamed.clone()),
        "{ctx}: record must return the latest version, every field intact"
    );
    assert_eq!(
        store
            .upsert_record(&a, renamed.clone())
            .await
            .expect("upsert"),
        UpsertOutcome::Unchanged,
        "{ctx}: re-sending the latest version must be Unchanged"
    );

    store
        .upsert_record(&a, company("c2", "Globex", 3))
        .await
        .expect("upsert");
    store
        .upsert_record(&a, contact("p1", "c1", 4))
        .await
        .expect("upsert");
    store
        .upsert_record(&b, company("c1", "Other tenant's c1", 5))
        .await
        .expect("upsert");

    assert!(
        store
            .contains_record(&a, DataType::Companies, "c2")
            .await
            .expect("contains"),
        "{ctx}: contains must see a stored record"
    );
    assert!(
        !store
            .contains_record(&a, DataType::Companies, "nope")
            .await
            .expect("contains"),
        "{ctx}: contains must not see an unknown id"
    );
    assert!(
        !store
            .contains_record(&a, DataType::Contacts, "c1")
            .await
            .expect("contains"),
        "{ctx}: contains must not see a record of another data type"
    );
    assert_eq!(
        store
            .record(&a, DataType::Companies, "missing")
            .await
            .expect("record"),
        None,
        "{ctx}: record of an unknown id must be None"
    );
    assert_eq!(
        store
            .count_records(&a, DataType::Companies)
            .await
            .expect("count"),
        2,
        "{ctx}: companies of conn-a"
    );
    assert_eq!(
        store
            .count_records(&a, DataType::Contacts)
            .await
            .expect("count"),
        1,
        "{ctx}: contacts of conn-a"
    );
    assert_eq!(
        store
            .count_records(&b, DataType::Companies)
            .await
            .expect("count"),
        1,
        "{ctx}: companies of conn-b"
    );
    assert_eq!(
        store
            .count_records(&a, DataType::Opportunities)
            .await
            .expect("count"),
        0,
        "{ctx}: a type never stored counts 0"
    );

    assert!(
        store
            .delete_record(&a, DataType::Companies, "c2")
            .await
            .expect("delete"),
        "{ctx}: deleting a stored record must return true"
    );
    assert!(
        !store
            .delete_record(&a, DataType::Companies, "c2")
            .await
            .expect("delete again"),
        "{ctx}: deleting a missing record must return false"
    );
    assert!(
        !store
            .contains_record(&a, DataType::Companies, "c2")
            .await
            .expect("contains"),
        "{ctx}: a deleted record must be gone"
    );

    store.purge_records(&a).await.expect("purge");
    for t in [DataType::Companies, DataType::Contacts] {
        assert_eq!(
            store.count_records(&a, t).await.expect("count"),
            0,
            "{ctx}: purge must remove every {t} record of conn-a"
        );
    }
    assert_eq!(
        store
            .record(&b, DataType::Companies, "c1")
            .await
            .expect("record"),
        Some(company("c1", "Other tenant's c1", 5)),
        "{ctx}: purging conn-a must leave conn-b untouched"
    );
}

/// Record keys: the same provider id under two connections or two data
/// types are distinct records.
pub async fn check_record_keys(store: &dyn Store) {
    let ctx = "record_keys";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    let outcomes = [
        store.upsert_record(&a, company("42", "A's 42", 1)).await,
        store.upsert_record(&b, company("42", "B's 42", 1)).await,
        store.upsert_record(&a, contact("42", "42", 1)).await,
    ];
    for o in outcomes {
        assert_eq!(
            o.expect("upsert"),
            UpsertOutcome::Created,
            "{ctx}: the same id under another connection or data type must be a new record"
        );
    }
    assert_eq!(
        store
            .record(&b, DataType::Companies, "42")
            .await
            .expect("record"),
        Some(company("42", "B's 42", 1)),
        "{ctx}: conn-b's record must not be conn-a's"
    );
    assert_eq!(
        store
            .record(&a, DataType::Contacts, "42")
            .await
            .expect("record"),
        Some(contact("42", "42", 1)),
        "{ctx}: the contact 42 must not be the company 42"
    );
    assert!(
        store
            .delete_record(&a, DataType::Contacts, "42")
            .await
            .expect("delete"),
        "{ctx}: delete contact 42"
    );
    assert!(
        store
            .contains_record(&a, DataType::Companies, "42")
            .await
            .expect("contains"),
        "{ctx}: deleting the contact 42 must leave the company 42"
    );
}

/// Batch lookups (`contains_records`): one answer per id asked, in order,
/// duplicates answered each time, only records of the connection and data
/// type asked count; ids with quotes, backslashes and non-ASCII text are
/// matched exactly.
pub async fn check_record_lookup(store: &dyn Store) {
    let ctx = "record_lookup";
    let (a, b) = (cid("conn-a"), cid("conn-b"));
    let odd = ["it's \"7\"", "back\\slash", "Zürich-ø", "[1]"];
    for id in ["1", "2", "3"].into_iter().chain(odd) {
        store
            .upsert_record(&a, company(id, "A", 1))
            .await
            .expect("upsert");
    }
    store
        .upsert_record(&b, company("9", "B", 1))
        .await
        .expect("upsert");
    store
        .upsert_record(&a, contact("8", "1", 1))
        .await
        .expect("upsert");
    let ask: Vec<String> = [
        "3",
        "9",
        "8",
        "1",
        "missing",
        "3",
        "",
        odd[0],
        odd[1],
        odd[2],
        odd[3],
        "zürich-ø",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    let found = store
        .contains_records(&a, DataType::Companies, &ask)
        .await
        .expect("contains_records");
    assert_eq!(
        found,
        [true, false, false, true, false, true, false, true, true, true, true, false],
        "{ctx}: one answer per id asked ({ask:?}); conn-b's 9 and the contact 8 are not conn-a's companies"
    );
    assert_eq!(
        store
            .contains_records(&a, DataType::Companies, &[])
            .await
            .expect("contains_records"),
        Vec::<bool>::new(),
        "{ctx}: nothing asked, nothing answered"
    );
    assert_eq!(
        store
            .contains_records(&cid("conn-none"), DataType::Companies, &ask[..2])
            .await
            .expect("contains_records"),
        [false, false],
        "{ctx}: an unknown connection has no records"
    );
}
