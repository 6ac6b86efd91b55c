//! `query` and `queryAll`: SOQL checked against the schema (unknown
//! objects, fields and relationships, literals of the wrong type refused
//! with Salesforce's codes and messages), run over the records, and served
//! in batches through `nextRecordsUrl` cursors.

use super::schema::{FieldDef, FieldType, SObject, CURRENCY_FIELD};
use super::soql::{self, located, Expr, Item, Lit, Op, Select, SoqlError};
use super::state::{parse_stamp, same_id, Cursor, Row};
use super::*;
use std::cmp::Ordering;

/// Open cursors a user may hold; opening another closes the oldest
/// (Salesforce allows 10 open query cursors per user).
const MAX_CURSORS: usize = 10;

/// The largest OFFSET Salesforce accepts.
const MAX_OFFSET: usize = 2_000;

/// A field as a query names it: on the object itself or on a parent.
#[derive(Clone, Copy)]
struct Path {
    /// The reference field and the parent object, for `Parent.Field`.
    parent: Option<(&'static FieldDef, SObject)>,
    field: &'static FieldDef,
}

/// A checked query.
struct Plan<'a> {
    object: SObject,
    fields: Vec<Path>,
    /// The contact-role subquery, if any, and where it goes in the record.
    sub: Option<(usize, &'a Select)>,
}

const NO_COLUMN_HINT: &str = "If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.";

fn resolve(soql_text: &str, object: SObject, name: &soql::Name) -> Result<Path, SoqlError> {
    match name.text.split_once('.') {
        None => object
            .field(&name.text)
            .map(|field| Path {
                parent: None,
                field,
            })
            .ok_or_else(|| {
                located(
                    "INVALID_FIELD",
                    soql_text,
                    name.col,
                    &format!(
                        "No such column '{}' on entity '{}'. {NO_COLUMN_HINT}",
                        name.text,
                        object.name()
                    ),
                )
            }),
        Some((rel, field)) => {
            let bad_rel = || {
                located(
                    "INVALID_FIELD",
                    soql_text,
                    name.col,
                    &format!("Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names."),
                )
            };
            let reference = object.relationship(rel).ok_or_else(bad_rel)?;
            let parent = reference
                .reference_to
                .and_then(SObject::parse)
                .ok_or_else(bad_rel)?;
            let field_def = parent.field(field).ok_or_else(|| {
                located(
                    "INVALID_FIELD",
                    soql_text,
                    name.col,
                    &format!(
                        "No such column '{field}' on entity '{}'. {NO_COLUMN_HINT}",
                        parent.name()
                    ),
                )
            })?;
            Ok(Path {
                parent: Some((reference, parent)),
                field: field_def,
            })
        }
    }
}

/// Checks a literal against the field's type, as Salesforce does.
fn check_literal(
    soql_text: &str,
    path: &Path,
    name: &soql::Name,
    op: Op,
    lit: &Lit,
) -> Result<(), SoqlError> {
    let kind = path.field.kind;
    let wrong = |quoted: bool| {
        located(
            "INVALID_FIELD",
            soql_text,
            name.col,
            &format!(
                "value of filter criterion for field '{}' must be of type {} and should {}be enclosed in quotes",
                path.field.name,
                kind.soql_name(),
                if quoted { "" } else { "not " }
            ),
        )
    };
    let likeable = kind.is_text() && !matches!(kind, FieldType::Id | FieldType::Reference);
    if op == Op::Like && !likeable {
        return Err(located(
            "INVALID_FIELD",
            soql_text,
            name.col,
            &format!(
                "invalid operator on {} field: {}",
                kind.wire_name(),
                path.field.name
            ),
        ));
    }
    match lit {
        Lit::Null => Ok(()),
        Lit::Str(s) if kind.is_text() => {
            if matches!(kind, FieldType::Id | FieldType::Reference)
                && op != Op::Like
                && !(matches!(s.len(), 15 | 18) && s.bytes().all(|b| b.is_ascii_alphanumeric()))
            {
                return Err(located(
                    "INVALID_QUERY_FILTER_OPERATOR",
                    soql_text,
                    name.col,
                    &format!("invalid ID field: {s}"),
                ));
            }
            Ok(())
        }
        _ if kind.is_text() => Err(wrong(true)),
        Lit::Bool(_) if kind == FieldType::Boolean => Ok(()),
        Lit::Num(n) if kind.is_number() && (kind != FieldType::Int || n.fract() == 0.0) => Ok(()),
        Lit::Date(_) if kind == FieldType::Date => Ok(()),
        Lit::DateTime(_) if kind == FieldType::DateTime => Ok(()),
        Lit::Days(..) if matches!(kind, FieldType::Date | FieldType::DateTime) => Ok(()),
        _ => Err(wrong(false)),
    }
}

fn check_expr(soql_text: &str, object: SObject, e: &Expr) -> Result<(), SoqlError> {
    match e {
        Expr::And(parts) | Expr::Or(parts) => parts
            .iter()
            .try_for_each(|p| check_expr(soql_text, object, p)),
        Expr::Not(inner) => check_expr(soql_text, object, inner),
        Expr::Cond { field, op, values } => {
            let path = resolve(soql_text, object, field)?;
            values
                .iter()
                .try_for_each(|(lit, _)| check_literal(soql_text, &path, field, *op, lit))
        }
    }
}

/// The first name in the query that ends in `field` (any object).
fn find_name<'s>(select: &'s Select, field: &str) -> Option<&'s soql::Name> {
    fn in_expr<'s>(e: &'s Expr, field: &str) -> Option<&'s soql::Name> {
        match e {
            Expr::And(parts) | Expr::Or(parts) => parts.iter().find_map(|p| in_expr(p, field)),
            Expr::Not(inner) => in_expr(inner, field),
            Expr::Cond { field: name, .. } => ends_with(name, field).then_some(name),
        }
    }
    fn ends_with(name: &soql::Name, field: &str) -> bool {
        name.text
            .rsplit('.')
            .next()
            .is_some_and(|last| last.eq_ignore_ascii_case(field))
    }
    select
        .items
        .iter()
        .find_map(|i| match i {
            Item::Field(name) => ends_with(name, field).then_some(name),
            Item::Sub(inner) => find_name(inner, field),
        })
        .or_else(|| select.filter.as_ref().and_then(|e| in_expr(e, field)))
        .or_else(|| {
            select
                .order
                .iter()
                .map(|o| &o.field)
                .find(|n| ends_with(n, field))
        })
}

fn plan<'a>(soql_text: &str, select: &'a Select) -> Result<Plan<'a>, SoqlError> {
    let object = SObject::parse(&select.from.text).ok_or_else(|| {
        located(
            "INVALID_TYPE",
            soql_text,
            select.from.col,
            &format!("sObject type '{}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.", select.from.text),
        )
    })?;
    let mut fields = Vec::new();
    let mut sub = None;
    for item in &select.items {
        match item {
            Item::Field(name) => fields.push(resolve(soql_text, object, name)?),
            Item::Sub(inner) => {
                if object != SObject::Opportunity
                    || !inner
                        .from
                        .text
                        .eq_ignore_ascii_case("OpportunityContactRoles")
                {
                    return Err(located(
                        "INVALID_TYPE",
                        soql_text,
                        inner.from.col,
                        &format!("Didn't understand relationship '{}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.", inner.from.text),
                    ));
                }
                let role = SObject::OpportunityContactRole;
                for i in &inner.items {
                    if let Item::Field(name) = i {
                        resolve(soql_text, role, name)?;
                    }
                }
                if let Some(e) = &inner.filter {
                    check_expr(soql_text, role, e)?;
                }
                for o in &inner.order {
                    resolve(soql_text, role, &o.field)?;
                }
                sub = Some((fields.len(), &**inner));
            }
        }
    }
    if let Some(e) = &select.filter {
        check_expr(soql_text, object, e)?;
    }
    for o in &select.order {
        resolve(soql_text, object, &o.field)?;
    }
    Ok(Plan {
        object,
        fields,
        sub,
    })
}

impl State {
    /// The value of `path` on `row`.
    fn value_of(&self, row: &Row, path: &Path) -> Value {
        match path.parent {
            None => row.get(path.field.name).cloned().unwrap_or(Value::Null),
            Some((reference, parent)) => row
                .get(reference.name)
                .and_then(Value::as_str)
                .and_then(|id| self.find(parent, id))
                .and_then(|p| p.get(path.field.name).cloned())
                .unwrap_or(Value::Null),
        }
    }

    fn matches(&self, object: SObject, row: &Row, e: &Expr) -> bool {
        match e {
            Expr::And(parts) => parts.iter().all(|p| self.matches(object, row, p)),
            Expr::Or(parts) => parts.iter().any(|p| self.matches(object, row, p)),
            Expr::Not(inner) => !self.matches(object, row, inner),
            Expr::Cond { field, op, values } => {
                let Ok(path) = resolve("", object, field) else {
                    return false;
                };
                let v = self.value_of(row, &path);
                let kind = path.field.kind;
                let eq = |lit: &Lit| match lit {
                    Lit::Null => v.is_null(),
                    l => compare(kind, &v, l) == Some(Ordering::Equal),
                };
                match op {
                    Op::Eq => eq(&values[0].0),
                    Op::Ne => !eq(&values[0].0),
                    Op::In => values.iter().any(|(l, _)| eq(l)),
                    Op::NotIn => !values.iter().any(|(l, _)| eq(l)),
                    Op::Like => match (&v, &values[0].0) {
                        (Value::String(s), Lit::Str(p)) => soql::like(s, p),
                        _ => false,
                    },
                    Op::Lt | Op::Gt | Op::Le | Op::Ge => {
                        let Some(ord) = compare(kind, &v, &values[0].0) else {
                            return false;
                        };
                        match op {
                            Op::Lt => ord == Ordering::Less,
                            Op::Gt => ord == Ordering::Greater,
                            Op::Le => ord != Ordering::Greater,
                            _ => ord != Ordering::Less,
                        }
                    }
                }
            }
        }
    }

    /// The rows a (sub)query selects, filtered, sorted and cut.
    fn select_rows<'r>(
        &self,
        object: SObject,
        rows: impl Iterator<Item = &'r Row>,
        select: &Select,
    ) -> Vec<&'r Row> {
        let mut out: Vec<&Row> = rows
            .filter(|r| {
                select
                    .filter
                    .as_ref()
                    .is_none_or(|e| self.matches(object, r, e))
            })
            .collect();
        if !select.order.is_empty() {
            let keys: Vec<(Path, bool, bool)> = select
                .order
                .iter()
                .filter_map(|o| {
                    resolve("", object, &o.field)
                        .ok()
                        .map(|p| (p, o.desc, o.nulls_last))
                })
                .collect();
            out.sort_by(|a, b| {
                for (path, desc, nulls_last) in &keys {
                    let (va, vb) = (self.value_of(a, path), self.value_of(b, path));
                    let ord = match (va.is_null(), vb.is_null()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => {
                            if *nulls_last {
                                Ordering::Greater
                            } else {
                                Ordering::Less
                            }
                        }
                        (false, true) => {
                            if *nulls_last {
                                Ordering::Less
                            } else {
                                Ordering::Greater
                            }
                        }
                        (false, false) => {
                            let o = compare_values(path.field.kind, &va, &vb);
                            if *desc {
                                o.reverse()
                            } else {
                                o
                            }
                        }
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                Ordering::Equal
            });
        }
        let offset = select.offset.unwrap_or(0);
        let limit = select.limit.unwrap_or(usize::MAX);
        out.into_iter().skip(offset).take(limit).collect()
    }

    fn attributes(object: SObject, version: &str, id: &Value) -> Value {
        json!({
            "type": object.name(),
            "url": format!("/services/data/v{version}/sobjects/{}/{}", object.name(), id.as_str().unwrap_or_default()),
        })
    }

    fn render(&self, plan: &Plan<'_>, row: &Row, version: &str, all: bool) -> Value {
        let mut out = Map::new();
        out.insert(
            "attributes".into(),
            Self::attributes(plan.object, version, row.get("Id").unwrap_or(&Value::Null)),
        );
        let emit_sub = |out: &mut Map<String, Value>| {
            if let Some((_, sub)) = plan.sub {
                let role = SObject::OpportunityContactRole;
                let id = row.get("Id").and_then(Value::as_str).unwrap_or_default();
                let children = self.records.get(&role).into_iter().flatten().filter(|r| {
                    (all || r.get("IsDeleted") != Some(&json!(true)))
                        && r.get("OpportunityId")
                            .and_then(Value::as_str)
                            .is_some_and(|o| same_id(o, id))
                });
                let rows = self.select_rows(role, children, sub);
                let records: Vec<Value> = rows
                    .iter()
                    .map(|r| {
                        let mut m = Map::new();
                        m.insert(
                            "attributes".into(),
                            Self::attributes(role, version, r.get("Id").unwrap_or(&Value::Null)),
                        );
                        for item in &sub.items {
                            if let Item::Field(name) = item {
                                if let Ok(p) = resolve("", role, name) {
                                    m.insert(p.field.name.into(), self.value_of(r, &p));
                                }
                            }
                        }
                        Value::Object(m)
                    })
                    .collect();
                // An empty child relationship is null, not an empty list.
                let value = if records.is_empty() {
                    Value::Null
                } else {
                    json!({"totalSize": records.len(), "done": true, "records": records})
                };
                out.insert("OpportunityContactRoles".into(), value);
            }
        };
        for (i, path) in plan.fields.iter().enumerate() {
            if plan.sub.is_some_and(|(at, _)| at == i) {
                emit_sub(&mut out);
            }
            match path.parent {
                None => {
                    out.insert(path.field.name.into(), self.value_of(row, path));
                }
                Some((reference, parent)) => {
                    let rel = reference.relationship.unwrap_or_default();
                    let parent_row = row
                        .get(reference.name)
                        .and_then(Value::as_str)
                        .and_then(|id| self.find(parent, id));
                    match parent_row {
                        None => {
                            out.insert(rel.into(), Value::Null);
                        }
                        Some(p) => {
                            let entry = out.entry(rel).or_insert_with(|| {
                                json!({"attributes": Self::attributes(parent, version, p.get("Id").unwrap_or(&Value::Null))})
                            });
                            if let Some(m) = entry.as_object_mut() {
                                m.insert(
                                    path.field.name.into(),
                                    p.get(path.field.name).cloned().unwrap_or(Value::Null),
                                );
                            }
                        }
                    }
                }
            }
        }
        if plan.sub.is_some_and(|(at, _)| at == plan.fields.len()) {
            emit_sub(&mut out);
        }
        Value::Object(out)
    }

    /// `GET query?q=` (`all`: `queryAll`, deleted rows included).
    pub(super) fn query(
        &mut self,
        version: &str,
        soql_text: &str,
        all: bool,
        batch: usize,
    ) -> Reply {
        let select = match soql::parse(soql_text) {
            Ok(s) => s,
            Err(e) => return Reply::error(400, e.code, &e.message),
        };
        let plan = match plan(soql_text, &select) {
            Ok(p) => p,
            Err(e) => return Reply::error(400, e.code, &e.message),
        };
        if select.offset.is_some_and(|o| o > MAX_OFFSET) {
            return Reply::error(
                400,
                "NUMBER_OUTSIDE_VALID_RANGE",
                &format!("Maximum SOQL offset allowed is {MAX_OFFSET}"),
            );
        }
        if !self.config.multi_currency {
            if let Some(name) = find_name(&select, CURRENCY_FIELD) {
                let entity = match name.text.split_once('.') {
                    Some((rel, _)) => plan
                        .object
                        .relationship(rel)
                        .and_then(|r| r.reference_to)
                        .unwrap_or(plan.object.name()),
                    None => plan.object.name(),
                };
                let e = located(
                    "INVALID_FIELD",
                    soql_text,
                    name.col,
                    &format!(
                        "No such column '{CURRENCY_FIELD}' on entity '{entity}'. {NO_COLUMN_HINT}"
                    ),
                );
                return Reply::error(400, e.code, &e.message);
            }
        }
        let rows = self
            .records
            .get(&plan.object)
            .into_iter()
            .flatten()
            .filter(|r| all || r.get("IsDeleted") != Some(&json!(true)));
        let rows = self.select_rows(plan.object, rows, &select);
        if let Some((name, alias)) = &select.count_field {
            let path = match resolve(soql_text, plan.object, name) {
                Ok(p) => p,
                Err(e) => return Reply::error(400, e.code, &e.message),
            };
            let n = rows
                .iter()
                .filter(|r| !self.value_of(r, &path).is_null())
                .count();
            let mut record = Map::new();
            record.insert("attributes".into(), json!({"type": "AggregateResult"}));
            record.insert(alias.clone().unwrap_or_else(|| "expr0".into()), json!(n));
            return Reply::json(
                200,
                json!({"totalSize": 1, "done": true, "records": [Value::Object(record)]}),
            );
        }
        if select.count {
            return Reply::json(
                200,
                json!({"totalSize": rows.len(), "done": true, "records": []}),
            );
        }
        let rendered: Vec<Value> = rows
            .iter()
            .map(|r| self.render(&plan, r, version, all))
            .collect();
        let total = rendered.len();
        let endpoint = if all { "queryAll" } else { "query" };
        if total <= batch {
            return Reply::json(
                200,
                json!({"totalSize": total, "done": true, "records": rendered}),
            );
        }
        let locator = self.new_id("01g");
        let first: Vec<Value> = rendered[..batch].to_vec();
        self.cursors.insert(
            locator.clone(),
            Cursor {
                rows: rendered,
                next: batch,
                batch,
                total,
                opened: self.counter,
                endpoint,
            },
        );
        while self.cursors.len() > MAX_CURSORS {
            let oldest = self
                .cursors
                .iter()
                .min_by_key(|(_, c)| c.opened)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.cursors.remove(&k);
            }
        }
        Reply::json(
            200,
            json!({
                "totalSize": total,
                "done": false,
                "nextRecordsUrl": format!("/services/data/v{version}/{endpoint}/{locator}-{batch}"),
                "records": first,
            }),
        )
    }

    /// `GET query/{locator}-{n}`: the batch starting at record `n`.
    pub(super) fn query_more(&mut self, version: &str, locator: &str) -> Reply {
        let invalid = || Reply::error(400, "INVALID_QUERY_LOCATOR", "invalid query locator");
        let Some((key, start)) = locator.rsplit_once('-') else {
            return invalid();
        };
        let Ok(start) = start.parse::<usize>() else {
            return invalid();
        };
        let Some(cursor) = self.cursors.get_mut(key) else {
            return invalid();
        };
        if start > cursor.total || start == 0 {
            return invalid();
        }
        let end = (start + cursor.batch).min(cursor.total);
        let records = cursor.rows[start..end].to_vec();
        cursor.next = end;
        let total = cursor.total;
        let endpoint = cursor.endpoint;
        if end >= total {
            self.cursors.remove(key);
            return Reply::json(
                200,
                json!({"totalSize": total, "done": true, "records": records}),
            );
        }
        Reply::json(
            200,
            json!({
                "totalSize": total,
                "done": false,
                "nextRecordsUrl": format!("/services/data/v{version}/{endpoint}/{key}-{end}"),
                "records": records,
            }),
        )
    }
}

/// Compares a stored value with a literal of the field's type.
fn compare(kind: FieldType, v: &Value, lit: &Lit) -> Option<Ordering> {
    match (kind, lit) {
        (_, Lit::Null) => None,
        (FieldType::Id | FieldType::Reference, Lit::Str(s)) => {
            let v = v.as_str()?;
            Some(if same_id(v, s) {
                Ordering::Equal
            } else {
                v.cmp(s.as_str())
            })
        }
        (k, Lit::Str(s)) if k.is_text() => Some(v.as_str()?.to_lowercase().cmp(&s.to_lowercase())),
        (_, Lit::Num(n)) => v.as_f64()?.partial_cmp(n),
        (_, Lit::Bool(b)) => Some(v.as_bool()?.cmp(b)),
        (_, Lit::Date(d)) => Some(
            chrono::NaiveDate::parse_from_str(v.as_str()?, "%Y-%m-%d")
                .ok()?
                .cmp(d),
        ),
        (_, Lit::DateTime(t)) => Some(parse_stamp(v.as_str()?)?.cmp(t)),
        (k, Lit::Days(first, last)) => {
            let s = v.as_str()?;
            let day = if k == FieldType::DateTime {
                parse_stamp(s)?.date_naive()
            } else {
                chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?
            };
            Some(if day < *first {
                Ordering::Less
            } else if day > *last {
                Ordering::Greater
            } else {
                Ordering::Equal
            })
        }
        _ => None,
    }
}

/// Orders two stored values of the field's type.
fn compare_values(kind: FieldType, a: &Value, b: &Value) -> Ordering {
    match kind {
        k if k.is_number() => a
            .as_f64()
            .partial_cmp(&b.as_f64())
            .unwrap_or(Ordering::Equal),
        FieldType::Boolean => a.as_bool().cmp(&b.as_bool()),
        FieldType::DateTime => a
            .as_str()
            .and_then(parse_stamp)
            .cmp(&b.as_str().and_then(parse_stamp)),
        FieldType::Id | FieldType::Reference | FieldType::Date => a.as_str().cmp(&b.as_str()),
        _ => a
            .as_str()
            .map(str::to_lowercase)
            .cmp(&b.as_str().map(str::to_lowercase)),
    }
}
