//! Tokens → [`Ast`], by recursive descent with CEL's precedence: `||` < `&&` < comparisons
//! and `in` (not chainable) < unary `!`/`-` < member access and calls.
//!
//! Nesting is capped at [`MAX_DEPTH`] so hostile input cannot overflow the stack here, in
//! the compiler, or when the tree is dropped.

use super::lexer::{Tok, Token, lex};
use super::{Ast, AstNode, BinaryOp, ExprError, Span, UnaryOp, column};

/// Deepest tree accepted. Real rules nest a handful of levels.
pub const MAX_DEPTH: u32 = 64;

pub(super) fn parse(src: &str) -> Result<Ast, ExprError> {
    let toks = lex(src)?;
    let mut p = Parser { src, toks, pos: 0 };
    if p.peek() == &Tok::Eof {
        return Err(p.error_here("expected an expression, found end of input".to_string()));
    }
    let (ast, _) = p.or(0)?;
    if p.peek() != &Tok::Eof {
        let found = p.peek().describe();
        return Err(p.error_here(format!(
            "expected an operator (`&&`, `||`, `==`, …) or the end of the expression, found {found}"
        )));
    }
    Ok(ast)
}

struct Parser<'s> {
    src: &'s str,
    toks: Vec<Token>,
    pos: usize,
}

/// A subtree and its depth.
type Parsed = (Ast, u32);

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.toks[self.pos].tok
    }

    fn span(&self) -> Span {
        self.toks[self.pos].span
    }

    fn bump(&mut self) -> Token {
        let t = self.toks[self.pos].clone();
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
        t
    }

    fn error_here(&self, message: String) -> ExprError {
        ExprError {
            span: self.span(),
            message,
        }
    }

    fn col(&self, span: Span) -> usize {
        column(self.src, span.start)
    }

    fn deeper(&self, depth: u32, span: Span) -> Result<u32, ExprError> {
        if depth >= MAX_DEPTH {
            return Err(ExprError {
                span,
                message: format!("expression nested too deeply: at most {MAX_DEPTH} levels"),
            });
        }
        Ok(depth + 1)
    }

    fn can_start_expr(&self) -> bool {
        match self.peek() {
            Tok::Num(_) | Tok::Str(_) | Tok::LParen | Tok::LBracket | Tok::Bang | Tok::Minus => {
                true
            }
            Tok::Word(w) => w != "in",
            _ => false,
        }
    }

    /// The operand right of an operator, with "expected an expression after `op`" when there
    /// is none.
    fn operand_after(
        &mut self,
        op: &str,
        depth: u32,
        next: fn(&mut Self, u32) -> Result<Parsed, ExprError>,
    ) -> Result<Parsed, ExprError> {
        if !self.can_start_expr() {
            let found = self.peek().describe();
            return Err(self.error_here(format!(
                "expected an expression after `{op}`, found {found}"
            )));
        }
        next(self, depth)
    }

    fn binary(lhs: Parsed, op: BinaryOp, rhs: Parsed) -> (Ast, u32) {
        let span = Span {
            start: lhs.0.span.start,
            end: rhs.0.span.end,
        };
        let depth = lhs.1.max(rhs.1) + 1;
        (
            Ast {
                span,
                node: AstNode::Binary {
                    op,
                    lhs: Box::new(lhs.0),
                    rhs: Box::new(rhs.0),
                },
            },
            depth,
        )
    }

    fn or(&mut self, depth: u32) -> Result<Parsed, ExprError> {
        let mut lhs = self.and(depth)?;
        while self.peek() == &Tok::OrOr {
            self.bump();
            let rhs = self.operand_after("||", depth, Self::and)?;
            self.deeper(lhs.1.max(rhs.1) + depth, rhs.0.span)?;
            lhs = Self::binary(lhs, BinaryOp::Or, rhs);
        }
        Ok(lhs)
    }

    fn and(&mut self, depth: u32) -> Result<Parsed, ExprError> {
        let mut lhs = self.cmp(depth)?;
        while self.peek() == &Tok::AndAnd {
            self.bump();
            let rhs = self.operand_after("&&", depth, Self::cmp)?;
            self.deeper(lhs.1.max(rhs.1) + depth, rhs.0.span)?;
            lhs = Self::binary(lhs, BinaryOp::And, rhs);
        }
        Ok(lhs)
    }

    fn cmp_op(&self) -> Option<(BinaryOp, &'static str)> {
        Some(match self.peek() {
            Tok::EqEq => (BinaryOp::Eq, "=="),
            Tok::Ne => (BinaryOp::Ne, "!="),
            Tok::Lt => (BinaryOp::Lt, "<"),
            Tok::Le => (BinaryOp::Le, "<="),
            Tok::Gt => (BinaryOp::Gt, ">"),
            Tok::Ge => (BinaryOp::Ge, ">="),
            Tok::Word(w) if w == "in" => (BinaryOp::In, "in"),
            _ => return None,
        })
    }

    fn cmp(&mut self, depth: u32) -> Result<Parsed, ExprError> {
        let lhs = self.unary(depth)?;
        let Some((op, text)) = self.cmp_op() else {
            return Ok(lhs);
        };
        self.bump();
        let rhs = self.operand_after(text, depth, Self::unary)?;
        if let Some((_, second)) = self.cmp_op() {
            return Err(self.error_here(format!(
                "comparisons cannot be chained: expected `&&` or `||` before `{second}` \
                 (write `a < b && b < c`)"
            )));
        }
        Ok(Self::binary(lhs, op, rhs))
    }

    fn unary(&mut self, depth: u32) -> Result<Parsed, ExprError> {
        let (op, text) = match self.peek() {
            Tok::Bang => (UnaryOp::Not, "!"),
            Tok::Minus => (UnaryOp::Neg, "-"),
            _ => return self.postfix(depth),
        };
        let op_span = self.bump().span;
        let depth = self.deeper(depth, op_span)?;
        let (inner, d) = self.operand_after(text, depth, Self::unary)?;
        let span = Span {
            start: op_span.start,
            end: inner.span.end,
        };
        // `-2` is a literal, not a negation, so it prints back as written.
        if let (UnaryOp::Neg, AstNode::Num(n)) = (op, &inner.node) {
            return Ok((
                Ast {
                    span,
                    node: AstNode::Num(-n),
                },
                d,
            ));
        }
        Ok((
            Ast {
                span,
                node: AstNode::Unary {
                    op,
                    expr: Box::new(inner),
                },
            },
            d + 1,
        ))
    }

    fn postfix(&mut self, depth: u32) -> Result<Parsed, ExprError> {
        let (mut ast, mut d) = self.primary(depth)?;
        while self.peek() == &Tok::Dot {
            let dot = self.bump().span;
            let Tok::Word(name) = self.peek().clone() else {
                let found = self.peek().describe();
                return Err(self.error_here(format!(
                    "expected a field or method name after `.`, found {found}"
                )));
            };
            let name_span = self.bump().span;
            if self.peek() == &Tok::LParen {
                let depth = self.deeper(depth + d, name_span)?;
                let start = ast.span.start;
                let mut args = vec![ast];
                let (end, ad) = self.call_args(&mut args, depth)?;
                d = d.max(ad) + 1;
                ast = Ast {
                    span: Span { start, end },
                    node: AstNode::Call {
                        name,
                        name_span,
                        args,
                        method: true,
                    },
                };
            } else if let AstNode::Ident(path) = &mut ast.node {
                path.push('.');
                path.push_str(&name);
                ast.span.end = name_span.end;
            } else {
                return Err(ExprError {
                    span: Span {
                        start: dot.start,
                        end: name_span.end,
                    },
                    message: format!(
                        "`.{name}` can only follow a field name; expected a method call \
                         `.{name}(...)`"
                    ),
                });
            }
        }
        Ok((ast, d))
    }

    /// Parses `( args )` after a call's name, appending to `args`. Returns the end of the
    /// closing `)` and the deepest argument.
    fn call_args(&mut self, args: &mut Vec<Ast>, depth: u32) -> Result<(usize, u32), ExprError> {
        let open = self.bump().span;
        let mut d = 0;
        if self.peek() == &Tok::RParen {
            return Ok((self.bump().span.end, d));
        }
        loop {
            if !self.can_start_expr() {
                let found = self.peek().describe();
                let what = if args.is_empty() {
                    "an argument"
                } else {
                    "an expression"
                };
                return Err(self.error_here(format!(
                    "expected {what} or `)` to close the call opened at column {}, found {found}",
                    self.col(open)
                )));
            }
            let (arg, ad) = self.or(depth)?;
            d = d.max(ad);
            args.push(arg);
            match self.peek() {
                Tok::Comma => {
                    self.bump();
                }
                Tok::RParen => return Ok((self.bump().span.end, d)),
                other => {
                    let found = other.describe();
                    return Err(self.error_here(format!(
                        "expected `)` to close the call opened at column {}, found {found}",
                        self.col(open)
                    )));
                }
            }
        }
    }

    fn primary(&mut self, depth: u32) -> Result<Parsed, ExprError> {
        let tok = self.bump();
        let span = tok.span;
        let leaf = |node| Ok((Ast { span, node }, 0));
        match tok.tok {
            Tok::Num(n) => leaf(AstNode::Num(n)),
            Tok::Str(s) => leaf(AstNode::Str(s)),
            Tok::Word(w) => match w.as_str() {
                "true" => leaf(AstNode::Bool(true)),
                "false" => leaf(AstNode::Bool(false)),
                "null" => leaf(AstNode::Null),
                "in" => Err(ExprError {
                    span,
                    message: "expected an expression before `in`".to_string(),
                }),
                _ if self.peek() == &Tok::LParen => {
                    let depth = self.deeper(depth, span)?;
                    let mut args = Vec::new();
                    let (end, d) = self.call_args(&mut args, depth)?;
                    let node = AstNode::Call {
                        name: w,
                        name_span: span,
                        args,
                        method: false,
                    };
                    Ok((
                        Ast {
                            span: Span {
                                start: span.start,
                                end,
                            },
                            node,
                        },
                        d + 1,
                    ))
                }
                _ => leaf(AstNode::Ident(w)),
            },
            Tok::LParen => {
                let depth = self.deeper(depth, span)?;
                if !self.can_start_expr() {
                    let found = self.peek().describe();
                    return Err(
                        self.error_here(format!("expected an expression after `(`, found {found}"))
                    );
                }
                let (inner, d) = self.or(depth)?;
                if self.peek() != &Tok::RParen {
                    let found = self.peek().describe();
                    return Err(self.error_here(format!(
                        "expected `)` to close the `(` opened at column {}, found {found}",
                        self.col(span)
                    )));
                }
                self.bump();
                Ok((inner, d))
            }
            Tok::LBracket => {
                let depth = self.deeper(depth, span)?;
                let mut items = Vec::new();
                let mut d = 0;
                loop {
                    if self.peek() == &Tok::RBracket {
                        break;
                    }
                    if !self.can_start_expr() {
                        let found = self.peek().describe();
                        return Err(self.error_here(format!(
                            "expected a list item or `]` to close the list opened at column {}, \
                             found {found}",
                            self.col(span)
                        )));
                    }
                    let (item, id) = self.or(depth)?;
                    d = d.max(id);
                    items.push(item);
                    match self.peek() {
                        Tok::Comma => {
                            self.bump();
                        }
                        Tok::RBracket => break,
                        other => {
                            let found = other.describe();
                            return Err(self.error_here(format!(
                                "expected `,` or `]` to close the list opened at column {}, \
                                 found {found}",
                                self.col(span)
                            )));
                        }
                    }
                }
                let end = self.bump().span.end;
                Ok((
                    Ast {
                        span: Span {
                            start: span.start,
                            end,
                        },
                        node: AstNode::List(items),
                    },
                    d + 1,
                ))
            }
            other => {
                let message = if other == Tok::Eof {
                    "expected an expression, found end of input".to_string()
                } else {
                    format!("expected an expression, found {}", other.describe())
                };
                Err(ExprError { span, message })
            }
        }
    }
}
