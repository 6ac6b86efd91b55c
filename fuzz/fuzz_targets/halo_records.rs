//! HaloPSA list replies (clients, users, opportunities), bare or wrapped.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_core::model::DataType;
use scopelink_halopsa::fuzz::records;

fuzz_target!(|data: &[u8]| {
    for t in [
        DataType::Companies,
        DataType::Contacts,
        DataType::Opportunities,
    ] {
        if let Ok((ok, rejected)) = records(t, data) {
            for r in ok {
                assert_eq!(r.data_type(), t);
                assert!(r.external_id().parse::<i64>().is_ok_and(|id| id > 0));
            }
            for r in rejected {
                assert!(!r.reason.is_empty());
            }
        }
    }
});
