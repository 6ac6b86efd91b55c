//! The SOQL subset the simulator understands, parsed as Salesforce does
//! (keywords and names case-insensitive; string literals single-quoted with
//! backslash escapes; date and datetime literals unquoted):
//!
//! ```text
//! SELECT field, Parent.field, (SELECT field FROM ChildRelationship [WHERE ..])
//!   | COUNT()
//! FROM Object
//! [WHERE cond [AND|OR cond]... ]   cond: field op literal | field [NOT] IN (..)
//!                                  | NOT cond | ( conditions )
//! [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], ...]
//! [LIMIT n] [OFFSET n]
//! ```
//!
//! This module only parses; names are checked against the schema in
//! `query.rs`. A syntax error is `MALFORMED_QUERY` with Salesforce's
//! message layout (the query, a caret, `ERROR at Row:1:Column:N`, then
//! what was wrong).

use chrono::{DateTime, NaiveDate, Utc};

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lit {
    Null,
    Bool(bool),
    /// A quoted string (escapes resolved).
    Str(String),
    Num(f64),
    Date(NaiveDate),
    DateTime(DateTime<Utc>),
    /// A date literal (`TODAY`, `LAST_N_DAYS:30`, ...): whole days from the
    /// first to the last, inclusive (UTC).
    Days(NaiveDate, NaiveDate),
}

/// The days a date literal stands for, relative to `today`.
fn date_literal(word: &str, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    use chrono::{Datelike, Duration};
    let day = Duration::days;
    let upper = word.to_ascii_uppercase();
    let (name, n) = match upper.split_once(':') {
        Some((name, n)) => (name.to_string(), Some(n.parse::<i64>().ok()?)),
        None => (upper.clone(), None),
    };
    let month_start = |y: i32, m: u32| NaiveDate::from_ymd_opt(y, m, 1);
    let month = |offset: i32| {
        let index = today.year() * 12 + today.month0() as i32 + offset;
        let first = month_start(index.div_euclid(12), index.rem_euclid(12) as u32 + 1)?;
        let next = index + 1;
        let last = month_start(next.div_euclid(12), next.rem_euclid(12) as u32 + 1)? - day(1);
        Some((first, last))
    };
    match (name.as_str(), n) {
        ("TODAY", None) => Some((today, today)),
        ("YESTERDAY", None) => Some((today - day(1), today - day(1))),
        ("TOMORROW", None) => Some((today + day(1), today + day(1))),
        ("LAST_90_DAYS", None) => Some((today - day(90), today)),
        ("NEXT_90_DAYS", None) => Some((today + day(1), today + day(90))),
        ("LAST_N_DAYS", Some(n)) if n >= 0 => Some((today - day(n), today)),
        ("NEXT_N_DAYS", Some(n)) if n >= 0 => Some((today + day(1), today + day(n))),
        ("THIS_MONTH", None) => month(0),
        ("LAST_MONTH", None) => month(-1),
        ("NEXT_MONTH", None) => month(1),
        ("THIS_YEAR", None) => Some((
            NaiveDate::from_ymd_opt(today.year(), 1, 1)?,
            NaiveDate::from_ymd_opt(today.year(), 12, 31)?,
        )),
        _ => None,
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
    Like,
    In,
    NotIn,
}

/// A name as written, with the column it starts at (1-based).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Name {
    pub(super) text: String,
    pub(super) col: usize,
}

/// A WHERE expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cond {
        field: Name,
        op: Op,
        /// One value, or the list of `IN`.
        values: Vec<(Lit, usize)>,
    },
}

/// A SELECT item.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Item {
    Field(Name),
    Sub(Box<Select>),
}

/// One ORDER BY key.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Order {
    pub(super) field: Name,
    pub(super) desc: bool,
    pub(super) nulls_last: bool,
}

/// A parsed query (or subquery).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Select {
    pub(super) items: Vec<Item>,
    pub(super) count: bool,
    /// `COUNT(field) [alias]`: an aggregate over one field.
    pub(super) count_field: Option<(Name, Option<String>)>,
    pub(super) from: Name,
    pub(super) filter: Option<Expr>,
    pub(super) order: Vec<Order>,
    pub(super) limit: Option<usize>,
    pub(super) offset: Option<usize>,
}

/// A refused query: the error code and Salesforce's message.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct SoqlError {
    pub(super) code: &'static str,
    pub(super) message: String,
}

/// Salesforce's layout of a query error at `col` (1-based).
pub(super) fn located(code: &'static str, soql: &str, col: usize, what: &str) -> SoqlError {
    let line = soql.replace(['\n', '\r'], " ");
    SoqlError {
        code,
        message: format!(
            "\n{line}\n{}^\nERROR at Row:1:Column:{col}\n{what}",
            " ".repeat(col.saturating_sub(1))
        ),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Lit(Lit),
    Sym(&'static str),
    End,
}

struct Lexer<'a> {
    soql: &'a str,
    chars: Vec<char>,
    pos: usize,
}

impl Lexer<'_> {
    fn malformed(&self, col: usize, what: &str) -> SoqlError {
        located("MALFORMED_QUERY", self.soql, col, what)
    }

    fn tokens(mut self) -> Result<Vec<(Tok, usize)>, SoqlError> {
        let mut out = Vec::new();
        loop {
            while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
                self.pos += 1;
            }
            let col = self.pos + 1;
            let Some(&c) = self.chars.get(self.pos) else {
                out.push((Tok::End, col));
                return Ok(out);
            };
            let tok = if c == '\'' {
                self.string(col)?
            } else if c.is_ascii_digit()
                || (c == '-'
                    && self
                        .chars
                        .get(self.pos + 1)
                        .is_some_and(char::is_ascii_digit))
            {
                self.number_or_date(col)?
            } else if c.is_ascii_alphabetic() || c == '_' {
                let start = self.pos;
                while self
                    .chars
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
                {
                    self.pos += 1;
                }
                // `LAST_N_DAYS:30` and its kin carry their number after a colon.
                if self.chars.get(self.pos) == Some(&':')
                    && self.chars[start..self.pos]
                        .iter()
                        .collect::<String>()
                        .ends_with("_N_DAYS")
                {
                    self.pos += 1;
                    while self.chars.get(self.pos).is_some_and(char::is_ascii_digit) {
                        self.pos += 1;
                    }
                }
                Tok::Word(self.chars[start..self.pos].iter().collect())
            } else {
                let two: String = self.chars[self.pos..(self.pos + 2).min(self.chars.len())]
                    .iter()
                    .collect();
                let sym = match two.as_str() {
                    "!=" => Some("!="),
                    "<>" => Some("!="),
                    "<=" => Some("<="),
                    ">=" => Some(">="),
                    _ => None,
                };
                if let Some(sym) = sym {
                    self.pos += 2;
                    Tok::Sym(sym)
                } else {
                    self.pos += 1;
                    Tok::Sym(match c {
                        ',' => ",",
                        '(' => "(",
                        ')' => ")",
                        '=' => "=",
                        '<' => "<",
                        '>' => ">",
                        _ => {
                            return Err(self.malformed(col, &format!("unexpected token: '{c}'")));
                        }
                    })
                }
            };
            out.push((tok, col));
        }
    }

    fn string(&mut self, col: usize) -> Result<Tok, SoqlError> {
        self.pos += 1;
        let mut s = String::new();
        loop {
            match self.chars.get(self.pos) {
                None => {
                    return Err(
                        self.malformed(col, "line 1:0 mismatched character '<EOF>' expecting '''")
                    )
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(Tok::Lit(Lit::Str(s)));
                }
                Some('\\') => {
                    let escaped = match self.chars.get(self.pos + 1) {
                        Some('\'') => "'",
                        Some('"') => "\"",
                        Some('\\') => "\\",
                        Some('n') => "\n",
                        Some('r') => "\r",
                        Some('t') => "\t",
                        Some('b') => "\u{8}",
                        Some('f') => "\u{c}",
                        // Kept escaped: LIKE reads them as literal % and _.
                        Some('%') => "\\%",
                        Some('_') => "\\_",
                        _ => {
                            return Err(self.malformed(
                                self.pos + 1,
                                "Invalid string literal: Illegal escape sequence",
                            ))
                        }
                    };
                    s.push_str(escaped);
                    self.pos += 2;
                }
                Some(&c) => {
                    s.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn number_or_date(&mut self, col: usize) -> Result<Tok, SoqlError> {
        let start = self.pos;
        self.pos += 1;
        while self
            .chars
            .get(self.pos)
            .is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '+' | '-'))
        {
            self.pos += 1;
        }
        let text: String = self.chars[start..self.pos].iter().collect();
        if let Ok(n) = text.parse::<f64>() {
            if text
                .bytes()
                .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
            {
                return Ok(Tok::Lit(Lit::Num(n)));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(&text, "%Y-%m-%d") {
            if text.len() == 10 {
                return Ok(Tok::Lit(Lit::Date(d)));
            }
        }
        if text.len() >= 20 && text.as_bytes().get(10) == Some(&b'T') {
            if let Ok(dt) = DateTime::parse_from_rfc3339(&text) {
                return Ok(Tok::Lit(Lit::DateTime(dt.with_timezone(&Utc))));
            }
            if let Ok(dt) = DateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S%.f%z") {
                return Ok(Tok::Lit(Lit::DateTime(dt.with_timezone(&Utc))));
            }
        }
        Err(self.malformed(col, &format!("unexpected token: {text}")))
    }
}

struct Parser<'a> {
    soql: &'a str,
    toks: Vec<(Tok, usize)>,
    at: usize,
    /// How deeply conditions nest (parentheses and NOT), bounded so a
    /// hostile query cannot exhaust the stack.
    depth: usize,
}

/// The deepest nesting of conditions the parser follows.
const MAX_DEPTH: usize = 64;

fn is_keyword(word: &str, kw: &str) -> bool {
    word.eq_ignore_ascii_case(kw)
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "ORDER", "BY", "LIMIT", "OFFSET", "IN", "LIKE",
    "ASC", "DESC", "NULLS", "NULL", "TRUE", "FALSE", "GROUP", "HAVING",
];

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.at].0
    }

    fn col(&self) -> usize {
        self.toks[self.at].1
    }

    fn bump(&mut self) -> (Tok, usize) {
        let t = self.toks[self.at].clone();
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self) -> SoqlError {
        let what = match self.peek() {
            Tok::End => "<EOF>".to_string(),
            Tok::Word(w) => w.clone(),
            Tok::Sym(s) => (*s).to_string(),
            Tok::Lit(Lit::Str(s)) => format!("'{s}'"),
            Tok::Lit(l) => format!("{l:?}"),
        };
        located(
            "MALFORMED_QUERY",
            self.soql,
            self.col(),
            &format!("unexpected token: {what}"),
        )
    }

    fn at_keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Tok::Word(w) if is_keyword(w, kw))
    }

    fn keyword(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.at_keyword(kw) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn sym(&mut self, s: &str) -> Result<(), SoqlError> {
        if matches!(self.peek(), Tok::Sym(x) if *x == s) {
            self.bump();
            Ok(())
        } else {
            Err(self.unexpected())
        }
    }

    fn at_sym(&self, s: &str) -> bool {
        matches!(self.peek(), Tok::Sym(x) if *x == s)
    }

    fn name(&mut self) -> Result<Name, SoqlError> {
        match self.peek().clone() {
            Tok::Word(w)
                if !RESERVED.iter().any(|r| is_keyword(&w, r))
                    && !w.starts_with('.')
                    && !w.ends_with('.')
                    && !w.contains("..") =>
            {
                let col = self.col();
                self.bump();
                Ok(Name { text: w, col })
            }
            _ => Err(self.unexpected()),
        }
    }

    fn count(&mut self) -> Result<usize, SoqlError> {
        match self.peek().clone() {
            Tok::Lit(Lit::Num(n)) if n >= 0.0 && n.fract() == 0.0 => {
                self.bump();
                Ok(n as usize)
            }
            _ => Err(self.unexpected()),
        }
    }

    fn select(&mut self, sub: bool) -> Result<Select, SoqlError> {
        self.keyword("SELECT")?;
        let mut items = Vec::new();
        let mut count = false;
        let mut count_field = None;
        if matches!(self.peek(), Tok::Word(w) if is_keyword(w, "COUNT"))
            && matches!(self.toks.get(self.at + 1), Some((Tok::Sym("("), _)))
        {
            self.bump();
            self.sym("(")?;
            if !self.at_sym(")") {
                let field = self.name()?;
                self.sym(")")?;
                let alias = match self.peek().clone() {
                    Tok::Word(w) if !RESERVED.iter().any(|r| is_keyword(&w, r)) => {
                        self.bump();
                        Some(w)
                    }
                    _ => None,
                };
                count_field = Some((field, alias));
            } else {
                self.sym(")")?;
            }
            count = true;
        } else {
            loop {
                if self.at_sym("(") && !sub {
                    self.bump();
                    let inner = self.select(true)?;
                    self.sym(")")?;
                    items.push(Item::Sub(Box::new(inner)));
                } else {
                    items.push(Item::Field(self.name()?));
                }
                if self.at_sym(",") {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        self.keyword("FROM")?;
        let from = self.name()?;
        let filter = if self.at_keyword("WHERE") {
            self.bump();
            Some(self.expr()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.at_keyword("ORDER") {
            self.bump();
            self.keyword("BY")?;
            loop {
                let field = self.name()?;
                let mut desc = false;
                if self.at_keyword("ASC") {
                    self.bump();
                } else if self.at_keyword("DESC") {
                    self.bump();
                    desc = true;
                }
                // Salesforce: nulls first unless NULLS LAST is given.
                let mut nulls_last = false;
                if self.at_keyword("NULLS") {
                    self.bump();
                    if self.at_keyword("LAST") {
                        nulls_last = true;
                    } else if !self.at_keyword("FIRST") {
                        return Err(self.unexpected());
                    }
                    self.bump();
                }
                order.push(Order {
                    field,
                    desc,
                    nulls_last,
                });
                if self.at_sym(",") {
                    self.bump();
                } else {
                    break;
                }
            }
        }
        let limit = if self.at_keyword("LIMIT") {
            self.bump();
            Some(self.count()?)
        } else {
            None
        };
        let offset = if self.at_keyword("OFFSET") {
            self.bump();
            Some(self.count()?)
        } else {
            None
        };
        Ok(Select {
            items,
            count,
            count_field,
            from,
            filter,
            order,
            limit,
            offset,
        })
    }

    /// Conditions joined by AND or OR; mixing them without parentheses is
    /// refused, as Salesforce does.
    fn expr(&mut self) -> Result<Expr, SoqlError> {
        let first = self.term()?;
        let mut parts = vec![first];
        let mut joiner: Option<&str> = None;
        loop {
            let kw = if self.at_keyword("AND") {
                "AND"
            } else if self.at_keyword("OR") {
                "OR"
            } else {
                break;
            };
            if joiner.is_some_and(|j| j != kw) {
                return Err(self.unexpected());
            }
            joiner = Some(kw);
            self.bump();
            parts.push(self.term()?);
        }
        Ok(match joiner {
            None => parts.pop().expect("one part"),
            Some("AND") => Expr::And(parts),
            Some(_) => Expr::Or(parts),
        })
    }

    fn term(&mut self) -> Result<Expr, SoqlError> {
        if self.depth >= MAX_DEPTH {
            return Err(located(
                "MALFORMED_QUERY",
                self.soql,
                self.col(),
                "The query is nested too deeply",
            ));
        }
        self.depth += 1;
        let term = self.term_inner();
        self.depth -= 1;
        term
    }

    fn term_inner(&mut self) -> Result<Expr, SoqlError> {
        if self.at_sym("(") {
            self.bump();
            let e = self.expr()?;
            self.sym(")")?;
            return Ok(e);
        }
        if self.at_keyword("NOT") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.term()?)));
        }
        let field = self.name()?;
        let op = match self.peek().clone() {
            Tok::Sym("=") => Op::Eq,
            Tok::Sym("!=") => Op::Ne,
            Tok::Sym("<") => Op::Lt,
            Tok::Sym(">") => Op::Gt,
            Tok::Sym("<=") => Op::Le,
            Tok::Sym(">=") => Op::Ge,
            Tok::Word(w) if is_keyword(&w, "LIKE") => Op::Like,
            Tok::Word(w) if is_keyword(&w, "IN") => Op::In,
            Tok::Word(w) if is_keyword(&w, "NOT") => {
                self.bump();
                if !self.at_keyword("IN") {
                    return Err(self.unexpected());
                }
                Op::NotIn
            }
            _ => return Err(self.unexpected()),
        };
        self.bump();
        let values = if matches!(op, Op::In | Op::NotIn) {
            self.sym("(")?;
            let mut values = vec![self.literal()?];
            while self.at_sym(",") {
                self.bump();
                values.push(self.literal()?);
            }
            self.sym(")")?;
            values
        } else {
            vec![self.literal()?]
        };
        Ok(Expr::Cond { field, op, values })
    }

    fn literal(&mut self) -> Result<(Lit, usize), SoqlError> {
        let col = self.col();
        let lit = match self.peek().clone() {
            Tok::Lit(l) => l,
            Tok::Word(w) if is_keyword(&w, "null") => Lit::Null,
            Tok::Word(w) if is_keyword(&w, "true") => Lit::Bool(true),
            Tok::Word(w) if is_keyword(&w, "false") => Lit::Bool(false),
            Tok::Word(w) if date_literal(&w, Utc::now().date_naive()).is_some() => {
                let (first, last) =
                    date_literal(&w, Utc::now().date_naive()).expect("checked above");
                Lit::Days(first, last)
            }
            _ => return Err(self.unexpected()),
        };
        self.bump();
        Ok((lit, col))
    }
}

/// Parses `soql`.
pub(super) fn parse(soql: &str) -> Result<Select, SoqlError> {
    let toks = Lexer {
        soql,
        chars: soql.chars().collect(),
        pos: 0,
    }
    .tokens()?;
    let mut p = Parser {
        soql,
        toks,
        at: 0,
        depth: 0,
    };
    let select = p.select(false)?;
    if *p.peek() != Tok::End {
        return Err(p.unexpected());
    }
    Ok(select)
}

/// Whether `value` matches a LIKE `pattern` (`%` any run, `_` one
/// character, `\%` and `\_` literal; case-insensitive).
pub(super) fn like(value: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy)]
    enum P {
        Any,
        One,
        Char(char),
    }
    let mut pat = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        pat.push(match c {
            '%' => P::Any,
            '_' => P::One,
            '\\' => P::Char(chars.next().unwrap_or('\\')),
            c => P::Char(c),
        });
    }
    let v: Vec<char> = value.to_lowercase().chars().collect();
    // Dynamic programming over (pattern prefix, value prefix).
    let mut row = vec![false; v.len() + 1];
    row[0] = true;
    for p in pat {
        let mut next = vec![false; v.len() + 1];
        for j in 0..=v.len() {
            next[j] = match p {
                P::Any => row[j] || (j > 0 && next[j - 1]),
                P::One => j > 0 && row[j - 1],
                P::Char(c) => j > 0 && row[j - 1] && c.to_lowercase().eq(std::iter::once(v[j - 1])),
            };
        }
        row = next;
    }
    row[v.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_sync_query_shape() {
        let q = parse(
            "SELECT Id, Name, Account.Name FROM Opportunity WHERE SystemModstamp > 2025-06-01T00:00:00Z AND Name LIKE 'O\\'Brien%' ORDER BY SystemModstamp ASC, Id LIMIT 10",
        )
        .unwrap();
        assert_eq!(q.items.len(), 3);
        assert_eq!(q.from.text, "Opportunity");
        assert_eq!(q.limit, Some(10));
        assert_eq!(q.order.len(), 2);
        let Some(Expr::And(parts)) = q.filter else {
            panic!("an AND")
        };
        assert_eq!(
            parts[1],
            Expr::Cond {
                field: Name {
                    text: "Name".into(),
                    col: 96
                },
                op: Op::Like,
                values: vec![(Lit::Str("O'Brien%".into()), 106)]
            }
        );
    }

    #[test]
    fn refuses_mixed_and_or_and_bad_escapes() {
        let e = parse("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'")
            .unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(e.message.contains("unexpected token: OR"), "{}", e.message);
        let e = parse("SELECT Id FROM Account WHERE Name = 'a\\q'").unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
        let e = parse("SELECT Id FROM Account WHERE Name = 'open").unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
        assert!(
            parse("SELECT Id FROM Account WHERE (Name = 'a' AND Name = 'b') OR Name = 'c'").is_ok()
        );
    }

    #[test]
    fn date_literals_are_day_ranges() {
        let today = NaiveDate::from_ymd_opt(2025, 3, 15).unwrap();
        let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
        assert_eq!(date_literal("today", today), Some((today, today)));
        assert_eq!(
            date_literal("LAST_N_DAYS:30", today),
            Some((d(2, 13), today))
        );
        assert_eq!(
            date_literal("NEXT_N_DAYS:2", today),
            Some((d(3, 16), d(3, 17)))
        );
        assert_eq!(date_literal("LAST_MONTH", today), Some((d(2, 1), d(2, 28))));
        assert_eq!(date_literal("LAST_N_DAYS:x", today), None);
        assert_eq!(date_literal("SOMEDAY", today), None);
        let q = parse("SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:7").unwrap();
        let Some(Expr::Cond { values, .. }) = q.filter else {
            panic!("a condition")
        };
        assert!(matches!(values[0].0, Lit::Days(_, _)));
    }

    #[test]
    fn deep_nesting_is_refused_not_overflowed() {
        let deep = format!(
            "SELECT Id FROM Account WHERE {}Name = 'a'{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert_eq!(parse(&deep).unwrap_err().code, "MALFORMED_QUERY");
        let nots = format!(
            "SELECT Id FROM Account WHERE {}Name = 'a'",
            "NOT ".repeat(10_000)
        );
        assert_eq!(parse(&nots).unwrap_err().code, "MALFORMED_QUERY");
        let fine = format!(
            "SELECT Id FROM Account WHERE {}Name = 'a'{}",
            "(".repeat(20),
            ")".repeat(20)
        );
        assert!(parse(&fine).is_ok());
    }

    #[test]
    fn like_patterns() {
        assert!(like("O'Brien Ltd", "o'brien%"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(like("50% off", "50\\%%"));
        assert!(!like("500 off", "50\\%%"));
    }
}
