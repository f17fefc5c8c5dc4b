//! Source text → tokens with byte spans. The whole input is tokenized up front: rule
//! expressions are short, and a token vector keeps the parser's look-ahead trivial.

use super::{ExprError, Span, column};

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Num(f64),
    Str(String),
    /// Any word, keywords included: `true`, `in` and friends are told apart by the parser,
    /// so `attr.in` still reads as an attribute key.
    Word(String),
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    Dot,
    EqEq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    AndAnd,
    OrOr,
    Bang,
    Minus,
    Eof,
}

impl Tok {
    /// How the token reads in a "found …" message.
    pub(super) fn describe(&self) -> String {
        match self {
            Tok::Num(n) => format!("number `{n}`"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Word(w) => format!("`{w}`"),
            Tok::Eof => "end of input".to_string(),
            other => format!("`{}`", other.symbol()),
        }
    }

    pub(super) fn symbol(&self) -> &'static str {
        match self {
            Tok::LParen => "(",
            Tok::RParen => ")",
            Tok::LBracket => "[",
            Tok::RBracket => "]",
            Tok::Comma => ",",
            Tok::Dot => ".",
            Tok::EqEq => "==",
            Tok::Ne => "!=",
            Tok::Lt => "<",
            Tok::Le => "<=",
            Tok::Gt => ">",
            Tok::Ge => ">=",
            Tok::AndAnd => "&&",
            Tok::OrOr => "||",
            Tok::Bang => "!",
            Tok::Minus => "-",
            Tok::Num(_) | Tok::Str(_) | Tok::Word(_) | Tok::Eof => "",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub span: Span,
}

fn err(start: usize, end: usize, message: impl Into<String>) -> ExprError {
    ExprError {
        span: Span { start, end },
        message: message.into(),
    }
}

/// Tokenizes `src`; the last token is always `Eof`.
pub(super) fn lex(src: &str) -> Result<Vec<Token>, ExprError> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let start = i;
        let b = bytes[i];
        let two = |second: u8| bytes.get(i + 1) == Some(&second);
        let (tok, len) = match b {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b'[' => (Tok::LBracket, 1),
            b']' => (Tok::RBracket, 1),
            b',' => (Tok::Comma, 1),
            b'.' => (Tok::Dot, 1),
            b'-' => (Tok::Minus, 1),
            b'=' if two(b'=') => (Tok::EqEq, 2),
            b'=' => return Err(err(i, i + 1, "expected `==` to compare, found `=`")),
            b'!' if two(b'=') => (Tok::Ne, 2),
            b'!' => (Tok::Bang, 1),
            b'<' if two(b'=') => (Tok::Le, 2),
            b'<' => (Tok::Lt, 1),
            b'>' if two(b'=') => (Tok::Ge, 2),
            b'>' => (Tok::Gt, 1),
            b'&' if two(b'&') => (Tok::AndAnd, 2),
            b'&' => return Err(err(i, i + 1, "expected `&&`, found `&`")),
            b'|' if two(b'|') => (Tok::OrOr, 2),
            b'|' => return Err(err(i, i + 1, "expected `||`, found `|`")),
            b'"' | b'\'' => {
                let (s, end) = string(src, i + 1, b, false)?;
                (Tok::Str(s), end - i)
            }
            b'r' | b'R' if matches!(bytes.get(i + 1), Some(b'"' | b'\'')) => {
                let (s, end) = string(src, i + 2, bytes[i + 1], true)?;
                (Tok::Str(s), end - i)
            }
            b'0'..=b'9' => {
                let end = number_end(bytes, i);
                let text = &src[i..end];
                match text.parse::<f64>() {
                    Ok(n) => (Tok::Num(n), end - i),
                    Err(_) => return Err(err(i, end, format!("invalid number `{text}`"))),
                }
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let mut end = i + 1;
                while end < bytes.len()
                    && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_')
                {
                    end += 1;
                }
                (Tok::Word(src[i..end].to_string()), end - i)
            }
            _ => {
                let c = src[i..].chars().next().unwrap_or('\u{fffd}');
                return Err(err(
                    i,
                    i + c.len_utf8(),
                    format!("unexpected character `{c}` at column {}", column(src, i)),
                ));
            }
        };
        i += len;
        toks.push(Token {
            tok,
            span: Span { start, end: i },
        });
    }
    toks.push(Token {
        tok: Tok::Eof,
        span: Span {
            start: src.len(),
            end: src.len(),
        },
    });
    Ok(toks)
}

/// `digits [. digits] [e [+-] digits]`; a `.` not followed by a digit is left for the parser.
fn number_end(b: &[u8], mut i: usize) -> usize {
    let digits = |mut i: usize| {
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        i
    };
    i = digits(i);
    if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
        i = digits(i + 1);
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        let mut j = i + 1;
        if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
            j += 1;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            i = digits(j);
        } else {
            // `1e` or `1ex`: swallow the letters so the error names the whole bad number.
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
        }
    }
    i
}

/// Reads a string body starting after the opening quote; returns the text and the byte
/// index just past the closing quote.
fn string(src: &str, body: usize, quote: u8, raw: bool) -> Result<(String, usize), ExprError> {
    let open = if raw { body - 2 } else { body - 1 };
    let mut out = String::new();
    let mut chars = src[body..].char_indices();
    while let Some((off, c)) = chars.next() {
        let at = body + off;
        if c == quote as char {
            return Ok((out, at + 1));
        }
        if c == '\\' && !raw {
            let Some((_, e)) = chars.next() else { break };
            out.push(match e {
                '"' => '"',
                '\'' => '\'',
                '\\' => '\\',
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                other => {
                    return Err(err(
                        at,
                        at + 1 + other.len_utf8(),
                        format!(
                            "unknown escape `\\{other}`: expected one of \\\" \\' \\\\ \\n \\t \\r \
                             (for a regex, write `\\\\{other}` or use a raw string r\"...\")"
                        ),
                    ));
                }
            });
        } else {
            out.push(c);
        }
    }
    Err(err(
        open,
        src.len(),
        format!(
            "expected a closing `{}` for the string opened at column {}",
            quote as char,
            column(src, open)
        ),
    ))
}
