//! [`LiveConnection`]: a stored connection with its live connector and a
//! handle for each capability it has.

use super::factory::ProviderConnection;
use crate::connection::Connection;
use crate::connector::{
    Connector, CrmSource, ESignature, FileStorage, OpportunityWriteBack, PsaProjects,
    WebhookReceiver,
};
use crate::provider::FeatureCategory;
use std::sync::Arc;

/// A connection turned into its live connector by
/// [`Registry::connect`](super::Registry::connect). Each capability handle
/// is there when the connection has enabled its category AND the provider's
/// connector implements it. Cheap to clone (the handles are shared).
#[derive(Clone)]
pub struct LiveConnection {
    connection: Connection,
    built: ProviderConnection,
}

impl std::fmt::Debug for LiveConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveConnection")
            .field("connection", &self.connection.id)
            .field("provider", &self.connection.provider)
            .field("crm", &self.crm().is_some())
            .field("psa", &self.psa().is_some())
            .field("writeback", &self.writeback().is_some())
            .field("webhooks", &self.webhooks().is_some())
            .finish_non_exhaustive()
    }
}

impl LiveConnection {
    /// `built` for `connection`, its handles limited to the categories the
    /// connection has enabled.
    pub(crate) fn new(connection: Connection, mut built: ProviderConnection) -> Self {
        let on = |c: FeatureCategory| connection.categories.contains(&c);
        if !on(FeatureCategory::Crm) && !on(FeatureCategory::Products) {
            built.crm = None;
        }
        if !on(FeatureCategory::Crm) {
            built.writeback = None;
        }
        if !on(FeatureCategory::Psa) {
            built.psa = None;
        }
        if !on(FeatureCategory::ESignature) {
            built.esign = None;
        }
        if !on(FeatureCategory::FileStorage) {
            built.files = None;
        }
        built.persist.clear();
        Self { connection, built }
    }

    /// The connection as stored once the connector was built (with any
    /// setting the connect discovered).
    pub fn connection(&self) -> &Connection {
        &self.connection
    }

    /// The connector: its provider, capabilities and connection test.
    pub fn connector(&self) -> &dyn Connector {
        self.built.connector.as_ref()
    }

    /// The CRM source, when the connection enables CRM or Products and the
    /// provider has one: give it to [`crate::SyncEngine::run`].
    pub fn crm(&self) -> Option<&dyn CrmSource> {
        self.built.crm.as_deref()
    }

    /// The PSA project creation, when the connection enables PSA and the
    /// provider has it: give it to [`crate::Connections::push_project`].
    pub fn psa(&self) -> Option<&dyn PsaProjects> {
        self.built.psa.as_deref()
    }

    /// Opportunity write-back, when the connection enables CRM and the
    /// provider has it.
    pub fn writeback(&self) -> Option<&dyn OpportunityWriteBack> {
        self.built.writeback.as_deref()
    }

    /// The webhook receiver, when the provider has one.
    pub fn webhooks(&self) -> Option<&dyn WebhookReceiver> {
        self.built.webhooks.as_deref()
    }

    /// E-signature, when the connection enables it and the provider has it.
    pub fn esign(&self) -> Option<&dyn ESignature> {
        self.built.esign.as_deref()
    }

    /// File storage, when the connection enables it and the provider has it.
    pub fn files(&self) -> Option<&dyn FileStorage> {
        self.built.files.as_deref()
    }

    /// The CRM source as a shared handle (to move into a task).
    pub fn crm_shared(&self) -> Option<Arc<dyn CrmSource>> {
        self.built.crm.clone()
    }

    /// The PSA project creation as a shared handle.
    pub fn psa_shared(&self) -> Option<Arc<dyn PsaProjects>> {
        self.built.psa.clone()
    }
}
