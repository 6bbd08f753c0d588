//! SCIM filter expressions (RFC 7644 section 3.4.2.2) and attribute paths, evaluated
//! against rendered resources (`serde_json` objects).
//!
//! Grammar (attribute names and operators are case-insensitive):
//! ```text
//! FILTER    = OR
//! OR        = AND *("or" AND)              ; "and" binds tighter than "or"
//! AND       = ATOM *("and" ATOM)
//! ATOM      = "(" FILTER ")" / "not" "(" FILTER ")" / attrPath "[" FILTER "]"
//!           / attrPath "pr" / attrPath compareOp compValue
//! compareOp = eq / ne / co / sw / ew / gt / ge / lt / le
//! compValue = "string" (JSON escapes) / true / false / null / number
//! attrPath  = [URN ":"] attrName ["." subAttr]
//! ```
//! `and` / `or` chains are parsed iteratively (a batch of hundreds of `id eq ".." or ...`
//! terms is one flat node), nesting through parentheses, `not` and `[...]` is limited to
//! [`MAX_DEPTH`].

use std::collections::HashSet;
use std::fmt;

use serde_json::{Map, Value};

/// The deepest nesting of parentheses / `not` / value filters accepted.
pub const MAX_DEPTH: usize = 32;

/// A parsed filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Or(Vec<Filter>),
    And(Vec<Filter>),
    Not(Box<Filter>),
    Compare(AttrPath, Op, Literal),
    Present(AttrPath),
    /// `attr[filter]`: some value of the multi-valued `attr` matches the inner filter,
    /// whose attribute paths are relative to that value.
    ValuePath(AttrPath, Box<Filter>),
}

/// An attribute path: an optional schema URN, the attribute, an optional sub-attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Bool(bool),
    Null,
    Num(serde_json::Number),
}

/// Why a filter or a path does not parse; the message is meant for a SCIM `detail`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word.to_ascii_lowercase().as_str() {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            _ => return None,
        })
    }
}

impl fmt::Display for AttrPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(urn) = &self.urn {
            write!(f, "{urn}:")?;
        }
        f.write_str(&self.attr)?;
        if let Some(sub) = &self.sub {
            write!(f, ".{sub}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Attribute paths
// ---------------------------------------------------------------------------------------

fn is_attr_name(s: &str) -> bool {
    if s == "$ref" {
        return true;
    }
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl AttrPath {
    /// Parses `[URN ":"] attr ["." sub]`. A URN is recognised by its `urn:` prefix; the
    /// attribute is what follows its last colon (so `urn:...:2.0:User:name.givenName` works).
    pub fn parse(s: &str) -> Result<AttrPath, ParseError> {
        let bad = || ParseError(format!("invalid attribute path \"{s}\""));
        // `get`, not `[..4]`: the fourth byte may fall inside a multi-byte character.
        let (urn, rest) = if s.len() > 4 && s.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("urn:")) {
            let at = s.rfind(':').ok_or_else(bad)?;
            (Some(s[..at].to_string()), &s[at + 1..])
        } else {
            (None, s)
        };
        let mut parts = rest.split('.');
        let attr = parts.next().filter(|a| is_attr_name(a)).ok_or_else(bad)?;
        let sub = match parts.next() {
            None => None,
            Some(sub) if is_attr_name(sub) => Some(sub.to_string()),
            Some(_) => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(AttrPath { urn, attr: attr.to_string(), sub })
    }

    /// `attr` or `attr.sub`, without the URN, lower-cased (for lookups in name tables).
    pub fn key(&self) -> String {
        match &self.sub {
            Some(sub) => format!("{}.{}", self.attr, sub).to_ascii_lowercase(),
            None => self.attr.to_ascii_lowercase(),
        }
    }

    /// The whole path as written, with the URN: `urn:...:Group` for an extension object
    /// addressed as a whole.
    pub fn full(&self) -> String {
        self.to_string()
    }
}

/// The value of `key` in `obj`, compared case-insensitively (attribute names are).
pub fn get_ci<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v))
}

/// The key of `obj` that equals `key` case-insensitively.
pub fn key_ci(obj: &Map<String, Value>, key: &str) -> Option<String> {
    if obj.contains_key(key) {
        return Some(key.to_string());
    }
    obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()
}

/// Where a path starts inside `root`, and which names remain to descend: an extension
/// addressed whole (`urn:...:group:Group`), an attribute of an extension
/// (`urn:...:group:Group:description`), a core-schema-qualified attribute or a plain one.
/// `None` when the URN names nothing in `root`.
pub fn locate<'a, 'p>(root: &'a Map<String, Value>, path: &'p AttrPath, core_urn: &str) -> Option<(&'a Value, Vec<&'p str>)> {
    let names: Vec<&str> = std::iter::once(path.attr.as_str()).chain(path.sub.as_deref()).collect();
    match &path.urn {
        None => get_ci(root, names[0]).map(|v| (v, names[1..].to_vec())),
        Some(urn) => {
            if let Some(ext) = get_ci(root, &path.full()) {
                return Some((ext, Vec::new()));
            }
            if let Some(ext) = get_ci(root, urn) {
                return Some((ext, names));
            }
            if urn.eq_ignore_ascii_case(core_urn) {
                return get_ci(root, names[0]).map(|v| (v, names[1..].to_vec()));
            }
            None
        }
    }
}

/// The leaf values a path selects: multi-valued attributes contribute each element. When
/// the last name is `value` and its object also carries an `ocid`, the ocid is selected
/// too (a member or group reference can be named by id or by ocid).
pub fn values<'a>(root: &'a Map<String, Value>, path: &AttrPath, core_urn: &str) -> Vec<&'a Value> {
    let mut out = Vec::new();
    if let Some((start, names)) = locate(root, path, core_urn) {
        descend(start, &names, &mut out);
    }
    // `value` at the root: the root is one value of a multi-valued attribute (inside
    // `members[...]`), which may carry the ocid alias.
    if path.urn.is_none() && path.sub.is_none() && path.attr.eq_ignore_ascii_case("value") {
        if let Some(ocid @ Value::String(_)) = root.get("ocid") {
            out.push(ocid);
        }
    }
    out
}

fn descend<'a>(v: &'a Value, names: &[&str], out: &mut Vec<&'a Value>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| descend(i, names, out)),
        Value::Null => {}
        _ if names.is_empty() => out.push(v),
        Value::Object(obj) => {
            if let Some(next) = get_ci(obj, names[0]) {
                descend(next, &names[1..], out);
            }
            if names.len() == 1 && names[0].eq_ignore_ascii_case("value") {
                if let Some(ocid @ Value::String(_)) = obj.get("ocid") {
                    out.push(ocid);
                }
            }
        }
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------
// Tokenizer
// ---------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Str(String),
    Word(String),
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::LParen => "\"(\"".into(),
            Tok::RParen => "\")\"".into(),
            Tok::LBracket => "\"[\"".into(),
            Tok::RBracket => "\"]\"".into(),
            Tok::Str(s) => format!("the string {}", Value::String(s.clone())),
            Tok::Word(w) => format!("\"{w}\""),
        }
    }
}

fn tokenize(input: &str) -> Result<Vec<(usize, Tok)>, ParseError> {
    let bytes = input.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => i += 1,
            b'(' | b')' | b'[' | b']' => {
                out.push((
                    i,
                    match c {
                        b'(' => Tok::LParen,
                        b')' => Tok::RParen,
                        b'[' => Tok::LBracket,
                        _ => Tok::RBracket,
                    },
                ));
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(ParseError(format!("unterminated string starting at position {}", start + 1)));
                        }
                        Some(b'\\') => i += 2,
                        Some(b'"') => break,
                        Some(_) => i += 1,
                    }
                }
                i += 1;
                let raw = &input[start..i];
                let s: String = serde_json::from_str(raw)
                    .map_err(|_| ParseError(format!("invalid string {raw} at position {}: bad escape sequence", start + 1)))?;
                out.push((start, Tok::Str(s)));
            }
            _ => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'\r' | b'\n' | b'(' | b')' | b'[' | b']' | b'"') {
                    i += 1;
                }
                out.push((start, Tok::Word(input[start..i].to_string())));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------------------

struct Parser {
    toks: Vec<(usize, Tok)>,
    at: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(_, t)| t)
    }

    fn peek_word_is(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Tok::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn next(&mut self) -> Option<(usize, Tok)> {
        let t = self.toks.get(self.at).cloned();
        if t.is_some() {
            self.at += 1;
        }
        t
    }

    fn position(&self) -> String {
        match self.toks.get(self.at) {
            Some((p, _)) => format!("position {}", p + 1),
            None => "the end of the filter".to_string(),
        }
    }

    fn unexpected(&self, wanted: &str) -> ParseError {
        match self.peek() {
            Some(t) => ParseError(format!("expected {wanted} at {}, found {}", self.position(), t.describe())),
            None => ParseError(format!("expected {wanted} at the end of the filter")),
        }
    }

    fn or(&mut self) -> Result<Filter, ParseError> {
        let mut terms = vec![self.and()?];
        while self.peek_word_is("or") {
            self.at += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Filter::Or(terms) })
    }

    fn and(&mut self) -> Result<Filter, ParseError> {
        let mut terms = vec![self.atom()?];
        while self.peek_word_is("and") {
            self.at += 1;
            terms.push(self.atom()?);
        }
        Ok(if terms.len() == 1 { terms.remove(0) } else { Filter::And(terms) })
    }

    fn nested(&mut self, close: Tok, what: &str) -> Result<Filter, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError(format!("the filter nests deeper than {MAX_DEPTH} levels")));
        }
        let inner = self.or()?;
        if self.peek() != Some(&close) {
            return Err(self.unexpected(what));
        }
        self.at += 1;
        self.depth -= 1;
        Ok(inner)
    }

    fn atom(&mut self) -> Result<Filter, ParseError> {
        match self.peek() {
            Some(Tok::LParen) => {
                self.at += 1;
                self.nested(Tok::RParen, "\")\"")
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") && matches!(self.toks.get(self.at + 1), Some((_, Tok::LParen))) => {
                self.at += 2;
                Ok(Filter::Not(Box::new(self.nested(Tok::RParen, "\")\"")?)))
            }
            Some(Tok::Word(_)) => {
                let Some((pos, Tok::Word(word))) = self.next() else { unreachable!("peeked a word") };
                let path = AttrPath::parse(&word).map_err(|e| ParseError(format!("{} at position {}", e.0, pos + 1)))?;
                if self.peek() == Some(&Tok::LBracket) {
                    self.at += 1;
                    if path.sub.is_some() {
                        return Err(ParseError(format!(
                            "a value filter \"[...]\" must follow an attribute, not the sub-attribute \"{path}\""
                        )));
                    }
                    let inner = self.nested(Tok::RBracket, "\"]\"")?;
                    return Ok(Filter::ValuePath(path, Box::new(inner)));
                }
                let op = match self.next() {
                    Some((_, Tok::Word(op))) => op,
                    Some((p, t)) => {
                        return Err(ParseError(format!(
                            "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after \"{word}\" at position {}, found {}",
                            p + 1,
                            t.describe()
                        )));
                    }
                    None => {
                        return Err(ParseError(format!(
                            "expected an operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr) after \"{word}\" at the end of the filter"
                        )));
                    }
                };
                if op.eq_ignore_ascii_case("pr") {
                    return Ok(Filter::Present(path));
                }
                let op_kind = Op::parse(&op).ok_or_else(|| {
                    ParseError(format!("unknown operator \"{op}\" after \"{word}\" (expected eq, ne, co, sw, ew, gt, ge, lt, le or pr)"))
                })?;
                let value = match self.next() {
                    Some((_, Tok::Str(s))) => Literal::Str(s),
                    Some((p, Tok::Word(v))) => match v.to_ascii_lowercase().as_str() {
                        "true" => Literal::Bool(true),
                        "false" => Literal::Bool(false),
                        "null" => Literal::Null,
                        _ => match serde_json::from_str::<serde_json::Number>(&v) {
                            Ok(n) => Literal::Num(n),
                            Err(_) => {
                                return Err(ParseError(format!(
                                    "invalid value {v} after \"{op}\" at position {}: strings must be in double quotes",
                                    p + 1
                                )));
                            }
                        },
                    },
                    Some((p, t)) => {
                        return Err(ParseError(format!(
                            "expected a value (a quoted string, true, false, null or a number) after \"{op}\" at position {}, found {}",
                            p + 1,
                            t.describe()
                        )));
                    }
                    None => {
                        return Err(ParseError(format!(
                            "expected a value (a quoted string, true, false, null or a number) after \"{word} {op}\" at the end of the filter"
                        )));
                    }
                };
                Ok(Filter::Compare(path, op_kind, value))
            }
            _ => Err(self.unexpected("an attribute path, \"(\" or \"not (\"")),
        }
    }
}

impl Filter {
    /// Parses a whole filter expression.
    pub fn parse(input: &str) -> Result<Filter, ParseError> {
        if input.trim().is_empty() {
            return Err(ParseError("the filter is empty".to_string()));
        }
        let mut p = Parser { toks: tokenize(input)?, at: 0, depth: 0 };
        let f = p.or()?;
        if p.peek().is_some() {
            return Err(p.unexpected("\"and\", \"or\" or the end of the filter"));
        }
        Ok(f)
    }

    /// Every attribute path the filter uses, as `attr` / `attr.sub` (lower-case) plus the
    /// URN when one was written; paths inside `attr[...]` are prefixed with `attr.`.
    pub fn paths(&self) -> Vec<AttrPath> {
        let mut out = Vec::new();
        self.collect_paths(None, &mut out);
        out
    }

    fn collect_paths(&self, parent: Option<&AttrPath>, out: &mut Vec<AttrPath>) {
        let qualify = |p: &AttrPath| match parent {
            None => p.clone(),
            Some(parent) => AttrPath { urn: parent.urn.clone(), attr: parent.attr.clone(), sub: Some(p.attr.clone()) },
        };
        match self {
            Filter::Or(fs) | Filter::And(fs) => {
                fs.iter().for_each(|f| f.collect_paths(parent, out));
            }
            Filter::Not(f) => f.collect_paths(parent, out),
            Filter::Compare(p, _, _) | Filter::Present(p) => out.push(qualify(p)),
            Filter::ValuePath(p, inner) => {
                let p = qualify(p);
                out.push(p.clone());
                inner.collect_paths(Some(&p), out);
            }
        }
    }

    /// When the filter is only `id eq ".."` / `ocid eq ".."` terms joined by `or`, the
    /// values (a fast pre-selection for batched reads).
    pub fn id_set(&self) -> Option<HashSet<String>> {
        fn term(f: &Filter) -> Option<&str> {
            match f {
                Filter::Compare(p, Op::Eq, Literal::Str(s))
                    if p.urn.is_none() && p.sub.is_none() && (p.attr.eq_ignore_ascii_case("id") || p.attr.eq_ignore_ascii_case("ocid")) =>
                {
                    Some(s)
                }
                _ => None,
            }
        }
        match self {
            Filter::Or(terms) => terms.iter().map(|t| term(t).map(str::to_string)).collect(),
            f => term(f).map(|s| HashSet::from([s.to_string()])),
        }
    }

    /// Whether `root` (a rendered resource, or one value of a multi-valued attribute inside
    /// a `[...]` filter) matches. `core_urn` is the resource's core schema, which may
    /// qualify attribute names.
    pub fn matches(&self, root: &Map<String, Value>, core_urn: &str) -> bool {
        match self {
            Filter::Or(fs) => fs.iter().any(|f| f.matches(root, core_urn)),
            Filter::And(fs) => fs.iter().all(|f| f.matches(root, core_urn)),
            Filter::Not(f) => !f.matches(root, core_urn),
            Filter::Present(p) => values(root, p, core_urn).into_iter().any(present),
            Filter::ValuePath(p, inner) => {
                values(root, p, core_urn).into_iter().any(|v| matches!(v, Value::Object(o) if inner.matches(o, core_urn)))
            }
            Filter::Compare(p, op, lit) => {
                let exact = case_exact(p);
                let vals = values(root, p, core_urn);
                match (op, lit) {
                    // `eq null` / `ne null`: the attribute has no value / has one.
                    (Op::Eq, Literal::Null) => vals.is_empty(),
                    (Op::Ne, Literal::Null) => !vals.is_empty(),
                    (Op::Ne, _) => !vals.iter().any(|v| compare(v, Op::Eq, lit, exact)),
                    _ => vals.iter().any(|v| compare(v, *op, lit, exact)),
                }
            }
        }
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => o.values().any(present),
        _ => true,
    }
}

/// Attributes whose values compare case-sensitively (RFC 7643 `caseExact: true`); all
/// others (userName, displayName, emails, names, types...) compare case-insensitively.
pub(super) fn case_exact(p: &AttrPath) -> bool {
    let last = p.sub.as_deref().unwrap_or(&p.attr);
    ["id", "externalId", "ocid", "version", "location", "$ref"].iter().any(|n| last.eq_ignore_ascii_case(n))
}

fn compare(v: &Value, op: Op, lit: &Literal, exact: bool) -> bool {
    // A complex value without a sub-attribute compares through its `value`.
    if let Value::Object(o) = v {
        return match o.get("value") {
            Some(inner) if !inner.is_object() => compare(inner, op, lit, exact),
            _ => false,
        };
    }
    match (v, lit) {
        (Value::String(s), Literal::Str(l)) => {
            let (s, l) = if exact { (s.clone(), l.clone()) } else { (s.to_lowercase(), l.to_lowercase()) };
            match op {
                Op::Eq => s == l,
                Op::Ne => s != l,
                Op::Co => s.contains(&l),
                Op::Sw => s.starts_with(&l),
                Op::Ew => s.ends_with(&l),
                Op::Gt => s > l,
                Op::Ge => s >= l,
                Op::Lt => s < l,
                Op::Le => s <= l,
            }
        }
        (Value::Bool(b), Literal::Bool(l)) => match op {
            Op::Eq => b == l,
            Op::Ne => b != l,
            _ => false,
        },
        (Value::Number(n), Literal::Num(l)) => {
            let (Some(a), Some(b)) = (n.as_f64(), l.as_f64()) else {
                return false;
            };
            match op {
                Op::Eq => a == b,
                Op::Ne => a != b,
                Op::Gt => a > b,
                Op::Ge => a >= b,
                Op::Lt => a < b,
                Op::Le => a <= b,
                Op::Co | Op::Sw | Op::Ew => false,
            }
        }
        (_, Literal::Null) => false,
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------
// PATCH paths
// ---------------------------------------------------------------------------------------

/// A PatchOp `path` (RFC 7644 section 3.5.2): `attrPath`, or `attr[valFilter]` optionally
/// followed by `.subAttr`.
#[derive(Debug, Clone, PartialEq)]
pub struct PatchPath {
    pub attr: AttrPath,
    pub filter: Option<Filter>,
    /// The sub-attribute after `]` (`emails[type eq "work"].value`).
    pub filter_sub: Option<String>,
}

impl PatchPath {
    pub fn parse(s: &str) -> Result<PatchPath, ParseError> {
        let s = s.trim();
        let Some(open) = s.find('[') else {
            return Ok(PatchPath { attr: AttrPath::parse(s)?, filter: None, filter_sub: None });
        };
        let attr = AttrPath::parse(&s[..open])?;
        if attr.sub.is_some() {
            return Err(ParseError(format!("invalid path \"{s}\": a value filter must follow an attribute")));
        }
        // The matching "]": the last one outside a string literal.
        let mut close = None;
        let mut in_str = false;
        let mut escaped = false;
        for (i, c) in s.char_indices().skip_while(|(i, _)| *i <= open) {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_str => escaped = true,
                '"' => in_str = !in_str,
                ']' if !in_str => close = Some(i),
                _ => {}
            }
        }
        let close = close.ok_or_else(|| ParseError(format!("invalid path \"{s}\": missing \"]\"")))?;
        let filter = Filter::parse(&s[open + 1..close]).map_err(|e| ParseError(format!("invalid value filter in path \"{s}\": {e}")))?;
        let rest = &s[close + 1..];
        let filter_sub = if rest.is_empty() {
            None
        } else {
            match rest.strip_prefix('.') {
                Some(sub) if is_attr_name(sub) => Some(sub.to_string()),
                _ => {
                    return Err(ParseError(format!("invalid path \"{s}\": only \".subAttribute\" may follow \"]\"")));
                }
            }
        };
        Ok(PatchPath { attr, filter: Some(filter), filter_sub })
    }
}
