//! Choice rules: parsing (with every comparison operator of the JSONPath flavour) and evaluation.

use crate::asl::fields::Obj;
use crate::paths::Path;
use chrono::{DateTime, FixedOffset};
use serde_json::Value;
use std::cmp::Ordering;

/// The comparison a rule performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// String equality.
    StringEquals,
    /// String order.
    StringLessThan,
    /// String order.
    StringGreaterThan,
    /// String order.
    StringLessThanEquals,
    /// String order.
    StringGreaterThanEquals,
    /// Glob match with `*`.
    StringMatches,
    /// Numeric equality.
    NumericEquals,
    /// Numeric order.
    NumericLessThan,
    /// Numeric order.
    NumericGreaterThan,
    /// Numeric order.
    NumericLessThanEquals,
    /// Numeric order.
    NumericGreaterThanEquals,
    /// Boolean equality.
    BooleanEquals,
    /// Timestamp equality.
    TimestampEquals,
    /// Timestamp order.
    TimestampLessThan,
    /// Timestamp order.
    TimestampGreaterThan,
    /// Timestamp order.
    TimestampLessThanEquals,
    /// Timestamp order.
    TimestampGreaterThanEquals,
    /// The variable exists.
    IsPresent,
    /// The variable is null.
    IsNull,
    /// The variable is a number.
    IsNumeric,
    /// The variable is a string.
    IsString,
    /// The variable is a boolean.
    IsBoolean,
    /// The variable is an RFC 3339 timestamp string.
    IsTimestamp,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    Num,
    Bool,
    Time,
    Glob,
    Test,
}

const OPS: &[(&str, Op, Kind)] = &[
    ("StringEquals", Op::StringEquals, Kind::Str),
    ("StringLessThan", Op::StringLessThan, Kind::Str),
    ("StringGreaterThan", Op::StringGreaterThan, Kind::Str),
    ("StringLessThanEquals", Op::StringLessThanEquals, Kind::Str),
    (
        "StringGreaterThanEquals",
        Op::StringGreaterThanEquals,
        Kind::Str,
    ),
    ("StringMatches", Op::StringMatches, Kind::Glob),
    ("NumericEquals", Op::NumericEquals, Kind::Num),
    ("NumericLessThan", Op::NumericLessThan, Kind::Num),
    ("NumericGreaterThan", Op::NumericGreaterThan, Kind::Num),
    (
        "NumericLessThanEquals",
        Op::NumericLessThanEquals,
        Kind::Num,
    ),
    (
        "NumericGreaterThanEquals",
        Op::NumericGreaterThanEquals,
        Kind::Num,
    ),
    ("BooleanEquals", Op::BooleanEquals, Kind::Bool),
    ("TimestampEquals", Op::TimestampEquals, Kind::Time),
    ("TimestampLessThan", Op::TimestampLessThan, Kind::Time),
    ("TimestampGreaterThan", Op::TimestampGreaterThan, Kind::Time),
    (
        "TimestampLessThanEquals",
        Op::TimestampLessThanEquals,
        Kind::Time,
    ),
    (
        "TimestampGreaterThanEquals",
        Op::TimestampGreaterThanEquals,
        Kind::Time,
    ),
    ("IsPresent", Op::IsPresent, Kind::Test),
    ("IsNull", Op::IsNull, Kind::Test),
    ("IsNumeric", Op::IsNumeric, Kind::Test),
    ("IsString", Op::IsString, Kind::Test),
    ("IsBoolean", Op::IsBoolean, Kind::Test),
    ("IsTimestamp", Op::IsTimestamp, Kind::Test),
];

/// The right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal from the definition.
    Value(Value),
    /// A `...Path` operator's path.
    Path(Path),
}

/// A (possibly nested) choice rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Rule {
    /// All must hold.
    And(Vec<Rule>),
    /// One must hold.
    Or(Vec<Rule>),
    /// Negation.
    Not(Box<Rule>),
    /// `Variable` compared with an operand.
    Compare {
        /// The variable path.
        variable: Path,
        /// The operator.
        op: Op,
        /// The operand.
        operand: Operand,
    },
}

/// Parses a timestamp the way Step Functions accepts it (RFC 3339 with `T` and a zone).
pub fn parse_timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    if !s.contains('T') {
        return None;
    }
    DateTime::parse_from_rfc3339(s).ok()
}

/// Parses one rule object; `top` rules carry `Next`, nested ones must not.
pub fn parse_rule(obj: &mut Obj<'_>, top: bool) -> Result<Rule, String> {
    if top {
        obj.required_str("Next")?;
    }
    obj.optional_str("Comment")?;
    let mut found: Vec<Rule> = Vec::new();
    if let Some(list) = obj.take("And") {
        found.push(Rule::And(parse_list(obj, "And", list)?));
    }
    if let Some(list) = obj.take("Or") {
        found.push(Rule::Or(parse_list(obj, "Or", list)?));
    }
    if let Some(inner) = obj.take("Not") {
        let map = inner
            .as_object()
            .ok_or_else(|| obj.err("Not", "must be an object"))?;
        let mut sub = obj.child(map, "Not");
        let r = parse_rule(&mut sub, false)?;
        sub.finish()?;
        found.push(Rule::Not(Box::new(r)));
    }
    for (name, op, kind) in OPS {
        if let Some(v) = obj.take(name) {
            let variable = obj.required_path("Variable")?;
            let operand = literal_operand(obj, name, *kind, v)?;
            found.push(Rule::Compare {
                variable,
                op: *op,
                operand,
            });
        }
        let path_name = format!("{name}Path");
        if *kind != Kind::Test && *kind != Kind::Glob {
            if let Some(v) = obj.take(&path_name) {
                let variable = obj.required_path("Variable")?;
                let s = v
                    .as_str()
                    .ok_or_else(|| obj.err(&path_name, "must be a JSONPath string"))?;
                let p = Path::parse(s).map_err(|e| obj.err(&path_name, &e))?;
                found.push(Rule::Compare {
                    variable,
                    op: *op,
                    operand: Operand::Path(p),
                });
            }
        }
    }
    match found.len() {
        1 => found.pop().ok_or_else(|| obj.err("", "no comparison")),
        0 => Err(obj.err(
            "",
            "choice rule has no comparison operator (or uses one this engine does not support)",
        )),
        _ => Err(obj.err("", "choice rule has more than one comparison operator")),
    }
}

fn parse_list(obj: &Obj<'_>, field: &str, list: &Value) -> Result<Vec<Rule>, String> {
    let items = list
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or_else(|| obj.err(field, "must be a non-empty array"))?;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let map = item
            .as_object()
            .ok_or_else(|| obj.err(field, "items must be objects"))?;
        let mut sub = obj.child(map, &format!("{field}[{i}]"));
        out.push(parse_rule(&mut sub, false)?);
        sub.finish()?;
    }
    Ok(out)
}

fn literal_operand(obj: &Obj<'_>, name: &str, kind: Kind, v: &Value) -> Result<Operand, String> {
    let ok = match kind {
        Kind::Str | Kind::Glob => v.is_string(),
        Kind::Num => v.is_number(),
        Kind::Bool | Kind::Test => v.is_boolean(),
        Kind::Time => v.as_str().and_then(parse_timestamp).is_some(),
    };
    if !ok {
        let want = match kind {
            Kind::Str | Kind::Glob => "a string",
            Kind::Num => "a number",
            Kind::Bool | Kind::Test => "a boolean",
            Kind::Time => "an RFC 3339 timestamp string",
        };
        return Err(obj.err(name, &format!("must be {want}")));
    }
    Ok(Operand::Value(v.clone()))
}

/// Matches AWS's StringMatches glob: `*` is any run of characters, `\*` and `\\` are literals.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        Star,
    }
    let mut toks = Vec::new();
    let mut it = pattern.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => toks.push(Tok::Lit(it.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Lit(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Classic wildcard matching with a single backtrack point.
    let (mut p, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

fn order(op: Op, ord: Ordering) -> bool {
    use Op::*;
    match op {
        StringEquals | NumericEquals | TimestampEquals => ord == Ordering::Equal,
        StringLessThan | NumericLessThan | TimestampLessThan => ord == Ordering::Less,
        StringGreaterThan | NumericGreaterThan | TimestampGreaterThan => ord == Ordering::Greater,
        StringLessThanEquals | NumericLessThanEquals | TimestampLessThanEquals => {
            ord != Ordering::Greater
        }
        StringGreaterThanEquals | NumericGreaterThanEquals | TimestampGreaterThanEquals => {
            ord != Ordering::Less
        }
        _ => false,
    }
}

fn kind_of(op: Op) -> Kind {
    OPS.iter()
        .find(|(_, o, _)| *o == op)
        .map(|(_, _, k)| *k)
        .unwrap_or(Kind::Test)
}

/// Evaluates a rule; `Err` is a `States.Runtime` cause (a missing variable or operand path).
pub fn eval(rule: &Rule, input: &Value, ctx: &Value) -> Result<bool, String> {
    match rule {
        Rule::And(rules) => {
            for r in rules {
                if !eval(r, input, ctx)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rules) => {
            for r in rules {
                if eval(r, input, ctx)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(r) => Ok(!eval(r, input, ctx)?),
        Rule::Compare {
            variable,
            op,
            operand,
        } => {
            if *op == Op::IsPresent {
                let present = variable.eval(input, ctx).is_ok();
                return Ok(present == (operand == &Operand::Value(Value::Bool(true))));
            }
            let var = variable.eval_invalid_path(input, ctx)?;
            let rhs = match operand {
                Operand::Value(v) => v.clone(),
                Operand::Path(p) => p.eval_invalid_path(input, ctx)?,
            };
            let want = rhs.as_bool().unwrap_or(false);
            Ok(match kind_of(*op) {
                Kind::Test => {
                    let is = match op {
                        Op::IsNull => var.is_null(),
                        Op::IsNumeric => var.is_number(),
                        Op::IsString => var.is_string(),
                        Op::IsBoolean => var.is_boolean(),
                        Op::IsTimestamp => var.as_str().and_then(parse_timestamp).is_some(),
                        _ => false,
                    };
                    is == want
                }
                Kind::Str => match (var.as_str(), rhs.as_str()) {
                    (Some(a), Some(b)) => order(*op, a.cmp(b)),
                    _ => false,
                },
                Kind::Glob => match (var.as_str(), rhs.as_str()) {
                    (Some(a), Some(b)) => glob_match(b, a),
                    _ => false,
                },
                Kind::Num => match (var.as_f64(), rhs.as_f64()) {
                    (Some(a), Some(b)) => a.partial_cmp(&b).is_some_and(|o| order(*op, o)),
                    _ => false,
                },
                Kind::Bool => match (var.as_bool(), rhs.as_bool()) {
                    (Some(a), Some(b)) => a == b,
                    _ => false,
                },
                Kind::Time => match (
                    var.as_str().and_then(parse_timestamp),
                    rhs.as_str().and_then(parse_timestamp),
                ) {
                    (Some(a), Some(b)) => order(*op, a.cmp(&b)),
                    _ => false,
                },
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob() {
        assert!(glob_match("log-*.txt", "log-2024.txt"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b", "aXXc"));
        assert!(glob_match("a\\*", "a*"));
        assert!(!glob_match("a\\*", "ab"));
    }
}
