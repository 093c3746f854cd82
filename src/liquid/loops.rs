//! `for` and `tablerow`, as Liquid defines them, but bounded: the liquid
//! crate's own blocks build the whole range in memory before the first
//! iteration (`(1..100000000)` took 5.6 GB) and nested loops multiply
//! without limit. Here a loop works out how many times it will run from
//! the range's ends, `offset` and `limit`, takes that from the post's
//! budget (`limits`), and only then makes the values it needs.

use std::collections::HashMap;
use std::io::Write;

use liquid_core::error::ResultLiquidExt;
use liquid_core::model::{KStringRef, Object, Value, ValueCow, ValueView};
use liquid_core::parser::{BlockElement, TryMatchToken};
use liquid_core::runtime::{Interrupt, InterruptRegister, StackFrame};
use liquid_core::{
    BlockReflection, Error, Expression, Language, ParseBlock, Renderable, Result, Runtime,
    TagBlock, TagTokenIter, Template,
};
use liquid_lib::stdlib::{Range, RangeExpression};

use super::limits;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    For,
    TableRow,
}

/// The block for `for` or `tablerow`.
#[derive(Debug, Clone, Copy)]
pub struct LoopBlock(pub Kind);

impl BlockReflection for LoopBlock {
    fn start_tag(&self) -> &str {
        match self.0 {
            Kind::For => "for",
            Kind::TableRow => "tablerow",
        }
    }

    fn end_tag(&self) -> &str {
        match self.0 {
            Kind::For => "endfor",
            Kind::TableRow => "endtablerow",
        }
    }

    fn description(&self) -> &str {
        "a loop, bounded by the post's iteration budget"
    }
}

#[derive(Debug)]
struct Loop {
    kind: Kind,
    var_name: String,
    range: RangeExpression,
    limit: Option<Expression>,
    offset: Option<Expression>,
    cols: Option<Expression>,
    reversed: bool,
    body: Template,
    otherwise: Option<Template>,
}

impl ParseBlock for LoopBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let var_name = super::bounded::identifier(&mut arguments)?;
        arguments
            .expect_next("\"in\" expected.")?
            .expect_str("in")
            .into_result_custom_msg("\"in\" expected.")?;
        let range = match arguments
            .expect_next("Array or range expected.")?
            .expect_value()
        {
            TryMatchToken::Matches(array) => RangeExpression::Array(array),
            TryMatchToken::Fails(token) => match token.expect_range() {
                TryMatchToken::Matches((start, stop)) => RangeExpression::Counted(start, stop),
                TryMatchToken::Fails(token) => return token.raise_error().into_err(),
            },
        };
        let mut parsed = Loop {
            kind: self.0,
            var_name,
            range,
            limit: None,
            offset: None,
            cols: None,
            reversed: false,
            body: Template::new(Vec::new()),
            otherwise: None,
        };
        while let Some(token) = arguments.next() {
            match (token.as_str(), self.0) {
                ("limit", _) => parsed.limit = Some(attribute(&mut arguments)?),
                ("offset", _) => parsed.offset = Some(attribute(&mut arguments)?),
                ("cols", Kind::TableRow) => parsed.cols = Some(attribute(&mut arguments)?),
                ("reversed", Kind::For) => parsed.reversed = true,
                _ => {
                    return token
                        .raise_custom_error(
                            "\"limit\", \"offset\", \"cols\" or \"reversed\" expected.",
                        )
                        .into_err();
                }
            }
        }
        arguments.expect_nothing()?;
        let mut body = Vec::new();
        while let Some(element) = tokens.next()? {
            match element {
                BlockElement::Tag(tag) if tag.name() == "else" && self.0 == Kind::For => {
                    parsed.otherwise = Some(Template::new(tokens.parse_all(options)?));
                    break;
                }
                BlockElement::Tag(tag) => body.push(tag.parse(&mut tokens, options)?),
                element => body.push(element.parse(&mut tokens, options)?),
            }
        }
        parsed.body = Template::new(body);
        Ok(Box::new(parsed))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

/// `limit: 3` after the range.
fn attribute(arguments: &mut TagTokenIter<'_>) -> Result<Expression> {
    arguments
        .expect_next("\":\" expected.")?
        .expect_str(":")
        .into_result_custom_msg("\":\" expected.")?;
    arguments
        .expect_next("Value expected.")?
        .expect_value()
        .into_result()
}

impl Renderable for Loop {
    fn render_to(&self, writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let range = self.range.evaluate(runtime)?;
        let limit = whole_number(self.limit.as_ref(), runtime)?;
        let offset = whole_number(self.offset.as_ref(), runtime)?.unwrap_or(0);
        let mut items = self.items(&range, limit, offset)?;
        if self.reversed {
            items.reverse();
        }
        if items.is_empty() {
            if let Some(otherwise) = &self.otherwise {
                otherwise.render_to(writer, runtime)?;
            }
            return Ok(());
        }
        match self.kind {
            Kind::For => self.render_for(&items, writer, runtime),
            Kind::TableRow => {
                let cols = whole_number(self.cols.as_ref(), runtime)?;
                self.render_table(&items, cols, writer, runtime)
            }
        }
    }
}

impl Loop {
    /// The values the loop will take, made only after the budget allowed them.
    fn items<'r>(
        &self,
        range: &'r Range<'r>,
        limit: Option<usize>,
        offset: usize,
    ) -> Result<Vec<ValueCow<'r>>> {
        let (start, len) = match range {
            Range::Counted(start, stop) => (*start, (*stop as i128 - *start as i128 + 1).max(0)),
            Range::Array(_) => (0, 0),
        };
        let all: Vec<ValueCow<'r>> = match range {
            Range::Array(_) => range.evaluate()?,
            Range::Counted(..) => Vec::new(),
        };
        let len = if matches!(range, Range::Array(_)) {
            all.len() as i128
        } else {
            len
        };
        let offset = (offset as i128).min(len);
        let count = limit.map_or(len - offset, |l| (l as i128).min(len - offset));
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        limits::spend_iterations(count)
            .map_err(|why| Error::with_msg(format!("{why}: loop over \"{}\"", self.range)))?;
        Ok(match range {
            Range::Array(_) => all
                .into_iter()
                .skip(offset as usize)
                .take(count as usize)
                .collect(),
            Range::Counted(..) => (0..count as i64)
                .map(|i| Value::scalar(start + offset as i64 + i).into())
                .collect(),
        })
    }

    /// What one iteration sees: the loop's counters and the current item.
    fn scope<'a>(
        &'a self,
        counters_name: &'a str,
        counters: &'a Value,
        item: &'a ValueCow<'_>,
    ) -> HashMap<KStringRef<'a>, &'a dyn ValueView> {
        let mut root = HashMap::<KStringRef<'a>, &'a dyn ValueView>::new();
        root.insert(counters_name.into(), counters);
        root.insert(self.var_name.as_str().into(), item.as_view());
        root
    }

    fn render_for(
        &self,
        items: &[ValueCow<'_>],
        writer: &mut dyn Write,
        runtime: &dyn Runtime,
    ) -> Result<()> {
        let parent = runtime
            .try_get(&[liquid_core::model::Scalar::new("forloop")])
            .map(|v| v.to_value());
        for (i, item) in items.iter().enumerate() {
            let mut forloop = position(i, items.len());
            if let Some(parent) = &parent {
                forloop.insert("parentloop".into(), parent.clone());
            }
            let forloop = Value::Object(forloop);
            let root = self.scope("forloop", &forloop, item);
            let scope = StackFrame::new(runtime, &root);
            self.body
                .render_to(writer, &scope)
                .trace_with(|| format!("{{% for {} in {} %}}", self.var_name, self.range).into())?;
            let interrupt = scope.registers().get_mut::<InterruptRegister>().reset();
            if let Some(Interrupt::Break) = interrupt {
                break;
            }
        }
        Ok(())
    }

    fn render_table(
        &self,
        items: &[ValueCow<'_>],
        cols: Option<usize>,
        writer: &mut dyn Write,
        runtime: &dyn Runtime,
    ) -> Result<()> {
        let len = items.len();
        let cols = cols.filter(|&c| c > 0).unwrap_or(len);
        let failed = |e: std::io::Error| Error::with_msg(format!("Failed to render: {e}"));
        for (i, item) in items.iter().enumerate() {
            let (col, row) = (i % cols, i / cols);
            let mut tablerow = position(i, len);
            tablerow.insert("col0".into(), Value::scalar(col as i64));
            tablerow.insert("col".into(), Value::scalar(col as i64 + 1));
            tablerow.insert("col_first".into(), Value::scalar(col == 0));
            let col_last = col + 1 == cols || i + 1 == len;
            tablerow.insert("col_last".into(), Value::scalar(col_last));
            let tablerow = Value::Object(tablerow);
            let root = self.scope("tablerow", &tablerow, item);
            if col == 0 {
                write!(writer, "<tr class=\"row{}\">", row + 1).map_err(failed)?;
            }
            write!(writer, "<td class=\"col{}\">", col + 1).map_err(failed)?;
            self.body
                .render_to(writer, &StackFrame::new(runtime, &root))?;
            write!(writer, "</td>").map_err(failed)?;
            if col_last {
                write!(writer, "</tr>").map_err(failed)?;
            }
        }
        Ok(())
    }
}

/// `forloop`'s (and `tablerow`'s) counters for item `i` of `len`.
fn position(i: usize, len: usize) -> Object {
    let (i, len) = (i as i64, len as i64);
    let mut object = Object::new();
    for (key, value) in [
        ("length", len),
        ("index0", i),
        ("index", i + 1),
        ("rindex0", len - i - 1),
        ("rindex", len - i),
    ] {
        object.insert(key.into(), Value::scalar(value));
    }
    object.insert("first".into(), Value::scalar(i == 0));
    object.insert("last".into(), Value::scalar(i == len - 1));
    object
}

fn whole_number(expression: Option<&Expression>, runtime: &dyn Runtime) -> Result<Option<usize>> {
    let Some(expression) = expression else {
        return Ok(None);
    };
    let value = expression.evaluate(runtime)?;
    let number = value
        .as_scalar()
        .and_then(|s| s.to_integer())
        .ok_or_else(|| {
            Error::with_msg(format!("expected a whole number, got {}", value.source()))
        })?;
    Ok(Some(usize::try_from(number).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    fn render(text: &str) -> Result<String, String> {
        super::limits::start_post();
        let parser = liquid::ParserBuilder::with_stdlib()
            .block(super::LoopBlock(super::Kind::For))
            .block(super::LoopBlock(super::Kind::TableRow))
            .build()
            .map_err(|e| e.to_string())?;
        let template = parser.parse(text).map_err(|e| e.to_string())?;
        template
            .render(&liquid::object!({ "list": [1, 2, 3] }))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn loops_behave_as_liquid_defines_them() {
        let cases = [
            ("{% for i in (1..3) %}{{ i }}{% endfor %}", "123"),
            ("{% for i in list reversed %}{{ i }}{% endfor %}", "321"),
            (
                "{% for i in (1..10) offset:2 limit:3 %}{{ i }}{% endfor %}",
                "345",
            ),
            (
                "{% for i in list %}{{ forloop.index }}/{{ forloop.length }}{% if forloop.last %}!{% endif %} {% endfor %}",
                "1/3 2/3 3/3! ",
            ),
            (
                "{% for i in (1..2) %}{% for j in (1..2) %}{{ forloop.parentloop.index }}{{ j }} {% endfor %}{% endfor %}",
                "11 12 21 22 ",
            ),
            ("{% for i in (5..1) %}x{% else %}empty{% endfor %}", "empty"),
            (
                "{% for i in list %}{% if i == 2 %}{% break %}{% endif %}{{ i }}{% endfor %}",
                "1",
            ),
            (
                "{% for i in list %}{% if i == 2 %}{% continue %}{% endif %}{{ i }}{% endfor %}",
                "13",
            ),
            (
                "{% tablerow i in list cols:2 %}{{ i }}{% endtablerow %}",
                "<tr class=\"row1\"><td class=\"col1\">1</td><td class=\"col2\">2</td></tr><tr class=\"row2\"><td class=\"col1\">3</td></tr>",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(render(text).as_deref(), Ok(expected), "{text}");
        }
    }

    #[test]
    fn a_huge_range_is_refused_before_it_is_built() {
        let e = render("{% for i in (1..100000000) %}{% endfor %}").unwrap_err();
        assert!(e.contains("more than 1000000 times"), "{e}");
        assert!(e.contains("(1..100000000)"), "{e}");
        assert_eq!(
            render("{% for i in (1..100000000) limit:2 %}{{ i }}{% endfor %}").as_deref(),
            Ok("12")
        );
    }

    #[test]
    fn nested_loops_share_the_budget() {
        let e = render("{% for i in (1..2000) %}{% for j in (1..2000) %}{% endfor %}{% endfor %}")
            .unwrap_err();
        assert!(e.contains("more than"), "{e}");
    }
}
