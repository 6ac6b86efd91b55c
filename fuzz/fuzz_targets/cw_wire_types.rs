//! Every ConnectWise wire type from the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use scopelink_connectwise::fuzz::wire;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<wire::Company>(data);
    let _ = serde_json::from_slice::<wire::Contact>(data);
    let _ = serde_json::from_slice::<wire::Opportunity>(data);
    let _ = serde_json::from_slice::<wire::Configuration>(data);
    let _ = serde_json::from_slice::<wire::CatalogItem>(data);
    let _ = serde_json::from_slice::<wire::CompanyInfo>(data);
    let _ = serde_json::from_slice::<wire::SystemInfo>(data);
    let _ = serde_json::from_slice::<wire::Count>(data);
    let _ = serde_json::from_slice::<Vec<wire::IdName>>(data);
    let _ = serde_json::from_slice::<wire::CallbackEntry>(data);
    let _ = serde_json::from_slice::<wire::CallbackPayload>(data);
    let _ = serde_json::from_slice::<wire::SigningKey>(data);
    let _ = serde_json::from_slice::<wire::Forecast>(data);
    let _ = serde_json::from_slice::<wire::ErrorBody>(data);
    let _ = serde_json::from_slice::<wire::Probability>(data);
});
