//! `conditions` / `childConditions`: field schemas and the evaluator.

use super::*;

/// A typed record's condition fields: (name as written, canonical name,
/// kind).
pub(super) type Schema = &'static [(&'static str, &'static str, Kind)];

pub(super) const COMPANY_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("identifier", "identifier", Kind::Str),
    ("name", "name", Kind::Str),
    ("status/id", "status/id", Kind::Int),
    ("status/name", "status/name", Kind::Str),
    ("territory/id", "territory/id", Kind::Int),
    ("territory/name", "territory/name", Kind::Str),
    ("market/id", "market/id", Kind::Int),
    ("market/name", "market/name", Kind::Str),
    ("city", "city", Kind::Str),
    ("state", "state", Kind::Str),
    ("website", "website", Kind::Str),
    ("deletedflag", "deletedflag", Kind::Bool),
    ("isvendorflag", "isvendorflag", Kind::Bool),
    ("leadflag", "leadflag", Kind::Bool),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
    ("dateentered", "dateentered", Kind::Time),
    ("_info/dateentered", "dateentered", Kind::Time),
];
pub(super) const COMPANY_CHILD_FIELDS: Schema = &[
    ("types/id", "types/id", Kind::Int),
    ("types/name", "types/name", Kind::Str),
];
pub(super) const CONTACT_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("firstname", "firstname", Kind::Str),
    ("lastname", "lastname", Kind::Str),
    ("title", "title", Kind::Str),
    ("company/id", "company/id", Kind::Int),
    ("company/name", "company/name", Kind::Str),
    ("company/identifier", "company/identifier", Kind::Str),
    ("inactiveflag", "inactiveflag", Kind::Bool),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];
pub(super) const CONTACT_CHILD_FIELDS: Schema = &[
    ("types/id", "types/id", Kind::Int),
    ("types/name", "types/name", Kind::Str),
    (
        "communicationitems/value",
        "communicationitems/value",
        Kind::Str,
    ),
    (
        "communicationitems/communicationtype",
        "communicationitems/communicationtype",
        Kind::Str,
    ),
];
pub(super) const OPPORTUNITY_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("name", "name", Kind::Str),
    ("company/id", "company/id", Kind::Int),
    ("company/name", "company/name", Kind::Str),
    ("contact/id", "contact/id", Kind::Int),
    ("stage/id", "stage/id", Kind::Int),
    ("stage/name", "stage/name", Kind::Str),
    ("status/id", "status/id", Kind::Int),
    ("status/name", "status/name", Kind::Str),
    ("probability/id", "probability/id", Kind::Int),
    ("expectedclosedate", "expectedclosedate", Kind::Time),
    ("closeddate", "closeddate", Kind::Time),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];
pub(super) const CONFIGURATION_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("name", "name", Kind::Str),
    ("company/id", "company/id", Kind::Int),
    ("contact/id", "contact/id", Kind::Int),
    ("type/id", "type/id", Kind::Int),
    ("type/name", "type/name", Kind::Str),
    ("status/id", "status/id", Kind::Int),
    ("status/name", "status/name", Kind::Str),
    ("activeflag", "activeflag", Kind::Bool),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];
pub(super) const CATALOG_FIELDS: Schema = &[
    ("id", "id", Kind::Int),
    ("identifier", "identifier", Kind::Str),
    ("description", "description", Kind::Str),
    ("inactiveflag", "inactiveflag", Kind::Bool),
    ("productclass", "productclass", Kind::Str),
    ("category/id", "category/id", Kind::Int),
    ("category/name", "category/name", Kind::Str),
    ("subcategory/id", "subcategory/id", Kind::Int),
    ("type/id", "type/id", Kind::Int),
    ("price", "price", Kind::Num),
    ("lastupdated", "lastupdated", Kind::Time),
    ("_info/lastupdated", "lastupdated", Kind::Time),
];

/// Where a field path leads in a record's JSON: whether it crosses an
/// array (so only `childConditions` can filter on it) and what is there.
#[derive(Debug, Clone, Copy)]
pub(super) struct ShapeHit<'a> {
    pub(super) in_array: bool,
    pub(super) leaf: &'a Value,
}

/// Looks `path` (`a/b/c`, any case) up in a records' merged `shape` (see
/// [`merge_shape`]). A path running into a `null` (a reference no sampled
/// record had set) or an empty array is taken to exist. `lastUpdated` and
/// the other `_info` keys are found at the top level too, as ConnectWise
/// filters them.
pub(super) fn shape_lookup<'a>(shape: &'a Value, path: &str) -> Option<ShapeHit<'a>> {
    fn walk<'a>(v: &'a Value, parts: &[&str], in_array: bool) -> Option<ShapeHit<'a>> {
        match v {
            Value::Array(items) => match items.first() {
                Some(first) => walk(first, parts, true),
                None => Some(ShapeHit {
                    in_array: true,
                    leaf: v,
                }),
            },
            _ if parts.is_empty() => Some(ShapeHit { in_array, leaf: v }),
            Value::Null => Some(ShapeHit { in_array, leaf: v }),
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(parts[0]))
                .and_then(|(_, x)| walk(x, &parts[1..], in_array)),
            _ => None,
        }
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        return None;
    }
    walk(shape, &parts, false).or_else(|| {
        (parts.len() == 1)
            .then(|| walk(shape, &["_info", parts[0]], false))
            .flatten()
    })
}

/// Merges record `v` into `shape`: every key any record has, with the first
/// non-null value seen; arrays merged into their first element.
pub(super) fn merge_shape(shape: &mut Value, v: &Value) {
    match (shape, v) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, bv) in b {
                match a.get_mut(k) {
                    Some(av) => merge_shape(av, bv),
                    None => {
                        a.insert(k.clone(), bv.clone());
                    }
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for x in b {
                match a.first_mut() {
                    Some(first) => merge_shape(first, x),
                    None => a.push(x.clone()),
                }
            }
        }
        (a @ Value::Null, b) => *a = b.clone(),
        _ => {}
    }
}

/// How many records are rendered to learn a typed collection's fields.
pub(super) const SHAPE_SAMPLE: usize = 32;

/// The merged JSON shape of the first records of `rows`.
pub(super) fn rows_shape<R: Row>(rows: &[R], d: &Data) -> Value {
    let mut shape = Value::Null;
    let mut text = String::new();
    for r in rows.iter().take(SHAPE_SAMPLE) {
        text.clear();
        r.render(d, &mut text);
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            merge_shape(&mut shape, &v);
        }
    }
    shape
}

/// A field of a typed record that is not in its schema, read from the
/// rendered record (slow; only for fields hosts filter on rarely).
pub(super) fn rendered_field<R: Row + ?Sized>(r: &R, d: &Data, path: &str) -> Fv<'static> {
    let mut text = String::new();
    r.render(d, &mut text);
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    value_field(&v, path).owned()
}

/// Resolves the fields of `cond` against `schema` (when the rows are
/// typed) and checks the values' types. `child` says whether these are
/// `childConditions`. A field outside the schema is looked up in the
/// records' `shape` (any field of the record can be filtered on, as in
/// ConnectWise, whose guide says conditions search "based on the fields
/// returned in a GET"); one no record has is refused.
pub(super) fn resolve(
    cond: &mut Cond,
    schema: Option<(Schema, Schema)>,
    child: bool,
    shape: &dyn Fn() -> Value,
) -> Result<(), String> {
    match cond {
        Cond::And(v) | Cond::Or(v) => v
            .iter_mut()
            .try_for_each(|c| resolve(c, schema, child, shape)),
        Cond::Not(c) => resolve(c, schema, child, shape),
        Cond::Cmp {
            field, op, value, ..
        } => {
            // The Developer Guide lists `in` for `conditions` only; the
            // operators of `childConditions` are `= != < <= > >= contains
            // like not`.
            if child && *op == Op::In {
                return Err(format!(
                    "{}: the 'in' operator is not supported in childConditions (use = with or)",
                    field.path
                ));
            }
            if matches!(value, Lit::List(_)) != (*op == Op::In) {
                return Err(format!(
                    "{}: 'in' takes a list, other operators a single value",
                    field.path
                ));
            }
            let Some((fields, child_fields)) = schema else {
                return Ok(());
            };
            let (own, other, what) = if child {
                (child_fields, fields, "childConditions")
            } else {
                (fields, child_fields, "conditions")
            };
            let wrong_parameter = || {
                if child {
                    format!("{} is not an array field; use conditions", field.path)
                } else {
                    format!("{} is an array field; use childConditions", field.path)
                }
            };
            let Some(&(_, canon, kind)) = own.iter().find(|f| f.0 == field.path) else {
                if other.iter().any(|f| f.0 == field.path) {
                    return Err(wrong_parameter());
                }
                let shape = shape();
                let Some(hit) = shape_lookup(&shape, &field.path) else {
                    return Err(format!("unknown field '{}' in {what}", field.path));
                };
                if hit.in_array != child {
                    return Err(wrong_parameter());
                }
                if matches!(op, Op::Contains | Op::Like)
                    && !matches!(hit.leaf, Value::String(_) | Value::Null)
                {
                    return Err(format!("{} is not a string field", field.path));
                }
                // Read from the rendered record (see `rendered_field`).
                field.canon = "";
                return Ok(());
            };
            field.canon = canon;
            if matches!(op, Op::Contains | Op::Like) && kind != Kind::Str {
                return Err(format!("{} is not a string field", field.path));
            }
            let items: Vec<&Lit> = match value {
                Lit::List(items) => items.iter().collect(),
                v => vec![v],
            };
            for v in items {
                let ok = matches!(
                    (kind, v),
                    (_, Lit::Null)
                        | (Kind::Int, Lit::Int(_))
                        | (Kind::Num, Lit::Int(_) | Lit::Num(_))
                        | (Kind::Str, Lit::Str(_))
                        | (Kind::Time, Lit::Time(_))
                        | (Kind::Bool, Lit::Bool(_))
                );
                if !ok {
                    return Err(format!(
                        "{} cannot be compared with {} (strings need double quotes, datetimes square brackets)",
                        field.path,
                        v.describe()
                    ));
                }
            }
            Ok(())
        }
    }
}

/// A field's value in a record.
#[derive(Debug, Clone)]
pub(super) enum Fv<'a> {
    Null,
    Int(i64),
    Num(f64),
    Str(Cow<'a, str>),
    /// Milliseconds.
    Time(i64),
    Bool(bool),
    Many(Vec<Fv<'a>>),
}

impl Fv<'_> {
    pub(super) fn owned(self) -> Fv<'static> {
        match self {
            Fv::Null => Fv::Null,
            Fv::Int(i) => Fv::Int(i),
            Fv::Num(n) => Fv::Num(n),
            Fv::Str(s) => Fv::Str(Cow::Owned(s.into_owned())),
            Fv::Time(t) => Fv::Time(t),
            Fv::Bool(b) => Fv::Bool(b),
            Fv::Many(v) => Fv::Many(v.into_iter().map(Fv::owned).collect()),
        }
    }
}

pub(super) fn fv_str(s: &str) -> Fv<'_> {
    Fv::Str(Cow::Borrowed(s))
}

pub(super) fn fv_time(secs: i64) -> Fv<'static> {
    Fv::Time(secs.saturating_mul(1000))
}

pub(super) fn order(a: &Fv<'_>, b: &Lit) -> Option<Ordering> {
    match (a, b) {
        (Fv::Int(x), Lit::Int(y)) => Some(x.cmp(y)),
        (Fv::Int(x), Lit::Num(y)) => (*x as f64).partial_cmp(y),
        (Fv::Num(x), Lit::Int(y)) => x.partial_cmp(&(*y as f64)),
        (Fv::Num(x), Lit::Num(y)) => x.partial_cmp(y),
        (Fv::Str(x), Lit::Str(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (Fv::Str(x), Lit::Time(y)) => parse_ts_millis(x).map(|t| t.cmp(y)),
        (Fv::Str(x), Lit::Int(y)) => x.parse::<i64>().ok().map(|v| v.cmp(y)),
        (Fv::Time(x), Lit::Time(y)) => Some(x.cmp(y)),
        (Fv::Bool(x), Lit::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

pub(super) fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    // Iterative wildcard match with backtracking to the last star.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '*' || p[pi] == '%') {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && (p[pi] == '*' || p[pi] == '%') {
        pi += 1;
    }
    pi == p.len()
}

pub(super) fn compare(v: &Fv<'_>, op: Op, lit: &Lit) -> bool {
    if let Fv::Many(items) = v {
        return items.iter().any(|x| compare(x, op, lit));
    }
    match op {
        Op::In => match lit {
            Lit::List(items) => items.iter().any(|i| compare(v, Op::Eq, i)),
            _ => false,
        },
        Op::Eq | Op::Ne => {
            let eq = match (v, lit) {
                (Fv::Null, Lit::Null) => true,
                (_, Lit::Null) | (Fv::Null, _) => false,
                _ => order(v, lit) == Some(Ordering::Equal),
            };
            eq == (op == Op::Eq)
        }
        Op::Lt | Op::Le | Op::Gt | Op::Ge => match order(v, lit) {
            Some(o) => match op {
                Op::Lt => o == Ordering::Less,
                Op::Le => o != Ordering::Greater,
                Op::Gt => o == Ordering::Greater,
                _ => o != Ordering::Less,
            },
            None => false,
        },
        Op::Contains => match (v, lit) {
            (Fv::Str(s), Lit::Str(p)) => s.to_lowercase().contains(&p.to_lowercase()),
            _ => false,
        },
        Op::Like => match (v, lit) {
            (Fv::Str(s), Lit::Str(p)) => like(s, p),
            _ => false,
        },
    }
}

pub(super) fn eval<R: Row + ?Sized>(c: &Cond, r: &R, d: &Data) -> bool {
    match c {
        Cond::And(v) => v.iter().all(|c| eval(c, r, d)),
        Cond::Or(v) => v.iter().any(|c| eval(c, r, d)),
        Cond::Not(c) => !eval(c, r, d),
        Cond::Cmp {
            field,
            op,
            negated,
            value,
        } => {
            let v = r.field(field, d);
            // `not in` / `not like` / `not contains`: no element matches.
            compare(&v, *op, value) != *negated
        }
    }
}

/// What the list machinery needs from a record.
pub(super) trait Row {
    fn row_id(&self) -> u64;
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a>;
    fn render(&self, d: &Data, out: &mut String);
}

pub(super) fn opt_int(v: Option<u64>) -> Fv<'static> {
    v.map_or(Fv::Null, |x| Fv::Int(x as i64))
}

impl Row for Company {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let (sid, sname) = COMPANY_STATUSES[self.status as usize];
        let (tid, tname) = TERRITORIES[self.territory as usize];
        let (mid, mname) = MARKETS[self.market as usize];
        let types = TYPE_SETS[self.types as usize];
        let addr = ADDRESSES[(self.seq % 8) as usize];
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "identifier" => fv_str(&self.identifier),
            "name" => fv_str(&self.name),
            "status/id" => Fv::Int(sid as i64),
            "status/name" => fv_str(sname),
            "territory/id" => Fv::Int(tid as i64),
            "territory/name" => fv_str(tname),
            "market/id" => Fv::Int(mid as i64),
            "market/name" => fv_str(mname),
            "city" => fv_str(addr.1),
            "state" => fv_str(addr.2),
            "website" => Fv::Str(Cow::Owned(format!(
                "www.{}.example",
                self.identifier.to_ascii_lowercase()
            ))),
            "deletedflag" | "leadflag" => Fv::Bool(false),
            "isvendorflag" => Fv::Bool(types.contains(&3)),
            "lastupdated" => fv_time(self.last_updated),
            "dateentered" => fv_time(self.date_entered),
            "types/id" => Fv::Many(
                types
                    .iter()
                    .map(|t| Fv::Int(COMPANY_TYPES[*t as usize].0 as i64))
                    .collect(),
            ),
            "types/name" => Fv::Many(
                types
                    .iter()
                    .map(|t| fv_str(COMPANY_TYPES[*t as usize].1))
                    .collect(),
            ),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Company::render(self, d, out)
    }
}

impl Row for Contact {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let types = CONTACT_TYPE_SETS[self.types as usize];
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "firstname" => fv_str(&self.first),
            "lastname" => fv_str(self.last),
            "title" => fv_str(self.title),
            "company/id" => opt_int(self.company),
            "company/name" => self
                .company
                .map_or(Fv::Null, |c| Fv::Str(d.company_label(c).1)),
            "company/identifier" => self
                .company
                .map_or(Fv::Null, |c| Fv::Str(d.company_label(c).0)),
            "inactiveflag" => Fv::Bool(self.inactive),
            "lastupdated" => fv_time(self.last_updated),
            "types/id" => Fv::Many(
                types
                    .iter()
                    .map(|t| Fv::Int(CONTACT_TYPES[*t as usize].0 as i64))
                    .collect(),
            ),
            "types/name" => Fv::Many(
                types
                    .iter()
                    .map(|t| fv_str(CONTACT_TYPES[*t as usize].1))
                    .collect(),
            ),
            "communicationitems/value" | "communicationitems/communicationtype" => {
                // Rendered values, looked up from the JSON (rarely used).
                let mut s = String::new();
                self.render(d, &mut s);
                let v: Value = serde_json::from_str(&s).unwrap_or(Value::Null);
                value_field(&v, &f.path).owned()
            }
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Contact::render(self, d, out)
    }
}

impl Row for Opportunity {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "name" => fv_str(&self.name),
            "company/id" => Fv::Int(self.company as i64),
            "company/name" => Fv::Str(d.company_label(self.company).1),
            "contact/id" => opt_int(self.contact),
            "stage/id" => Fv::Int(self.stage as i64),
            "stage/name" => fv_str(stage_name(self.stage)),
            "status/id" => Fv::Int(self.status as i64),
            "status/name" => fv_str(opp_status(self.status).1),
            "probability/id" => Fv::Int(self.probability as i64),
            "expectedclosedate" => fv_time(self.expected_close),
            "closeddate" => self.closed_date.map_or(Fv::Null, fv_time),
            "lastupdated" => fv_time(self.last_updated),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Opportunity::render(self, d, out)
    }
}

impl Row for Configuration {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let t = CONFIG_TYPES[self.kind as usize % CONFIG_TYPES.len()];
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "name" => Fv::Str(Cow::Owned(self.name(d))),
            "company/id" => Fv::Int(self.company as i64),
            "contact/id" => opt_int(self.contact),
            "type/id" => Fv::Int(t.0 as i64),
            "type/name" => fv_str(t.1),
            "status/id" => Fv::Int(if self.active { 2 } else { 3 }),
            "status/name" => fv_str(if self.active { "Active" } else { "Inactive" }),
            "activeflag" => Fv::Bool(self.active),
            "lastupdated" => fv_time(self.last_updated),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        Configuration::render(self, d, out)
    }
}

impl Row for CatalogItem {
    fn row_id(&self) -> u64 {
        self.id
    }
    fn field<'a>(&'a self, f: &Field, d: &'a Data) -> Fv<'a> {
        let t = self.template();
        match f.canon {
            "id" => Fv::Int(self.id as i64),
            "identifier" => Fv::Str(self.identifier()),
            "description" => fv_str(t.1),
            "inactiveflag" => Fv::Bool(self.inactive),
            "productclass" => fv_str(t.4),
            "category/id" => Fv::Int(t.8 .0 as i64),
            "category/name" => fv_str(t.8 .1),
            "subcategory/id" => Fv::Int(t.2 .0 as i64),
            "type/id" => Fv::Int(t.3 .0 as i64),
            "price" => Fv::Num(t.5),
            "lastupdated" => fv_time(self.last_updated),
            _ => rendered_field(self, d, &f.path),
        }
    }
    fn render(&self, d: &Data, out: &mut String) {
        CatalogItem::render(self, d, out)
    }
}

/// Looks a lower-cased `a/b/c` path up in JSON, case-insensitively, fanning
/// out over arrays. `lastUpdated` falls back to `_info/lastUpdated`.
pub(super) fn value_field<'a>(v: &'a Value, path: &str) -> Fv<'a> {
    fn walk<'a>(v: &'a Value, parts: &[&str]) -> Fv<'a> {
        match v {
            Value::Array(items) => Fv::Many(items.iter().map(|i| walk(i, parts)).collect()),
            _ if parts.is_empty() => match v {
                Value::Null => Fv::Null,
                Value::Bool(b) => Fv::Bool(*b),
                Value::Number(n) => n
                    .as_i64()
                    .map(Fv::Int)
                    .unwrap_or_else(|| Fv::Num(n.as_f64().unwrap_or(0.0))),
                Value::String(s) => fv_str(s),
                _ => Fv::Null,
            },
            Value::Object(m) => m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(parts[0]))
                .map_or(Fv::Null, |(_, x)| walk(x, &parts[1..])),
            _ => Fv::Null,
        }
    }
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    match walk(v, &parts) {
        Fv::Null if parts.len() == 1 => walk(v, &["_info", parts[0]]),
        other => other,
    }
}

impl Row for Value {
    fn row_id(&self) -> u64 {
        self.get("id").and_then(Value::as_u64).unwrap_or(0)
    }
    fn field<'a>(&'a self, f: &Field, _d: &'a Data) -> Fv<'a> {
        value_field(self, &f.path)
    }
    fn render(&self, _d: &Data, out: &mut String) {
        out.push_str(&self.to_string());
    }
}
