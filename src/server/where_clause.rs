//! A small, safe subset of SQL where clauses for `layerQueries` (`queryOption=useFilter`):
//! `1=1`, `FIELD = 'text'`, `FIELD = number`, `<>`/`!=`, `<`, `>`, `<=`, `>=`, `IN (...)`,
//! `IS [NOT] NULL`, `NOT`, `AND`, `OR` and parentheses. Owns parsing and evaluating them against a
//! feature's attributes in Rust. It must never build SQL text from a clause: values are only ever
//! compared as values, so hostile text such as `'; DROP TABLE` is just a string.

use crate::protocol::Attributes;
use serde_json::Value;

/// Longest clause accepted, in bytes.
const MAX_CLAUSE_BYTES: usize = 8 * 1024;
/// Deepest nesting of parentheses and NOTs accepted.
const MAX_DEPTH: usize = 64;

/// Why a where clause was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WhereError {
    #[error("where clause is longer than {MAX_CLAUSE_BYTES} bytes")]
    TooLong,
    #[error("where clause is nested deeper than {MAX_DEPTH} levels")]
    TooDeep,
    #[error("where clause has an unexpected character {0:?}")]
    BadChar(char),
    #[error("where clause has an unterminated string")]
    UnterminatedString,
    #[error("where clause is not understood near {0:?}")]
    Syntax(String),
    #[error("where clause names field {0:?}, which the layer does not have")]
    UnknownField(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Number(f64),
    Text(String),
    Op(&'static str),
    LParen,
    RParen,
    Comma,
}

/// An operand: a field or a literal.
#[derive(Debug, Clone, PartialEq)]
enum Operand {
    Field(String),
    Number(f64),
    Text(String),
}

/// A parsed where clause.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(CompareOp, OperandExpr, OperandExpr),
    IsNull {
        field: String,
        negated: bool,
    },
    In {
        field: String,
        values: Vec<OperandExpr>,
        negated: bool,
    },
    And(Box<Condition>, Box<Condition>),
    Or(Box<Condition>, Box<Condition>),
    Not(Box<Condition>),
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

/// An operand of a comparison (kept opaque to callers).
#[derive(Debug, Clone, PartialEq)]
pub struct OperandExpr(Operand);

impl Condition {
    /// Parses `clause`; `has_field` says whether a field name exists (case-insensitive).
    pub fn parse(clause: &str, has_field: &dyn Fn(&str) -> bool) -> Result<Self, WhereError> {
        if clause.len() > MAX_CLAUSE_BYTES {
            return Err(WhereError::TooLong);
        }
        let tokens = tokenize(clause)?;
        let mut parser = Parser {
            tokens,
            pos: 0,
            depth: 0,
            has_field,
        };
        let condition = parser.or()?;
        match parser.peek() {
            None => Ok(condition),
            Some(t) => Err(WhereError::Syntax(format!("{t:?}"))),
        }
    }

    /// Whether a feature with these attributes matches (SQL semantics: NULL compares false).
    pub fn matches(&self, attrs: &Attributes) -> bool {
        match self {
            Condition::Compare(op, a, b) => {
                compare(*op, &value_of(&a.0, attrs), &value_of(&b.0, attrs))
            }
            Condition::IsNull { field, negated } => {
                let is_null = lookup(attrs, field).is_none_or(Value::is_null);
                is_null != *negated
            }
            Condition::In {
                field,
                values,
                negated,
            } => {
                let v = lookup(attrs, field).cloned().unwrap_or(Value::Null);
                if v.is_null() {
                    return false;
                }
                let found = values
                    .iter()
                    .any(|x| compare(CompareOp::Eq, &v, &value_of(&x.0, attrs)));
                found != *negated
            }
            Condition::And(a, b) => a.matches(attrs) && b.matches(attrs),
            Condition::Or(a, b) => a.matches(attrs) || b.matches(attrs),
            Condition::Not(c) => !c.matches(attrs),
        }
    }
}

fn lookup<'a>(attrs: &'a Attributes, field: &str) -> Option<&'a Value> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
}

fn value_of(operand: &Operand, attrs: &Attributes) -> Value {
    match operand {
        Operand::Field(name) => lookup(attrs, name).cloned().unwrap_or(Value::Null),
        Operand::Number(n) => serde_json::Number::from_f64(*n)
            .map(Value::Number)
            .unwrap_or(Value::Null),
        Operand::Text(t) => Value::String(t.clone()),
    }
}

fn compare(op: CompareOp, a: &Value, b: &Value) -> bool {
    use std::cmp::Ordering;
    let ordering: Option<Ordering> = match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .zip(y.as_f64())
            .and_then(|(x, y)| x.partial_cmp(&y)),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        (Value::Number(x), Value::String(y)) | (Value::String(y), Value::Number(x)) => {
            // A number compared with numeric text compares as numbers (ArcGIS casts); other text never matches.
            let parsed = y.trim().parse::<f64>().ok();
            let ord = x.as_f64().zip(parsed).and_then(|(x, y)| x.partial_cmp(&y));
            if matches!(a, Value::String(_)) {
                ord.map(Ordering::reverse)
            } else {
                ord
            }
        }
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    };
    let Some(ord) = ordering else { return false };
    match op {
        CompareOp::Eq => ord == Ordering::Equal,
        CompareOp::Ne => ord != Ordering::Equal,
        CompareOp::Lt => ord == Ordering::Less,
        CompareOp::Gt => ord == Ordering::Greater,
        CompareOp::Le => ord != Ordering::Greater,
        CompareOp::Ge => ord != Ordering::Less,
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, WhereError> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                tokens.push(Token::LParen);
                i += 1;
            }
            ')' => {
                tokens.push(Token::RParen);
                i += 1;
            }
            ',' => {
                tokens.push(Token::Comma);
                i += 1;
            }
            '\'' => {
                let (s, next) = read_string(&chars, i + 1)?;
                tokens.push(Token::Text(s));
                i = next;
            }
            '=' | '<' | '>' | '!' => {
                let (op, len) = read_op(&chars, i)?;
                tokens.push(Token::Op(op));
                i += len;
            }
            c if c.is_ascii_digit() || c == '.' || (c == '-' && next_is_digit(&chars, i)) => {
                let start = i;
                i += 1;
                while i < chars.len()
                    && (chars[i].is_ascii_digit() || matches!(chars[i], '.' | 'e' | 'E'))
                {
                    i += 1;
                }
                let s: String = chars[start..i].iter().collect();
                let n = s
                    .parse::<f64>()
                    .map_err(|_| WhereError::Syntax(s.clone()))?;
                if !n.is_finite() {
                    return Err(WhereError::Syntax(s));
                }
                tokens.push(Token::Number(n));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let start = i;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                tokens.push(Token::Ident(chars[start..i].iter().collect()));
            }
            other => return Err(WhereError::BadChar(other)),
        }
    }
    Ok(tokens)
}

fn next_is_digit(chars: &[char], i: usize) -> bool {
    chars
        .get(i + 1)
        .is_some_and(|c| c.is_ascii_digit() || *c == '.')
}

fn read_string(chars: &[char], mut i: usize) -> Result<(String, usize), WhereError> {
    let mut s = String::new();
    while i < chars.len() {
        if chars[i] == '\'' {
            if chars.get(i + 1) == Some(&'\'') {
                s.push('\'');
                i += 2;
                continue;
            }
            return Ok((s, i + 1));
        }
        s.push(chars[i]);
        i += 1;
    }
    Err(WhereError::UnterminatedString)
}

fn read_op(chars: &[char], i: usize) -> Result<(&'static str, usize), WhereError> {
    let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
    Ok(match two.as_str() {
        "<>" => ("<>", 2),
        "!=" => ("<>", 2),
        "<=" => ("<=", 2),
        ">=" => (">=", 2),
        _ => match chars[i] {
            '=' => ("=", 1),
            '<' => ("<", 1),
            '>' => (">", 1),
            other => return Err(WhereError::BadChar(other)),
        },
    })
}

struct Parser<'a> {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    has_field: &'a dyn Fn(&str) -> bool,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        match self.peek() {
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case(word) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn syntax_error(&self) -> WhereError {
        match self.peek() {
            Some(t) => WhereError::Syntax(format!("{t:?}")),
            None => WhereError::Syntax("end of clause".into()),
        }
    }

    fn enter(&mut self) -> Result<(), WhereError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(WhereError::TooDeep);
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Condition, WhereError> {
        let mut left = self.and()?;
        while self.keyword("OR") {
            let right = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, WhereError> {
        let mut left = self.unary()?;
        while self.keyword("AND") {
            let right = self.unary()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Condition, WhereError> {
        if self.keyword("NOT") {
            self.enter()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Condition::Not(Box::new(inner)));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            self.enter()?;
            let inner = self.or()?;
            self.depth -= 1;
            return match self.next() {
                Some(Token::RParen) => Ok(inner),
                _ => Err(WhereError::Syntax("missing ')'".into())),
            };
        }
        self.comparison()
    }

    fn operand(&mut self) -> Result<Operand, WhereError> {
        match self.next() {
            Some(Token::Number(n)) => Ok(Operand::Number(n)),
            Some(Token::Text(t)) => Ok(Operand::Text(t)),
            Some(Token::Ident(name)) if is_reserved(&name) => Err(WhereError::Syntax(name)),
            Some(Token::Ident(name)) => {
                if (self.has_field)(&name) {
                    Ok(Operand::Field(name))
                } else {
                    Err(WhereError::UnknownField(name))
                }
            }
            Some(t) => Err(WhereError::Syntax(format!("{t:?}"))),
            None => Err(WhereError::Syntax("end of clause".into())),
        }
    }

    fn comparison(&mut self) -> Result<Condition, WhereError> {
        let left = self.operand()?;
        if self.keyword("IS") {
            let negated = self.keyword("NOT");
            if !self.keyword("NULL") {
                return Err(self.syntax_error());
            }
            return field_of(left).map(|field| Condition::IsNull { field, negated });
        }
        let negated = self.keyword("NOT");
        if self.keyword("IN") {
            return self.in_list(left, negated);
        }
        if negated {
            return Err(self.syntax_error());
        }
        let op = match self.next() {
            Some(Token::Op("=")) => CompareOp::Eq,
            Some(Token::Op("<>")) => CompareOp::Ne,
            Some(Token::Op("<")) => CompareOp::Lt,
            Some(Token::Op(">")) => CompareOp::Gt,
            Some(Token::Op("<=")) => CompareOp::Le,
            Some(Token::Op(">=")) => CompareOp::Ge,
            _ => {
                self.pos = self.pos.saturating_sub(1);
                return Err(self.syntax_error());
            }
        };
        let right = self.operand()?;
        Ok(Condition::Compare(
            op,
            OperandExpr(left),
            OperandExpr(right),
        ))
    }

    fn in_list(&mut self, left: Operand, negated: bool) -> Result<Condition, WhereError> {
        let field = field_of(left)?;
        if self.next() != Some(Token::LParen) {
            return Err(WhereError::Syntax("IN needs a '(' list".into()));
        }
        let mut values = Vec::new();
        loop {
            match self.next() {
                Some(Token::Number(n)) => values.push(OperandExpr(Operand::Number(n))),
                Some(Token::Text(t)) => values.push(OperandExpr(Operand::Text(t))),
                _ => return Err(WhereError::Syntax("IN lists take literals only".into())),
            }
            match self.next() {
                Some(Token::Comma) => continue,
                Some(Token::RParen) => break,
                _ => return Err(WhereError::Syntax("IN list is not closed".into())),
            }
        }
        Ok(Condition::In {
            field,
            values,
            negated,
        })
    }
}

fn is_reserved(word: &str) -> bool {
    ["AND", "OR", "NOT", "IN", "IS", "NULL"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(word))
}

fn field_of(operand: Operand) -> Result<String, WhereError> {
    match operand {
        Operand::Field(name) => Ok(name),
        other => Err(WhereError::Syntax(format!("{other:?} is not a field name"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attrs(v: Value) -> Attributes {
        v.as_object().cloned().unwrap()
    }

    fn parse(clause: &str) -> Result<Condition, WhereError> {
        Condition::parse(clause, &|f| {
            ["Status", "Flow", "Name", "Notes"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(f))
        })
    }

    #[test]
    fn the_supported_subset_evaluates_like_sql() {
        let a = attrs(json!({"Status":"IS","Flow":750,"Name":"O'Hara","Notes":null}));
        for (clause, expected) in [
            ("1=1", true),
            ("1=0", false),
            ("Status = 'IS'", true),
            ("status <> 'IS'", false),
            ("Flow > 500 AND Flow < 1000", true),
            ("Flow >= 751 OR Status = 'OOS'", false),
            ("Status IN ('OOS', 'IS')", true),
            ("Status NOT IN ('OOS')", true),
            ("Flow IN (1, 2)", false),
            ("Notes IS NULL", true),
            ("Notes IS NOT NULL", false),
            ("NOT (Flow = 750)", false),
            ("Name = 'O''Hara'", true),
            ("Notes = 'x'", false),
            ("(Status = 'IS' OR Flow = 1) AND Flow <= 750", true),
        ] {
            assert_eq!(parse(clause).unwrap().matches(&a), expected, "{clause}");
        }
    }

    #[test]
    fn hostile_text_is_only_a_value() {
        let a = attrs(json!({"Status":"IS"}));
        let c = parse("Status = '''; DROP TABLE features; --'").unwrap();
        assert!(!c.matches(&a));
        assert!(parse("Status = 'IS'; DROP TABLE features").is_err());
        assert!(parse("Status = 'IS' --").is_err());
        assert!(matches!(
            parse("Secret = 1"),
            Err(WhereError::UnknownField(_))
        ));
        assert!(matches!(
            parse("Status = 'open"),
            Err(WhereError::UnterminatedString)
        ));
        assert!(parse("Status =").is_err());
        assert!(parse("").is_err());
        assert!(parse(&"(".repeat(500)).is_err());
        assert!(matches!(
            parse(&"x".repeat(10_000)),
            Err(WhereError::TooLong)
        ));
    }

    proptest::proptest! {
        /// Any text parses to a condition or a typed error, and evaluating never panics.
        #[test]
        fn arbitrary_text_never_panics(clause in "[ -~]{0,80}") {
            let a = attrs(json!({"Status":"IS","Flow":1}));
            if let Ok(c) = parse(&clause) {
                let _ = c.matches(&a);
            }
        }

        /// Clause-shaped text built from the grammar's own tokens never panics either.
        #[test]
        fn token_soup_never_panics(parts in proptest::collection::vec(
            proptest::sample::select(vec!["Status", "Flow", "=", "<>", "<", ">=", "'IS'", "1", "-2.5",
                "(", ")", "AND", "OR", "NOT", "IN", "IS", "NULL", ",", "'a''b'"]), 0..24)) {
            let clause = parts.join(" ");
            let a = attrs(json!({"Status":"IS","Flow":1}));
            if let Ok(c) = parse(&clause) {
                let _ = c.matches(&a);
            }
        }
    }
}
