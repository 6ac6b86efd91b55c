//! Collections and queries.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Coll {
    Companies,
    Contacts,
    Opportunities,
    Configurations,
    Catalog,
    CompanyTypes,
    CompanyStatuses,
    Locations,
    Markets,
    OppStatuses,
    OppTypes,
    Probabilities,
    Stages,
    ProjectStatuses,
    Priorities,
    Boards,
    Projects,
    Tickets,
    Callbacks,
}

pub(super) const ROUTES: &[(&str, Coll, &str)] = &[
    ("company/companies", Coll::Companies, "Company"),
    ("company/companies/types", Coll::CompanyTypes, "CompanyType"),
    (
        "company/companies/statuses",
        Coll::CompanyStatuses,
        "CompanyStatus",
    ),
    ("company/contacts", Coll::Contacts, "Contact"),
    (
        "company/configurations",
        Coll::Configurations,
        "Configuration",
    ),
    (
        "company/marketdescriptions",
        Coll::Markets,
        "MarketDescription",
    ),
    ("system/locations", Coll::Locations, "Location"),
    ("system/callbacks", Coll::Callbacks, "CallbackEntry"),
    ("sales/opportunities", Coll::Opportunities, "Opportunity"),
    (
        "sales/opportunities/statuses",
        Coll::OppStatuses,
        "OpportunityStatus",
    ),
    (
        "sales/opportunities/types",
        Coll::OppTypes,
        "OpportunityType",
    ),
    ("sales/probabilities", Coll::Probabilities, "Probability"),
    ("sales/stages", Coll::Stages, "Stage"),
    ("procurement/catalog", Coll::Catalog, "CatalogItem"),
    ("project/projects", Coll::Projects, "Project"),
    ("project/tickets", Coll::Tickets, "Ticket"),
    ("project/statuses", Coll::ProjectStatuses, "ProjectStatus"),
    ("service/priorities", Coll::Priorities, "Priority"),
    ("service/boards", Coll::Boards, "Board"),
];

/// The longest route that prefixes `segs`: (collection, label, segments
/// used).
pub(super) fn match_route(segs: &[String]) -> Option<(Coll, &'static str, usize)> {
    let mut best: Option<(Coll, &'static str, usize)> = None;
    for (path, coll, label) in ROUTES {
        let parts: Vec<&str> = path.split('/').collect();
        if segs.len() >= parts.len()
            && parts.iter().zip(segs).all(|(a, b)| *a == b.as_str())
            && best.is_none_or(|b| b.2 < parts.len())
        {
            best = Some((*coll, label, parts.len()));
        }
    }
    best
}

#[derive(Debug, Clone, Default)]
pub(super) struct ListQuery {
    pub(super) page: u64,
    pub(super) page_size: u64,
    pub(super) conditions: String,
    pub(super) child: String,
    pub(super) order_by: String,
    pub(super) fields: String,
    pub(super) page_id: Option<u64>,
    pub(super) forward_only: bool,
    /// Every parameter but page, pageSize and pageId, in order, as sent.
    pub(super) others: Vec<(String, String)>,
}

pub(super) fn parse_query(req: &Request) -> Result<ListQuery, Reply> {
    let mut q = ListQuery {
        page: 1,
        page_size: DEFAULT_PAGE_SIZE,
        ..ListQuery::default()
    };
    for (k, v) in req.url.query_pairs() {
        let lk = k.to_ascii_lowercase();
        match lk.as_str() {
            "page" => {
                q.page = v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| {
                        bad_request(format!("page must be a positive integer, got '{v}'"))
                    })?;
            }
            "pagesize" => {
                let n = v
                    .trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|p| *p >= 1)
                    .ok_or_else(|| {
                        bad_request(format!("pageSize must be a positive integer, got '{v}'"))
                    })?;
                q.page_size = n.min(MAX_PAGE_SIZE);
            }
            "pageid" => {
                q.page_id = Some(v.trim().parse::<u64>().map_err(|_| {
                    bad_request(format!("pageId must be a non-negative integer, got '{v}'"))
                })?);
            }
            other => {
                match other {
                    "conditions" => q.conditions = v.to_string(),
                    "childconditions" => q.child = v.to_string(),
                    "orderby" => q.order_by = v.to_string(),
                    "fields" => q.fields = v.to_string(),
                    "customfieldconditions" if !v.trim().is_empty() => {
                        return Err(bad_request(
                            "customFieldConditions is not supported by the simulator",
                        ))
                    }
                    _ => {}
                }
                q.others.push((k.into_owned(), v.into_owned()));
            }
        }
    }
    q.forward_only = req
        .headers
        .get("pagination-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("forward-only"));
    if q.forward_only && !q.order_by.trim().is_empty() {
        return Err(bad_request(
            "orderBy cannot be used with forward-only pagination",
        ));
    }
    Ok(q)
}

/// Filtered and ordered row positions.
pub(super) enum Sel {
    All(usize),
    Idx(Arc<Vec<u32>>),
}

impl Sel {
    pub(super) fn len(&self) -> usize {
        match self {
            Sel::All(n) => *n,
            Sel::Idx(v) => v.len(),
        }
    }
    pub(super) fn get(&self, pos: usize) -> usize {
        match self {
            Sel::All(_) => pos,
            Sel::Idx(v) => v[pos] as usize,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct CacheKey {
    pub(super) coll: Coll,
    pub(super) conditions: String,
    pub(super) child: String,
    pub(super) order: String,
    pub(super) generation: u64,
}

#[derive(Default)]
pub(super) struct Cache {
    pub(super) entries: Vec<(CacheKey, Arc<Vec<u32>>)>,
}

impl Cache {
    pub(super) fn get(&mut self, key: &CacheKey) -> Option<Arc<Vec<u32>>> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        let e = self.entries.remove(pos);
        let v = e.1.clone();
        self.entries.insert(0, e);
        Some(v)
    }
    pub(super) fn put(&mut self, key: CacheKey, v: Arc<Vec<u32>>) {
        self.entries.insert(0, (key, v));
        self.entries.truncate(8);
    }
}

pub(super) fn fv_cmp(a: &Fv<'_>, b: &Fv<'_>) -> Ordering {
    fn rank(v: &Fv<'_>) -> u8 {
        match v {
            Fv::Null => 0,
            Fv::Bool(_) => 1,
            Fv::Int(_) | Fv::Num(_) => 2,
            Fv::Time(_) => 3,
            Fv::Str(_) => 4,
            Fv::Many(_) => 5,
        }
    }
    match (a, b) {
        (Fv::Int(x), Fv::Int(y)) => x.cmp(y),
        (Fv::Int(x), Fv::Num(y)) => (*x as f64).total_cmp(y),
        (Fv::Num(x), Fv::Int(y)) => x.total_cmp(&(*y as f64)),
        (Fv::Num(x), Fv::Num(y)) => x.total_cmp(y),
        (Fv::Time(x), Fv::Time(y)) => x.cmp(y),
        (Fv::Bool(x), Fv::Bool(y)) => x.cmp(y),
        (Fv::Str(x), Fv::Str(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        (Fv::Many(x), Fv::Many(y)) => match (x.first(), y.first()) {
            (Some(x), Some(y)) => fv_cmp(x, y),
            (x, y) => x.is_some().cmp(&y.is_some()),
        },
        _ => rank(a).cmp(&rank(b)),
    }
}

pub(super) type Schemas = Option<(Schema, Schema)>;

pub(super) fn parse_order(
    order_by: &str,
    schema: Schemas,
    shape: &dyn Fn() -> Value,
) -> Result<Vec<(Field, bool)>, String> {
    let mut keys = Vec::new();
    for part in order_by.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut words = part.split_whitespace();
        let name = words.next().unwrap_or_default().to_ascii_lowercase();
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(format!(
                    "orderBy direction must be asc or desc, got '{other}'"
                ))
            }
        };
        if words.next().is_some() {
            return Err(format!("malformed orderBy '{part}'"));
        }
        let canon = match schema {
            Some((fields, _)) => match fields.iter().find(|f| f.0 == name) {
                Some(f) => f.1,
                None => match shape_lookup(&shape(), &name) {
                    Some(hit) if !hit.in_array => "",
                    _ => return Err(format!("unknown orderBy field '{name}'")),
                },
            },
            None => "",
        };
        keys.push((Field { path: name, canon }, desc));
    }
    Ok(keys)
}

/// Applies conditions, childConditions and orderBy to `rows`.
pub(super) fn select<R: Row>(
    rows: &[R],
    d: &Data,
    schema: Schemas,
    q: &ListQuery,
    cache: Option<(&mut Cache, Coll, u64)>,
) -> Result<Sel, Reply> {
    let plain = q.conditions.trim().is_empty()
        && q.child.trim().is_empty()
        && (q.order_by.trim().is_empty()
            || q.order_by.trim().eq_ignore_ascii_case("id")
            || q.order_by
                .split_whitespace()
                .map(str::to_ascii_lowercase)
                .eq(["id", "asc"]));
    if plain {
        return Ok(Sel::All(rows.len()));
    }
    let key = cache.as_ref().map(|(_, coll, generation)| CacheKey {
        coll: *coll,
        conditions: q.conditions.clone(),
        child: q.child.clone(),
        order: q.order_by.clone(),
        generation: *generation,
    });
    let mut cache = cache.map(|(c, _, _)| c);
    if let (Some(c), Some(k)) = (cache.as_deref_mut(), key.as_ref()) {
        if let Some(hit) = c.get(k) {
            return Ok(Sel::Idx(hit));
        }
    }
    // The records' fields, learned only when a query names one outside the
    // schema.
    let learned = std::cell::OnceCell::new();
    let shape = || learned.get_or_init(|| rows_shape(rows, d)).clone();
    let compile = |text: &str, child: bool| -> Result<Option<Cond>, Reply> {
        let what = if child {
            "childConditions"
        } else {
            "conditions"
        };
        let mut c = parse_conditions(text)
            .map_err(|e| bad_request(format!("Invalid {what} '{text}': {e}")))?;
        if let Some(c) = c.as_mut() {
            resolve(c, schema, child, &shape)
                .map_err(|e| bad_request(format!("Invalid {what} '{text}': {e}")))?;
        }
        Ok(c)
    };
    let cond = compile(&q.conditions, false)?;
    let child = compile(&q.child, true)?;
    let order = parse_order(&q.order_by, schema, &shape).map_err(bad_request)?;
    let mut idx: Vec<u32> = (0..rows.len() as u32)
        .filter(|&i| {
            let r = &rows[i as usize];
            cond.as_ref().is_none_or(|c| eval(c, r, d))
                && child.as_ref().is_none_or(|c| eval(c, r, d))
        })
        .collect();
    if !order.is_empty() {
        idx.sort_by(|&a, &b| {
            let (ra, rb) = (&rows[a as usize], &rows[b as usize]);
            for (f, desc) in &order {
                let o = fv_cmp(&ra.field(f, d), &rb.field(f, d));
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            ra.row_id().cmp(&rb.row_id())
        });
    }
    let idx = Arc::new(idx);
    if let (Some(c), Some(k)) = (cache, key) {
        c.put(k, idx.clone());
    }
    Ok(Sel::Idx(idx))
}

/// Keeps only the `fields` paths (`a/b`) of each object.
pub(super) fn project_fields(v: &Value, fields: &[Vec<String>]) -> Value {
    fn copy(src: &Value, path: &[String], dst: &mut Map<String, Value>) {
        let Value::Object(m) = src else { return };
        let Some((k, v)) = m.iter().find(|(k, _)| k.eq_ignore_ascii_case(&path[0])) else {
            return;
        };
        if path.len() == 1 {
            dst.insert(k.clone(), v.clone());
        } else if let Value::Object(_) = v {
            let entry = dst
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(inner) = entry {
                copy(v, &path[1..], inner);
            }
        }
    }
    let mut out = Map::new();
    for f in fields {
        copy(v, f, &mut out);
    }
    Value::Object(out)
}

pub(super) fn link_url(link_base: &str, q: &ListQuery, extra: &[(&str, String)]) -> String {
    let mut ser = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &q.others {
        ser.append_pair(k, v);
    }
    for (k, v) in extra {
        ser.append_pair(k, v);
    }
    format!("<{link_base}?{}>", ser.finish())
}

/// A page (or a count) of `rows`.
pub(super) fn list_rows<R: Row>(
    rows: &[R],
    d: &Data,
    schema: Schemas,
    q: &ListQuery,
    cache: Option<(&mut Cache, Coll, u64)>,
    link_base: &str,
    count_only: bool,
) -> Reply {
    let sel = match select(rows, d, schema, q, cache) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if count_only {
        return Reply::json(200, &json!({"count": sel.len()}));
    }
    let total = sel.len();
    let ps = q.page_size as usize;
    let (range, link) = if q.forward_only {
        let after = q.page_id.unwrap_or(0);
        // Positions are in id order (orderBy is refused in this mode).
        let start = match &sel {
            Sel::All(n) => rows[..*n].partition_point(|r| r.row_id() <= after),
            Sel::Idx(v) => v.partition_point(|&i| rows[i as usize].row_id() <= after),
        };
        let end = start.saturating_add(ps).min(total);
        let link = (end > start).then(|| {
            let last = rows[sel.get(end - 1)].row_id();
            format!(
                "{}; rel=\"next\"",
                link_url(
                    link_base,
                    q,
                    &[
                        ("pageSize", q.page_size.to_string()),
                        ("pageId", last.to_string())
                    ]
                )
            )
        });
        (start..end, link)
    } else {
        let last_page = total.div_ceil(ps).max(1) as u64;
        let start = ((q.page - 1) as usize).saturating_mul(ps).min(total);
        let end = start.saturating_add(ps).min(total);
        let page_link = |n: u64, rel: &str| {
            format!(
                "{}; rel=\"{rel}\"",
                link_url(
                    link_base,
                    q,
                    &[
                        ("pageSize", q.page_size.to_string()),
                        ("page", n.to_string())
                    ]
                )
            )
        };
        let mut links = Vec::new();
        if q.page > 1 {
            links.push(page_link(1, "first"));
            links.push(page_link((q.page - 1).min(last_page), "prev"));
        }
        if q.page < last_page {
            links.push(page_link(q.page + 1, "next"));
        }
        links.push(page_link(last_page, "last"));
        (start..end, Some(links.join(", ")))
    };
    let mut out = String::with_capacity(range.len() * 3_600 + 2);
    out.push('[');
    for (n, pos) in range.enumerate() {
        if n > 0 {
            out.push(',');
        }
        rows[sel.get(pos)].render(d, &mut out);
    }
    out.push(']');
    if !q.fields.trim().is_empty() {
        let fields: Vec<Vec<String>> = q
            .fields
            .split(',')
            .map(|f| f.trim().split('/').map(str::to_string).collect::<Vec<_>>())
            .filter(|f: &Vec<String>| f.iter().all(|p| !p.is_empty()))
            .collect();
        let page: Value = serde_json::from_str(&out).unwrap_or(Value::Array(Vec::new()));
        let projected: Vec<Value> = page
            .as_array()
            .map(|a| a.iter().map(|v| project_fields(v, &fields)).collect())
            .unwrap_or_default();
        out = Value::Array(projected).to_string();
    }
    let mut reply = Reply::raw(200, out);
    if let Some(link) = link {
        reply = reply.header("Link", link);
    }
    reply
}

pub(super) fn single_row<R: Row>(rows: &[R], d: &Data, id: u64, label: &str) -> Reply {
    match rows.binary_search_by_key(&id, |r| r.row_id()) {
        Ok(i) => {
            let mut out = String::with_capacity(4096);
            rows[i].render(d, &mut out);
            Reply::raw(200, out)
        }
        Err(_) => not_found(label, id),
    }
}

pub(super) fn value_row(rows: &[Value], id: u64, label: &str) -> Reply {
    match rows.iter().find(|r| r.row_id() == id) {
        Some(v) => Reply::json(200, v),
        None => not_found(label, id),
    }
}
