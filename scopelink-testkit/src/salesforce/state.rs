//! State: the org's records, ids, the clock, query cursors, counters.

use super::schema::{FieldDef, SObject, ACCOUNT_TYPES, CURRENCY_FIELD, INDUSTRIES, ROLES, STAGES};
use super::*;

/// One stored record: its fields by API name (`Id`, `IsDeleted`,
/// `SystemModstamp` ... included).
pub(super) type Row = Map<String, Value>;

/// An open query cursor: the rows still to serve.
pub(super) struct Cursor {
    pub(super) rows: Vec<Value>,
    pub(super) next: usize,
    pub(super) batch: usize,
    pub(super) total: usize,
    /// When it was opened (the id counter then), to close the oldest.
    pub(super) opened: u64,
    /// `query` or `queryAll`.
    pub(super) endpoint: &'static str,
}

/// A validation rule: `object.field` set to anything fails with `message`.
pub(super) struct Rule {
    pub(super) object: SObject,
    pub(super) field: String,
    pub(super) message: String,
}

pub(super) struct State {
    pub(super) config: SalesforceSimConfig,
    pub(super) tokens: LiveTokens,
    pub(super) records: BTreeMap<SObject, Vec<Row>>,
    pub(super) counter: u64,
    /// The newest timestamp handed out, so modstamps always move forward.
    pub(super) last_stamp: DateTime<Utc>,
    pub(super) cursors: HashMap<String, Cursor>,
    pub(super) rules: Vec<Rule>,
    /// API requests counted against the daily allocation.
    pub(super) api_usage: u64,
    /// API requests counted against the connected app's allocation.
    pub(super) app_usage: u64,
    /// Every SOQL query received (`query` and `queryAll`), in order.
    pub(super) queries: Vec<SimQuery>,
    pub(super) slow_next: u32,
    pub(super) slow_latency: Duration,
    pub(super) sim: SimLayer,
}

/// Salesforce's 18-character id: the 15-character case-sensitive id and a
/// 3-character suffix telling the case of each of its letters.
pub(super) fn id18(id15: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
    let bytes = id15.as_bytes();
    let mut out = id15.to_string();
    for chunk in 0..3 {
        let mut bits = 0usize;
        for i in 0..5 {
            if bytes.get(chunk * 5 + i).is_some_and(u8::is_ascii_uppercase) {
                bits |= 1 << i;
            }
        }
        out.push(ALPHABET[bits] as char);
    }
    out
}

/// Whether `a` and `b` name the same record (15- or 18-character ids).
pub(super) fn same_id(a: &str, b: &str) -> bool {
    match (a.get(..15), b.get(..15)) {
        (Some(x), Some(y)) => x == y && matches!(a.len(), 15 | 18) && matches!(b.len(), 15 | 18),
        _ => false,
    }
}

/// Salesforce's datetime format in JSON (`2025-06-02T14:05:11.000+0000`).
/// Salesforce keeps whole seconds (the milliseconds are always `000`), so
/// records changed in the same second share a `SystemModstamp`.
pub(super) fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S.000+0000").to_string()
}

/// Reads a stored datetime back.
pub(super) fn parse_stamp(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f%z")
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

const FIRST_NAMES: &[&str] = &[
    "Dana", "Lee", "Priya", "Marco", "Ana", "Tom", "Yuki", "Sam", "Ines", "Omar",
];
const LAST_NAMES: &[&str] = &[
    "Ortiz", "Nguyen", "Shah", "Rossi", "Silva", "O'Brien", "Tanaka", "Kowalski", "Dubois",
    "Haddad",
];
const COMPANY_WORDS: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Contoso",
    "Fabrikam",
    "Litware",
    "Tailspin",
    "Wingtip",
    "Adatum",
    "Proseware",
    "Lucerne",
];

impl State {
    pub(super) fn new(config: SalesforceSimConfig, tokens: LiveTokens) -> Self {
        let api_usage = config.api_usage;
        let mut s = Self {
            config,
            tokens,
            records: BTreeMap::new(),
            counter: 0,
            last_stamp: Utc::now() - chrono::Duration::days(10),
            cursors: HashMap::new(),
            rules: Vec::new(),
            api_usage,
            app_usage: 0,
            queries: Vec::new(),
            slow_next: 0,
            slow_latency: Duration::ZERO,
            sim: SimLayer::default(),
        };
        s.seed();
        s
    }

    /// A new id of `object`'s type.
    pub(super) fn new_id(&mut self, prefix: &str) -> String {
        self.counter += 1;
        const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut n = self.counter;
        let mut tail = [b'0'; 6];
        for slot in tail.iter_mut().rev() {
            *slot = DIGITS[(n % 62) as usize];
            n /= 62;
        }
        id18(&format!(
            "{prefix}5g0000{}",
            std::str::from_utf8(&tail).expect("ascii")
        ))
    }

    /// The next timestamp: now, but never before the last one handed out.
    pub(super) fn tick(&mut self) -> DateTime<Utc> {
        let now = Utc::now();
        let next = now.max(self.last_stamp);
        self.last_stamp = next;
        next
    }

    /// Adds a record with the audit fields set at `at`.
    pub(super) fn insert(&mut self, object: SObject, mut fields: Row, at: DateTime<Utc>) -> String {
        let id = self.new_id(object.key_prefix());
        let user = json!(self.config.user_id);
        let at = json!(stamp(at));
        let mut row = Row::new();
        row.insert("Id".into(), json!(id));
        row.append(&mut fields);
        for (k, v) in [
            ("IsDeleted", json!(false)),
            ("CreatedDate", at.clone()),
            ("CreatedById", user.clone()),
            ("LastModifiedDate", at.clone()),
            ("LastModifiedById", user),
            ("SystemModstamp", at),
        ] {
            row.insert(k.into(), v);
        }
        if self.config.multi_currency && object.field(CURRENCY_FIELD).is_some() {
            row.entry(CURRENCY_FIELD).or_insert(json!("USD"));
        }
        for f in self.fields(object) {
            row.entry(f.name).or_insert(Value::Null);
        }
        self.records.entry(object).or_default().push(row);
        id
    }

    /// The fields `object` has in this org (`CurrencyIsoCode` only with
    /// multiple currencies).
    pub(super) fn fields(&self, object: SObject) -> impl Iterator<Item = &'static FieldDef> {
        let multi = self.config.multi_currency;
        object
            .fields()
            .iter()
            .filter(move |f| multi || f.name != CURRENCY_FIELD)
    }

    /// The field `name` of `object` in this org.
    pub(super) fn field(&self, object: SObject, name: &str) -> Option<&'static FieldDef> {
        object
            .field(name)
            .filter(|f| self.config.multi_currency || f.name != CURRENCY_FIELD)
    }

    /// The record `id` of `object` (deleted ones too).
    pub(super) fn find_mut(&mut self, object: SObject, id: &str) -> Option<&mut Row> {
        self.records.get_mut(&object)?.iter_mut().find(|r| {
            r.get("Id")
                .and_then(Value::as_str)
                .is_some_and(|rid| same_id(rid, id))
        })
    }

    /// The record `id` of `object` (deleted ones too).
    pub(super) fn find(&self, object: SObject, id: &str) -> Option<&Row> {
        self.records.get(&object)?.iter().find(|r| {
            r.get("Id")
                .and_then(Value::as_str)
                .is_some_and(|rid| same_id(rid, id))
        })
    }

    /// Stamps a change to a row.
    pub(super) fn touch(&mut self, object: SObject, id: &str) -> bool {
        let at = json!(stamp(self.tick()));
        match self.find_mut(object, id) {
            Some(row) => {
                row.insert("LastModifiedDate".into(), at.clone());
                row.insert("SystemModstamp".into(), at);
                true
            }
            None => false,
        }
    }

    /// Moves a row to the recycle bin (`IsDeleted`, a new modstamp).
    pub(super) fn soft_delete(&mut self, object: SObject, id: &str) -> bool {
        let at = json!(stamp(self.tick()));
        match self.find_mut(object, id) {
            Some(row) if row.get("IsDeleted") != Some(&json!(true)) => {
                row.insert("IsDeleted".into(), json!(true));
                row.insert("SystemModstamp".into(), at);
                true
            }
            _ => false,
        }
    }

    /// Live rows of `object` whose `field` equals `id`.
    pub(super) fn children(&self, object: SObject, field: &str, id: &str) -> Vec<String> {
        self.records
            .get(&object)
            .into_iter()
            .flatten()
            .filter(|r| r.get("IsDeleted") != Some(&json!(true)))
            .filter(|r| {
                r.get(field)
                    .and_then(Value::as_str)
                    .is_some_and(|v| same_id(v, id))
            })
            .filter_map(|r| r.get("Id").and_then(Value::as_str).map(str::to_string))
            .collect()
    }

    /// Every row of `object`, as stored.
    pub(super) fn rows(&self, object: SObject) -> Vec<Value> {
        self.records
            .get(&object)
            .into_iter()
            .flatten()
            .map(|r| Value::Object(r.clone()))
            .collect()
    }

    /// Sets the opportunity's `ContactId` from its primary contact role.
    pub(super) fn sync_primary_contact(&mut self, opportunity: &str) {
        let primary = self
            .records
            .get(&SObject::OpportunityContactRole)
            .into_iter()
            .flatten()
            .find(|r| {
                r.get("IsDeleted") != Some(&json!(true))
                    && r.get("IsPrimary") == Some(&json!(true))
                    && r.get("OpportunityId")
                        .and_then(Value::as_str)
                        .is_some_and(|v| same_id(v, opportunity))
            })
            .and_then(|r| r.get("ContactId").cloned())
            .unwrap_or(Value::Null);
        if let Some(row) = self.find_mut(SObject::Opportunity, opportunity) {
            row.insert("ContactId".into(), primary);
        }
    }

    fn seed(&mut self) {
        // Seeded rows were last changed over the past nine days, oldest
        // first, a few seconds apart.
        let total = self.config.accounts * (1 + self.config.contacts_per_account)
            + self.config.opportunities;
        let gap = (9 * 24 * 3600 * 1000 / (total.max(1) as i64 + 1)).min(61_000);
        let mut at = Utc::now() - chrono::Duration::days(9);
        let mut step = || {
            at += chrono::Duration::milliseconds(gap);
            at
        };
        // The integration user (the one who authorized the app) and two
        // sales reps who own records.
        let mut owners = Vec::new();
        for (i, (first, last)) in [
            ("Integration", "User"),
            ("Riley", "Chen"),
            ("Jordan", "Patel"),
        ]
        .into_iter()
        .enumerate()
        {
            let id = if i == 0 {
                self.config.user_id.clone()
            } else {
                self.new_id(SObject::User.key_prefix())
            };
            let at = json!(stamp(step()));
            let mut row = Row::new();
            row.insert("Id".into(), json!(id));
            row.insert(
                "Username".into(),
                json!(format!("{}@acme-corp.example", first.to_lowercase())),
            );
            row.insert("FirstName".into(), json!(first));
            row.insert("LastName".into(), json!(last));
            row.insert("Name".into(), json!(format!("{first} {last}")));
            row.insert(
                "Email".into(),
                json!(format!("{}@acme-corp.example", first.to_lowercase())),
            );
            row.insert("IsActive".into(), json!(true));
            row.insert("Title".into(), Value::Null);
            for k in ["CreatedDate", "LastModifiedDate", "SystemModstamp"] {
                row.insert(k.into(), at.clone());
            }
            row.insert("CreatedById".into(), json!(self.config.user_id));
            row.insert("LastModifiedById".into(), json!(self.config.user_id));
            self.records.entry(SObject::User).or_default().push(row);
            owners.push(id);
        }
        let mut accounts = Vec::new();
        for i in 0..self.config.accounts {
            let name = format!(
                "{} {}",
                COMPANY_WORDS[i % COMPANY_WORDS.len()],
                ["Logistics", "Foods", "Health", "Systems", "Partners"]
                    [i / COMPANY_WORDS.len() % 5]
            );
            let name = if i >= COMPANY_WORDS.len() * 5 {
                format!("{name} {}", i / (COMPANY_WORDS.len() * 5) + 1)
            } else {
                name
            };
            let mut f = Row::new();
            f.insert("Name".into(), json!(name));
            f.insert("Type".into(), json!(ACCOUNT_TYPES[i % 3]));
            f.insert(
                "Industry".into(),
                json!(INDUSTRIES[(i * 7) % INDUSTRIES.len()]),
            );
            f.insert(
                "Website".into(),
                if i % 4 == 3 {
                    Value::Null
                } else {
                    json!(format!("account{i}.example"))
                },
            );
            f.insert(
                "BillingCountry".into(),
                json!(["US", "DE", "GB", "FR"][i % 4]),
            );
            f.insert("OwnerId".into(), json!(owners[1 + i % 2]));
            let id = self.insert(SObject::Account, f, step());
            accounts.push(id);
        }
        let mut contacts_of: Vec<Vec<String>> = Vec::new();
        for (i, account) in accounts.clone().iter().enumerate() {
            let mut ids = Vec::new();
            for j in 0..self.config.contacts_per_account {
                let k = i * self.config.contacts_per_account + j;
                let first = FIRST_NAMES[k % FIRST_NAMES.len()];
                let last = LAST_NAMES[(k * 3 + k / FIRST_NAMES.len()) % LAST_NAMES.len()];
                let mut f = Row::new();
                f.insert("AccountId".into(), json!(account));
                f.insert("FirstName".into(), json!(first));
                f.insert("LastName".into(), json!(last));
                f.insert("Name".into(), json!(format!("{first} {last}")));
                f.insert(
                    "Email".into(),
                    json!(format!(
                        "{}.{}{k}@account{i}.example",
                        first.to_lowercase(),
                        last.to_lowercase().replace('\'', "")
                    )),
                );
                f.insert(
                    "Title".into(),
                    json!(["VP Operations", "CIO", "IT Manager"][k % 3]),
                );
                f.insert("OwnerId".into(), json!(self.config.user_id));
                ids.push(self.insert(SObject::Contact, f, step()));
            }
            contacts_of.push(ids);
        }
        if accounts.is_empty() {
            return;
        }
        let today = Utc::now().date_naive();
        for i in 0..self.config.opportunities {
            let a = i % accounts.len();
            let (stage_name, probability, forecast, closed, won) = STAGES[i % STAGES.len()];
            let mut f = Row::new();
            f.insert("AccountId".into(), json!(accounts[a]));
            f.insert("Name".into(), json!(format!("Managed services {}", i + 1)));
            f.insert("StageName".into(), json!(stage_name));
            f.insert("Amount".into(), json!(((i % 9) + 1) as f64 * 6000.0));
            f.insert("Probability".into(), json!(probability));
            f.insert(
                "CloseDate".into(),
                json!((today + chrono::Duration::days(15 * (i as i64 % 12) - 30)).to_string()),
            );
            f.insert("IsClosed".into(), json!(closed));
            f.insert("IsWon".into(), json!(won));
            f.insert("ForecastCategoryName".into(), json!(forecast));
            f.insert("Type".into(), json!("New Business"));
            f.insert("OwnerId".into(), json!(owners[1 + i % 2]));
            let at = step();
            let opp = self.insert(SObject::Opportunity, f, at);
            if i % 2 == 0 {
                if let Some(contact) = contacts_of[a].first().cloned() {
                    let mut r = Row::new();
                    r.insert("OpportunityId".into(), json!(opp));
                    r.insert("ContactId".into(), json!(contact));
                    r.insert("Role".into(), json!(ROLES[1]));
                    r.insert("IsPrimary".into(), json!(true));
                    self.insert(SObject::OpportunityContactRole, r, at);
                    self.sync_primary_contact(&opp);
                }
            }
        }
        self.last_stamp = self.last_stamp.max(at);
    }
}
