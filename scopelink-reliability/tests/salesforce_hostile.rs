//! Hostile input to the Salesforce connector's decoders, parsers and query
//! builder, as property tests: rows of arbitrary JSON convert or are
//! rejected (never a panic), Outbound Message bodies of arbitrary bytes or
//! mangled envelopes are refused with a typed error, the limit header
//! reader takes any text, and no string value (quotes, backslashes,
//! newlines) can end a SOQL string literal early.

use proptest::prelude::*;
use proptest::test_runner::Config;
use scopelink_core::filter::{FilterOption, SyncFilter};
use scopelink_core::model::DataType;
use scopelink_crm::salesforce::fuzz::{
    convert, count_accounts, AccountRoles, FilterFields, OutboundMessages,
};
use scopelink_crm::salesforce::{soql_string, ApiUsage};
use serde_json::{Map, Value};

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

const KEYS: &[&str] = &[
    "Id",
    "Name",
    "Type",
    "Industry",
    "Website",
    "AccountId",
    "ContactId",
    "FirstName",
    "LastName",
    "StageName",
    "Probability",
    "Amount",
    "CloseDate",
    "IsClosed",
    "IsWon",
    "SystemModstamp",
    "Rating",
];

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<i64>().prop_map(|i| Value::Number(i.into())),
        ".{0,24}".prop_map(Value::String),
        Just(Value::String("2025-06-02T14:05:11.000+0000".into())),
        Just(Value::String("0015g00000QxYzAAAV".into())),
    ];
    leaf.prop_recursive(2, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec(("[A-Za-z]{1,6}", inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn row() -> impl Strategy<Value = Value> {
    prop::collection::vec((prop::sample::select(KEYS), value()), 0..12).prop_map(|pairs| {
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect::<Map<String, Value>>(),
        )
    })
}

/// Reads a SOQL string literal from the start of `s` the way SOQL does;
/// returns what follows its closing quote.
fn after_literal(s: &str) -> Option<&str> {
    let mut chars = s.char_indices();
    if chars.next()?.1 != '\'' {
        return None;
    }
    let mut escaped = false;
    for (i, c) in chars {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '\\') => escaped = true,
            (false, '\'') => return Some(&s[i + 1..]),
            (false, _) => {}
        }
    }
    None
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn salesforce_rows_convert_or_are_rejected(row in row()) {
        let roles = AccountRoles {
            status_field: Some("Rating".into()),
            territory_field: None,
        };
        for t in [DataType::Companies, DataType::Contacts, DataType::Opportunities, DataType::CatalogItems] {
            match convert(t, row.clone(), &roles) {
                Ok(record) => prop_assert_eq!(record.data_type(), t),
                Err(rejected) => prop_assert!(!rejected.reason.is_empty()),
            }
        }
    }

    #[test]
    fn salesforce_outbound_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let r = OutboundMessages::new("00D5g000004SimOEAS", None).unwrap();
        prop_assert!(r.parse(&bytes).is_err());
    }

    #[test]
    fn salesforce_mangled_outbound_envelopes_are_refused_or_read(cut in 0usize..900, junk in ".{0,8}") {
        let envelope = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><soapenv:Body><notifications xmlns=\"http://soap.sforce.com/2005/09/outbound\"><OrganizationId>00D5g000004SimOEAS</OrganizationId><ActionId>04k5g000000AbCdAAA</ActionId><SessionId xsi:nil=\"true\"/><Notification><Id>04l5g0000000001AAA</Id><sObject xsi:type=\"sf:Account\" xmlns:sf=\"urn:sobject.enterprise.soap.sforce.com\"><sf:Id>0015g00000QxYzAAAV</sf:Id></sObject></Notification></notifications></soapenv:Body></soapenv:Envelope>";
        let r = OutboundMessages::new("00D5g000004SimOEAS", Some("04k5g000000AbCdAAA")).unwrap();
        let at = envelope.char_indices().map(|(i, _)| i).find(|i| *i >= cut.min(envelope.len())).unwrap_or(envelope.len());
        let mangled = format!("{}{junk}{}", &envelope[..at], &envelope[at..]);
        if let Ok(events) = r.parse(mangled.as_bytes()) {
            prop_assert!(events.len() <= 1);
            for e in events {
                prop_assert_eq!(e.external_id.len(), 18);
            }
        }
    }

    #[test]
    fn salesforce_limit_headers_of_any_text_are_read_or_ignored(text in ".{0,64}") {
        if let Some(u) = ApiUsage::parse(&text) {
            prop_assert!(u.remaining() <= u.max);
        }
    }

    #[test]
    fn salesforce_no_value_ends_a_soql_literal_early(value in ".{0,40}", extra in "[\\\\'\"\\n\\r]{0,6}") {
        let v = format!("{value}{extra}");
        let quoted = soql_string(&v);
        prop_assert_eq!(after_literal(&quoted), Some(""));
        let filter = SyncFilter {
            company_types: [FilterOption::new(v.clone(), v)].into(),
            ..SyncFilter::default()
        };
        let q = count_accounts(&filter, &FilterFields::default()).unwrap();
        let literal = q.strip_prefix("SELECT COUNT() FROM Account WHERE Type IN (").unwrap();
        prop_assert_eq!(after_literal(literal), Some(")"));
    }
}
