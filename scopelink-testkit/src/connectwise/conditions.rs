//! `conditions` / `childConditions`: a small tolerant parser.

use super::*;

/// A field type, for checking condition values against typed records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Int,
    Num,
    Str,
    Time,
    Bool,
}

/// A literal in a condition.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Lit {
    Int(i64),
    Num(f64),
    Str(String),
    /// Milliseconds since the epoch.
    Time(i64),
    Bool(bool),
    Null,
    List(Vec<Lit>),
}

impl Lit {
    pub(super) fn describe(&self) -> &'static str {
        match self {
            Lit::Int(_) => "an integer",
            Lit::Num(_) => "a number",
            Lit::Str(_) => "a string",
            Lit::Time(_) => "a [datetime]",
            Lit::Bool(_) => "a boolean",
            Lit::Null => "null",
            Lit::List(_) => "a list",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Contains,
    Like,
    In,
}

/// A field as written (lower-cased) and, for typed records, its canonical
/// name.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Field {
    pub(super) path: String,
    pub(super) canon: &'static str,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        field: Field,
        op: Op,
        negated: bool,
        value: Lit,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Word(String),
    Str(String),
    Int(i64),
    Num(f64),
    Time(i64),
    Sym(&'static str),
}

pub(super) fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | ')' | ',' => {
                toks.push(Tok::Sym(match c {
                    '(' => "(",
                    ')' => ")",
                    _ => ",",
                }));
                i += 1;
            }
            '=' => {
                toks.push(Tok::Sym("="));
                i += 1;
            }
            '!' if chars.get(i + 1) == Some(&'=') => {
                toks.push(Tok::Sym("!="));
                i += 2;
            }
            '<' | '>' => {
                let next = chars.get(i + 1).copied();
                let sym = match (c, next) {
                    ('<', Some('=')) => "<=",
                    ('<', Some('>')) => "!=",
                    ('>', Some('=')) => ">=",
                    ('<', _) => "<",
                    _ => ">",
                };
                i += if sym.len() == 2 { 2 } else { 1 };
                toks.push(Tok::Sym(sym));
            }
            '"' | '\'' => {
                let quote = c;
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err(format!("unterminated string starting with {quote}")),
                        Some('\\') if matches!(chars.get(i + 1), Some(&q) if q == quote || q == '\\') =>
                        {
                            v.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(&ch) if ch == quote => {
                            i += 1;
                            break;
                        }
                        Some(&ch) => {
                            v.push(ch);
                            i += 1;
                        }
                    }
                }
                toks.push(Tok::Str(v));
            }
            '[' => {
                let end = chars[i..]
                    .iter()
                    .position(|&ch| ch == ']')
                    .ok_or("unterminated [datetime]")?;
                let text: String = chars[i + 1..i + end].iter().collect();
                let t = parse_ts_millis(&text)
                    .ok_or_else(|| format!("[{text}] is not a valid datetime"))?;
                toks.push(Tok::Time(t));
                i += end + 1;
            }
            c if c.is_ascii_digit()
                || (c == '-' && chars.get(i + 1).is_some_and(|n| n.is_ascii_digit())) =>
            {
                let start = i;
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                if let Ok(n) = text.parse::<i64>() {
                    toks.push(Tok::Int(n));
                } else if let Ok(f) = text.parse::<f64>() {
                    toks.push(Tok::Num(f));
                } else {
                    return Err(format!("{text} is not a number"));
                }
            }
            c if c.is_alphanumeric() || c == '_' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '/' | '.'))
                {
                    i += 1;
                }
                toks.push(Tok::Word(chars[start..i].iter().collect()));
            }
            other => return Err(format!("unexpected character '{other}'")),
        }
    }
    Ok(toks)
}

pub(super) struct Parser {
    pub(super) toks: Vec<Tok>,
    pub(super) pos: usize,
    pub(super) depth: usize,
}

pub(super) fn is_word(t: Option<&Tok>, w: &str) -> bool {
    matches!(t, Some(Tok::Word(x)) if x.eq_ignore_ascii_case(w))
}

impl Parser {
    pub(super) fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    pub(super) fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    pub(super) fn or(&mut self) -> Result<Cond, String> {
        self.depth += 1;
        if self.depth > 64 {
            return Err("conditions nest too deeply".into());
        }
        let mut parts = vec![self.and()?];
        while is_word(self.peek(), "or") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        self.depth -= 1;
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::Or(parts)
        })
    }

    pub(super) fn and(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.unary()?];
        while is_word(self.peek(), "and") {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Cond::And(parts)
        })
    }

    pub(super) fn unary(&mut self) -> Result<Cond, String> {
        if is_word(self.peek(), "not") {
            self.pos += 1;
            self.depth += 1;
            if self.depth > 64 {
                return Err("conditions nest too deeply".into());
            }
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Cond::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Tok::Sym("(")) {
            self.pos += 1;
            let inner = self.or()?;
            if self.next() != Some(Tok::Sym(")")) {
                return Err("missing ')'".into());
            }
            return Ok(inner);
        }
        self.comparison()
    }

    pub(super) fn comparison(&mut self) -> Result<Cond, String> {
        let field = match self.next() {
            Some(Tok::Word(w))
                if !["and", "or", "not", "in", "like", "contains"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                w
            }
            Some(t) => return Err(format!("expected a field name, found {t:?}")),
            None => return Err("expected a field name, found the end".into()),
        };
        let mut negated = false;
        if is_word(self.peek(), "not") {
            negated = true;
            self.pos += 1;
        }
        let op = match self.next() {
            Some(Tok::Sym("=")) => Op::Eq,
            Some(Tok::Sym("!=")) => Op::Ne,
            Some(Tok::Sym("<")) => Op::Lt,
            Some(Tok::Sym("<=")) => Op::Le,
            Some(Tok::Sym(">")) => Op::Gt,
            Some(Tok::Sym(">=")) => Op::Ge,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("contains") => Op::Contains,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("like") => Op::Like,
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("in") => Op::In,
            Some(t) => return Err(format!("expected an operator after {field}, found {t:?}")),
            None => return Err(format!("expected an operator after {field}")),
        };
        if negated && !matches!(op, Op::Contains | Op::Like | Op::In) {
            return Err(format!("'not' cannot precede this operator after {field}"));
        }
        let value = if op == Op::In {
            if self.next() != Some(Tok::Sym("(")) {
                return Err(format!("'in' needs a list in parentheses after {field}"));
            }
            let mut items = Vec::new();
            loop {
                items.push(self.literal()?);
                match self.next() {
                    Some(Tok::Sym(",")) => continue,
                    Some(Tok::Sym(")")) => break,
                    _ => return Err(format!("malformed list after {field} in")),
                }
            }
            Lit::List(items)
        } else {
            self.literal()?
        };
        Ok(Cond::Cmp {
            field: Field {
                path: field.to_ascii_lowercase(),
                canon: "",
            },
            op,
            negated,
            value,
        })
    }

    pub(super) fn literal(&mut self) -> Result<Lit, String> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Lit::Str(s)),
            Some(Tok::Int(n)) => Ok(Lit::Int(n)),
            Some(Tok::Num(f)) => Ok(Lit::Num(f)),
            Some(Tok::Time(t)) => Ok(Lit::Time(t)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("true") => Ok(Lit::Bool(true)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("false") => Ok(Lit::Bool(false)),
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("null") => Ok(Lit::Null),
            Some(Tok::Word(w)) => Err(format!(
                "unquoted value {w} (strings need double quotes, datetimes square brackets)"
            )),
            Some(t) => Err(format!("expected a value, found {t:?}")),
            None => Err("expected a value, found the end".into()),
        }
    }
}

pub(super) fn parse_conditions(s: &str) -> Result<Option<Cond>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let toks = lex(s)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let c = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    Ok(Some(c))
}
