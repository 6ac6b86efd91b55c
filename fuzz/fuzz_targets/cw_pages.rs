//! ConnectWise list pages (companies, contacts, opportunities,
//! configurations, catalog items) as the connector reads them: a JSON array
//! of raw items, each converted on its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_connectwise::fuzz::convert_json;
use scopelink_core::model::DataType;
use serde_json::value::RawValue;

const TYPES: [DataType; 5] = [
    DataType::Companies,
    DataType::Contacts,
    DataType::Opportunities,
    DataType::Configurations,
    DataType::CatalogItems,
];

fuzz_target!(|data: &[u8]| {
    let Ok(items) = serde_json::from_slice::<Vec<Box<RawValue>>>(data) else {
        return;
    };
    for item in &items {
        for t in TYPES {
            match convert_json(t, item.get()) {
                Ok(record) => {
                    assert_eq!(record.data_type(), t);
                    assert!(!record.external_id().is_empty());
                }
                Err(rejected) => assert!(!rejected.reason.is_empty()),
            }
        }
    }
});
