//! Writing a completed authorization into a connection: tokens to the
//! vault, extras to the settings, status Connected, old vault entry gone.

use crate::activity::ActivityKind;
use crate::connection::{Connection, ConnectionId};
use crate::connections::{vault_key, Connections};
use crate::error::{Error, TransitionError};
use crate::secret::{load_credentials, Credentials, OAuthTokens};
use chrono::Utc;
use std::collections::BTreeMap;

impl Connections {
    /// Stores freshly authorized `tokens` for `id` under a new vault key,
    /// points the connection at them, merges `settings` into its settings
    /// and marks it Connected; then removes the previous vault entry. A
    /// failure before the connection is saved removes the new entry and
    /// leaves the connection as it was.
    pub(crate) async fn store_authorized(
        &self,
        id: &ConnectionId,
        tokens: OAuthTokens,
        settings: BTreeMap<String, String>,
    ) -> Result<Connection, Error> {
        // Refuse (a disabled connection) before touching the vault.
        self.load(id).await?.check_testable()?;
        let reference = vault_key(id);
        self.vault
            .put(&reference.0, Credentials::OAuth(tokens).seal())
            .await?;
        let saved = match load_credentials(self.vault.as_ref(), &reference).await {
            Ok(_) => {
                self.update(id, |c| {
                    let mut merged = c.settings.clone();
                    merged.extend(settings.clone());
                    c.set_settings(merged).map_err(TransitionError::from)?;
                    let old = c.reconnect(reference.clone())?;
                    c.record_test(Ok(()), Utc::now())?;
                    Ok(old)
                })
                .await
            }
            Err(e) => Err(e.into()),
        };
        let (before, after, old) = match saved {
            Ok(saved) => saved,
            Err(e) => {
                let _ = self.vault.delete(&reference.0).await;
                return Err(e);
            }
        };
        if old != reference {
            self.vault.delete(&old.0).await?;
        }
        self.log(id, ActivityKind::Reconnected).await?;
        self.status_changed(&before.status, &after, false).await?;
        Ok(after)
    }

    /// Replaces the tokens under the connection's current vault key (a
    /// refresh), keeping the key.
    pub(crate) async fn replace_tokens(
        &self,
        id: &ConnectionId,
        tokens: OAuthTokens,
    ) -> Result<(), Error> {
        let connection = self.load(id).await?;
        self.vault
            .put(
                &connection.credential_ref.0,
                Credentials::OAuth(tokens).seal(),
            )
            .await?;
        Ok(())
    }

    /// The OAuth tokens of `id`, if its credentials are OAuth tokens.
    pub(crate) async fn oauth_tokens(
        &self,
        id: &ConnectionId,
    ) -> Result<Option<OAuthTokens>, Error> {
        match self.stored_credentials(id).await? {
            Credentials::OAuth(tokens) => Ok(Some(tokens)),
            _ => Ok(None),
        }
    }
}
