//! The query API: `{Entity}/query` and `{Entity}/query/count`, the filter
//! grammar, `IncludeFields`, `MaxRecords` and keyset paging.

use super::values::{compare, text, valid_filter_value};
use super::*;
use std::cmp::Ordering;

/// The most records a page holds (and the default page size).
pub(super) const MAX_RECORDS: i64 = 500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    NotEq,
    Gt,
    Gte,
    Lt,
    Lte,
    BeginsWith,
    EndsWith,
    Contains,
    Exist,
    NotExist,
    In,
    NotIn,
}

impl Op {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "noteq" => Op::NotEq,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            "beginswith" => Op::BeginsWith,
            "endswith" => Op::EndsWith,
            "contains" => Op::Contains,
            "exist" => Op::Exist,
            "notexist" => Op::NotExist,
            "in" => Op::In,
            "notin" => Op::NotIn,
            _ => return None,
        })
    }
}

/// Where a condition's value is read from a record.
#[derive(Debug)]
enum Target {
    Field(&'static FieldDef),
    Udf(String),
}

/// A parsed filter.
#[derive(Debug)]
enum Cond {
    All(Vec<Cond>),
    Any(Vec<Cond>),
    Leaf {
        op: Op,
        target: Target,
        value: Value,
    },
}

/// A parsed query body.
struct QueryBody {
    filter: Cond,
    max_records: Option<i64>,
    include: Option<Vec<&'static str>>,
}

struct Parser<'a> {
    def: &'a EntityDef,
    udfs: usize,
}

impl Parser<'_> {
    fn items(&mut self, items: &[Value]) -> Result<Vec<Cond>, String> {
        items.iter().map(|i| self.item(i)).collect()
    }

    fn item(&mut self, item: &Value) -> Result<Cond, String> {
        let obj = item
            .as_object()
            .ok_or_else(|| format!("Invalid filter item: {item}."))?;
        let op = get_ci(obj, "op")
            .and_then(Value::as_str)
            .ok_or("A filter item has no op.")?;
        if op.eq_ignore_ascii_case("and") || op.eq_ignore_ascii_case("or") {
            let items = get_ci(obj, "items")
                .and_then(Value::as_array)
                .filter(|i| !i.is_empty())
                .ok_or_else(|| format!("The '{op}' grouping has no items."))?;
            let items = self.items(items)?;
            return Ok(if op.eq_ignore_ascii_case("and") {
                Cond::All(items)
            } else {
                Cond::Any(items)
            });
        }
        let op_parsed = Op::parse(op).ok_or_else(|| format!("Invalid operator '{op}'."))?;
        let field = get_ci(obj, "field")
            .and_then(Value::as_str)
            .filter(|f| !f.is_empty())
            .ok_or_else(|| format!("The '{op}' condition has no field."))?;
        let udf = get_ci(obj, "udf").is_some_and(|u| u.as_bool() == Some(true));
        let value = get_ci(obj, "value").cloned().unwrap_or(Value::Null);
        let target = if udf {
            self.udfs += 1;
            if self.udfs > 1 {
                return Err("Only one user-defined field may be used in a query.".into());
            }
            if !(self.def.has_udfs
                && udf_names(self.def)
                    .iter()
                    .any(|n| n.eq_ignore_ascii_case(field)))
            {
                return Err(format!(
                    "Unable to find {field} in the {} entity's user-defined fields.",
                    self.def.name
                ));
            }
            Target::Udf(field.to_string())
        } else {
            let f = self.def.field(field).ok_or_else(|| {
                format!("Unable to find {field} in the {} entity.", self.def.name)
            })?;
            if !f.queryable {
                return Err(format!("The field {} is not queryable.", f.name));
            }
            Target::Field(f)
        };
        let data_type = match &target {
            Target::Field(f) => f.data_type,
            Target::Udf(_) => "string",
        };
        match op_parsed {
            Op::Exist | Op::NotExist => {}
            Op::In | Op::NotIn => {
                let list = value.as_array().filter(|l| !l.is_empty()).ok_or_else(|| {
                    format!("The '{op}' operator needs a list of values for {field}.")
                })?;
                if let Some(bad) = list.iter().find(|v| !valid_filter_value(data_type, v)) {
                    return Err(format!("Invalid value {bad} for field {field}."));
                }
            }
            _ => {
                if value.is_null() {
                    return Err(format!("The '{op}' condition on {field} has no value."));
                }
                if !valid_filter_value(data_type, &value) {
                    return Err(format!("Invalid value {value} for field {field}."));
                }
            }
        }
        Ok(Cond::Leaf {
            op: op_parsed,
            target,
            value,
        })
    }
}

/// The user-defined fields an entity has.
pub(super) fn udf_names(def: &EntityDef) -> &'static [&'static str] {
    if def.name == "Companies" {
        &["Customer Tier"]
    } else {
        &[]
    }
}

fn stored<'a>(row: &'a Value, target: &Target) -> (&'static str, Option<&'a Value>) {
    match target {
        Target::Field(f) => (f.data_type, row.get(f.name)),
        Target::Udf(name) => (
            "string",
            row.get("userDefinedFields")
                .and_then(Value::as_array)
                .and_then(|l| {
                    l.iter().find(|u| {
                        u.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    })
                })
                .and_then(|u| u.get("value")),
        ),
    }
}

fn matches(cond: &Cond, row: &Value) -> bool {
    match cond {
        Cond::All(items) => items.iter().all(|c| matches(c, row)),
        Cond::Any(items) => items.iter().any(|c| matches(c, row)),
        Cond::Leaf { op, target, value } => {
            let (ty, got) = stored(row, target);
            let got = got.unwrap_or(&Value::Null);
            let present = !got.is_null() && got.as_str() != Some("");
            let cmp = || compare(ty, got, value);
            let lower = |v: &Value| text(v).map(|s| s.to_lowercase());
            match op {
                Op::Exist => present,
                Op::NotExist => !present,
                Op::Eq => cmp() == Some(Ordering::Equal),
                Op::NotEq => matches!(cmp(), Some(o) if o != Ordering::Equal),
                Op::Gt => cmp() == Some(Ordering::Greater),
                Op::Gte => matches!(cmp(), Some(Ordering::Greater | Ordering::Equal)),
                Op::Lt => cmp() == Some(Ordering::Less),
                Op::Lte => matches!(cmp(), Some(Ordering::Less | Ordering::Equal)),
                Op::BeginsWith | Op::EndsWith | Op::Contains => {
                    match (lower(got).filter(|_| present), lower(value)) {
                        (Some(g), Some(v)) => match op {
                            Op::BeginsWith => g.starts_with(&v),
                            Op::EndsWith => g.ends_with(&v),
                            _ => g.contains(&v),
                        },
                        _ => false,
                    }
                }
                Op::In | Op::NotIn => {
                    let list = value.as_array().map(Vec::as_slice).unwrap_or_default();
                    let hit = list
                        .iter()
                        .any(|v| compare(ty, got, v) == Some(Ordering::Equal));
                    match op {
                        Op::In => hit,
                        _ => present && !hit,
                    }
                }
            }
        }
    }
}

fn parse_body(def: &EntityDef, body: &Value) -> Result<QueryBody, String> {
    let obj = body
        .as_object()
        .ok_or("The query body must be a JSON object.")?;
    let filter = get_ci(obj, "filter")
        .and_then(Value::as_array)
        .filter(|f| !f.is_empty())
        .ok_or("A query needs at least one filter condition.")?;
    let mut parser = Parser { def, udfs: 0 };
    let filter = Cond::All(parser.items(filter)?);
    let max_records = match get_ci(obj, "MaxRecords") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let n = v
                .as_i64()
                .filter(|n| (1..=MAX_RECORDS).contains(n))
                .ok_or_else(|| {
                    format!("MaxRecords must be between 1 and {MAX_RECORDS}; {v} was given.")
                })?;
            Some(n)
        }
    };
    let include = match get_ci(obj, "IncludeFields") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) if list.is_empty() => None,
        Some(Value::Array(list)) => Some(
            list.iter()
                .map(|f| {
                    f.as_str()
                        .and_then(|n| def.field(n))
                        .map(|d| d.name)
                        .ok_or_else(|| format!("Unable to find {f} in the {} entity.", def.name))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Some(v) => {
            return Err(format!(
                "IncludeFields must be a list of field names, not {v}."
            ))
        }
    };
    Ok(QueryBody {
        filter,
        max_records,
        include,
    })
}

/// The `paging` parameter of a next/previous page URL: the first id of the
/// page it names, and the page size.
fn parse_paging(s: &str) -> Result<(i64, Option<i64>), String> {
    let v: Value =
        serde_json::from_str(s).map_err(|_| "The paging parameter is not valid.".to_string())?;
    let start = v
        .get("nextIds")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .and_then(id_of)
        .ok_or("The paging parameter is not valid.")?;
    let size = v.get("pageSize").and_then(Value::as_i64);
    Ok((start, size))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl State {
    pub(super) fn query(
        &mut self,
        req: &Request,
        def: &EntityDef,
        method: &str,
        count: bool,
    ) -> Out {
        let param = |name: &str| {
            req.url
                .query_pairs()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.into_owned())
        };
        let search = param("search");
        let raw: Result<Value, _> = if method == "GET" {
            match &search {
                Some(s) => serde_json::from_str(s),
                None => return errors(500, "A query needs at least one filter condition."),
            }
        } else {
            serde_json::from_slice(&req.body)
        };
        let Ok(raw) = raw else {
            return errors(500, "The query is not valid JSON.");
        };
        let body = match parse_body(def, &raw) {
            Ok(b) => b,
            Err(e) => return errors(500, e),
        };
        let empty = BTreeMap::new();
        let table = self.tables.get(def.name).unwrap_or(&empty);
        let filter = &body.filter;
        // Rows are read lazily from the id-ordered table, so a page costs
        // its own rows rather than a scan of the whole entity.
        let matching = |r: &&Value| matches(filter, r);
        if count {
            return ok(json!({ "queryCount": table.values().filter(matching).count() }));
        }
        let (start_id, paged_size) = match param("paging") {
            Some(p) => match parse_paging(&p) {
                Ok((s, size)) => (Some(s), size),
                Err(e) => return errors(500, e),
            },
            None => (None, None),
        };
        let size = body
            .max_records
            .or(paged_size)
            .unwrap_or(MAX_RECORDS)
            .clamp(1, MAX_RECORDS) as usize;
        if let Some(include) = &body.include {
            let more_than_a_page = table
                .values()
                .filter(matching)
                .nth(MAX_RECORDS as usize)
                .is_some();
            if more_than_a_page && !include.contains(&"id") {
                return errors(
                    500,
                    "IncludeFields must contain id when a query returns more than 500 records.",
                );
            }
        }
        let id = |r: &Value| r.get("id").and_then(id_of).unwrap_or(0);
        let from = start_id.unwrap_or(i64::MIN);
        // This page's rows and the first row of the next page.
        let mut page: Vec<&Value> = table
            .range(from..)
            .map(|(_, r)| r)
            .filter(matching)
            .take(size + 1)
            .collect();
        let following = (page.len() > size).then(|| page.pop()).flatten();
        // Up to two pages of rows before this one, nearest first.
        let before: Vec<&Value> = table
            .range(..from)
            .rev()
            .map(|(_, r)| r)
            .filter(matching)
            .take(2 * size)
            .collect();
        let items: Vec<Value> = page
            .iter()
            .map(|r| match &body.include {
                None => (*r).clone(),
                Some(fields) => {
                    let mut out = Map::new();
                    for f in fields {
                        out.insert((*f).to_string(), r.get(*f).cloned().unwrap_or(Value::Null));
                    }
                    if def.has_udfs {
                        out.insert("userDefinedFields".into(), json!([]));
                    }
                    Value::Object(out)
                }
            })
            .collect();
        let url = |first: i64, previous: Option<i64>| {
            let paging = json!({
                "pageSize": size,
                "previousIds": previous.into_iter().collect::<Vec<_>>(),
                "nextIds": [first],
            })
            .to_string();
            let mut u = format!(
                "{}/ATServicesRest/V1.0/{}/query?paging={}",
                self.base,
                def.name,
                encode(&paging)
            );
            if method == "GET" {
                if let Some(s) = &search {
                    u.push_str("&search=");
                    u.push_str(&encode(s));
                }
            }
            u
        };
        let this_first = page.first().map(|r| id(r));
        let next = following.map(|r| url(id(r), this_first));
        // The previous page starts `size` rows back (or at the first row);
        // its own previous page `size` rows further back.
        let prev = before.get(size.min(before.len()).wrapping_sub(1)).map(|p| {
            let previous = (before.len() > size).then(|| before.last().map(|r| id(r)));
            url(id(p), previous.flatten())
        });
        ok(json!({
            "items": items,
            "pageDetails": {
                "count": items.len(),
                "requestCount": size,
                "prevPageUrl": prev,
                "nextPageUrl": next,
            }
        }))
    }

    /// `GET {Parent}/{id}/{Child}`: the parent's children, one page.
    pub(super) fn children(&mut self, def: &EntityDef, parent: i64) -> Out {
        let Some(c) = def.child_of else {
            return (404, None);
        };
        let items: Vec<Value> = self
            .tables
            .get(def.name)
            .into_iter()
            .flat_map(|t| t.values())
            .filter(|r| r.get(c.parent_field).and_then(id_of) == Some(parent))
            .take(MAX_RECORDS as usize)
            .cloned()
            .collect();
        ok(json!({
            "items": items,
            "pageDetails": {
                "count": items.len(),
                "requestCount": MAX_RECORDS,
                "prevPageUrl": null,
                "nextPageUrl": null,
            }
        }))
    }
}
