//! Unbounded and unfiltered input (issue 10.9): connection names and
//! settings are refused with a typed error naming the limit, before
//! anything is written to the store or the vault, and the error never
//! echoes the refused text.

use scopelink_core::error::InputError;
use scopelink_core::secret::{ClientCredentials, Credentials, InMemoryVault};
use scopelink_core::{
    Access, Connections, Error, FeatureCategory, MemoryStore, NewConnection, Provider,
    TransitionError,
};
use std::collections::BTreeMap;
use std::sync::Arc;

struct Host {
    connections: Connections,
    vault: Arc<InMemoryVault>,
}

fn host() -> Host {
    let vault = Arc::new(InMemoryVault::new());
    Host {
        connections: Connections::new(Arc::new(MemoryStore::new()), vault.clone()),
        vault,
    }
}

fn new(name: &str, settings: BTreeMap<String, String>) -> NewConnection {
    NewConnection::new(
        Provider::HaloPsa,
        name,
        Credentials::ClientCredentials(ClientCredentials::new("id", "secret")),
    )
    .categories([FeatureCategory::Crm])
    .settings(settings)
}

fn server(url: &str) -> BTreeMap<String, String> {
    [("host".to_string(), url.to_string())].into()
}

/// Creates with `name` and `settings`; expects an input error, nothing
/// stored and nothing in the vault, and a short message.
async fn refused(name: &str, settings: BTreeMap<String, String>) -> InputError {
    let h = host();
    let err = h
        .connections
        .create(&Access::full(), new(name, settings))
        .await
        .expect_err("refused");
    let message = err.to_string();
    assert!(
        message.len() < 300,
        "the message stays short ({} bytes)",
        message.len()
    );
    assert!(
        !message.contains('\u{1b}') && !message.contains('\u{202e}') && !message.contains('\0'),
        "the message does not echo control characters: {message:?}"
    );
    assert!(
        h.connections
            .list(&Access::full())
            .await
            .unwrap()
            .is_empty(),
        "nothing stored"
    );
    assert!(h.vault.keys().is_empty(), "nothing in the vault");
    match err {
        Error::Transition(TransitionError::Input(e)) => e,
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_10_mib_name_is_refused_naming_the_limit() {
    let name = "n".repeat(10 * 1024 * 1024);
    let err = refused(&name, BTreeMap::new()).await;
    assert_eq!(
        err,
        InputError::NameTooLong {
            len: 10 * 1024 * 1024,
            max: 200
        }
    );
    assert!(err.to_string().contains("at most 200"), "{err}");
}

#[tokio::test]
async fn control_characters_in_names_are_refused() {
    for (name, position, code) in [
        ("Acme\0MSP", 4, 0x00),
        ("\u{1b}[31mAcme", 0, 0x1b),
        ("Acme\nMSP", 4, 0x0a),
        ("Ac\u{7f}me", 2, 0x7f),
    ] {
        assert_eq!(
            refused(name, BTreeMap::new()).await,
            InputError::NameControlCharacter { position, code },
            "{name:?}"
        );
    }
}

#[tokio::test]
async fn bidirectional_overrides_in_names_are_refused() {
    for (name, position, code) in [
        ("Invoice\u{202E}fdp.exe", 7, 0x202E),
        ("\u{2066}Acme", 0, 0x2066),
        ("Acme\u{200F}", 4, 0x200F),
    ] {
        assert_eq!(
            refused(name, BTreeMap::new()).await,
            InputError::NameBidiControl { position, code },
            "{name:?}"
        );
    }
}

#[tokio::test]
async fn names_without_a_visible_character_are_refused() {
    for name in [
        "\u{200B}\u{200C}\u{200D}",
        "\u{FEFF}",
        " \u{2060} \u{00AD} ",
    ] {
        assert_eq!(
            refused(name, BTreeMap::new()).await,
            InputError::NameInvisible,
            "{name:?}"
        );
    }
}

#[tokio::test]
async fn a_thousand_settings_of_10_kb_are_refused() {
    let settings: BTreeMap<String, String> = (0..1_000)
        .map(|i| (format!("setting_{i}"), "v".repeat(10 * 1024)))
        .collect();
    assert_eq!(
        refused("Acme", settings).await,
        InputError::TooManySettings {
            count: 1_000,
            max: 64
        }
    );
    let one_big: BTreeMap<String, String> = [("notes".to_string(), "v".repeat(10 * 1024))].into();
    assert_eq!(
        refused("Acme", one_big).await,
        InputError::SettingTooLong {
            key: "notes".into(),
            len: 10 * 1024,
            max: 2048
        }
    );
}

#[tokio::test]
async fn bad_setting_names_and_values_are_refused() {
    let weird_key: BTreeMap<String, String> =
        [("host\u{1b}[2J".to_string(), "x".to_string())].into();
    assert!(matches!(
        refused("Acme", weird_key).await,
        InputError::InvalidSettingKey { max: 64, .. }
    ));
    let long_key: BTreeMap<String, String> = [("k".repeat(65), "x".to_string())].into();
    assert!(matches!(
        refused("Acme", long_key).await,
        InputError::InvalidSettingKey { .. }
    ));
    assert_eq!(
        refused("Acme", server("https://halo.example.com/\u{202E}")).await,
        InputError::SettingControlCharacter {
            key: "host".into(),
            position: 25,
            code: 0x202E
        }
    );
}

#[tokio::test]
async fn port_zero_is_refused() {
    assert_eq!(
        refused("Acme", server("https://halo.example.com:0/api")).await,
        InputError::InvalidPort {
            key: "host".into(),
            port: "0".into()
        }
    );
    assert_eq!(
        refused("Acme", server("https://[2001:db8::1]:0")).await,
        InputError::InvalidPort {
            key: "host".into(),
            port: "0".into()
        }
    );
    let port: BTreeMap<String, String> = [("smtp_port".to_string(), "0".to_string())].into();
    assert!(matches!(
        refused("Acme", port).await,
        InputError::InvalidPort { .. }
    ));
    let port: BTreeMap<String, String> = [("port".to_string(), "70000".to_string())].into();
    assert!(matches!(
        refused("Acme", port).await,
        InputError::InvalidPort { .. }
    ));
}

#[tokio::test]
async fn valid_input_is_accepted_and_edits_are_checked_the_same_way() {
    let h = host();
    let access = Access::full();
    let created = h
        .connections
        .create(
            &access,
            new(
                "  Acme MSP — Zürich  ",
                server("https://halo.example.com:8443/api"),
            ),
        )
        .await
        .expect("valid input");
    assert_eq!(created.name, "Acme MSP — Zürich");
    let id = created.id.clone();
    let err = h
        .connections
        .edit(&access, &id, Some("Acme\u{202E}"), None)
        .await
        .expect_err("a bad rename");
    assert!(matches!(
        err,
        Error::Transition(TransitionError::Input(InputError::NameBidiControl { .. }))
    ));
    let err = h
        .connections
        .set_setting(&Access::full(), &id, "host", "https://halo.example.com:0")
        .await
        .expect_err("a bad setting");
    assert!(matches!(
        err,
        Error::Transition(TransitionError::Input(InputError::InvalidPort { .. }))
    ));
    let stored = h.connections.get(&access, &id).await.unwrap();
    assert_eq!(
        stored, created,
        "refused edits change nothing (same version)"
    );
}
