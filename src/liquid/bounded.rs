//! Values that cannot grow without bound. A few lines of Liquid double a
//! string or a list on every step (`{% assign s = s | append: s %}` or a
//! `capture` of itself, thirty times over, is gigabytes) without a loop
//! or a byte of output. So every filter's result and every `capture` is
//! measured against the output limit, and the render stops with an error
//! as soon as one passes it.

use std::fmt;
use std::io::Write;

use liquid_core::model::{Value, ValueView};
use liquid_core::parser::FilterArguments;
use liquid_core::{
    BlockReflection, Error, Filter, FilterReflection, Language, ParseBlock, ParseFilter,
    Renderable, Result, Runtime, TagBlock, TagTokenIter, Template,
};

use super::limits::{self, MAX_OUTPUT};

/// Wraps a filter so that its result is measured.
#[derive(Clone)]
pub struct BoundedFilter(pub Box<dyn ParseFilter>);

impl ParseFilter for BoundedFilter {
    fn parse(&self, arguments: FilterArguments<'_>) -> Result<Box<dyn Filter>> {
        Ok(Box::new(Measured(self.0.parse(arguments)?)))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self.0.reflection()
    }
}

#[derive(Debug)]
struct Measured(Box<dyn Filter>);

impl fmt::Display for Measured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Filter for Measured {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let value = self.0.evaluate(input, runtime)?;
        if size_over(&value, MAX_OUTPUT) {
            return Err(Error::with_msg(too_large(&format!("`{}`", self.0))));
        }
        Ok(value)
    }
}

/// Whether `value` takes more than `limit` bytes, give or take: strings by
/// their length, lists and maps by their items plus a little each. Stops
/// counting as soon as the answer is known.
fn size_over(value: &Value, limit: usize) -> bool {
    let mut left = limit;
    let mut stack = vec![value];
    while let Some(value) = stack.pop() {
        let here = match value {
            Value::Scalar(s) => s.to_kstr().len(),
            Value::Array(items) => {
                stack.extend(items.iter());
                items.len() * 16
            }
            Value::Object(map) => {
                stack.extend(map.values());
                map.keys().map(|k| k.len() + 16).sum()
            }
            _ => 0,
        };
        match left.checked_sub(here) {
            Some(rest) => left = rest,
            None => return true,
        }
    }
    false
}

fn too_large(what: &str) -> String {
    format!(
        "{what} made a value larger than {} MB",
        MAX_OUTPUT / (1024 * 1024)
    )
}

/// `{% capture name %}...{% endcapture %}`, capturing at most the output limit.
#[derive(Debug, Clone, Copy)]
pub struct CaptureBlock;

impl BlockReflection for CaptureBlock {
    fn start_tag(&self) -> &str {
        "capture"
    }

    fn end_tag(&self) -> &str {
        "endcapture"
    }

    fn description(&self) -> &str {
        "captures text into a variable, up to the output limit"
    }
}

impl ParseBlock for CaptureBlock {
    fn parse(
        &self,
        mut arguments: TagTokenIter<'_>,
        mut tokens: TagBlock<'_, '_>,
        options: &Language,
    ) -> Result<Box<dyn Renderable>> {
        let name = identifier(&mut arguments)?;
        arguments.expect_nothing()?;
        let body = Template::new(tokens.parse_all(options)?);
        Ok(Box::new(Capture { name, body }))
    }

    fn reflection(&self) -> &dyn BlockReflection {
        self
    }
}

/// A block's first argument: the variable it sets.
pub fn identifier(arguments: &mut TagTokenIter<'_>) -> Result<String> {
    Ok(arguments
        .expect_next("Identifier expected.")?
        .expect_identifier()
        .into_result()?
        .to_string())
}

#[derive(Debug)]
struct Capture {
    name: String,
    body: Template,
}

impl Renderable for Capture {
    fn render_to(&self, _writer: &mut dyn Write, runtime: &dyn Runtime) -> Result<()> {
        let mut captured = limits::Bounded::default();
        let rendered = self.body.render_to(&mut captured, runtime);
        if captured.exceeded {
            return Err(Error::with_msg(too_large(&format!(
                "capture \"{}\"",
                self.name
            ))));
        }
        rendered?;
        let text = String::from_utf8_lossy(&captured.bytes).into_owned();
        runtime.set_global(self.name.clone().into(), Value::scalar(text));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> std::result::Result<String, String> {
        let mut builder = liquid::ParserBuilder::with_stdlib().block(CaptureBlock);
        builder = builder.filter(BoundedFilter(Box::new(liquid_lib::stdlib::Append)));
        let parser = builder.build().map_err(|e| e.to_string())?;
        let template = parser.parse(text).map_err(|e| e.to_string())?;
        template
            .render(&liquid::object!({}))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn doubling_a_string_stops_at_the_limit() {
        let doubling = "{% assign s = \"0123456789\" %}".to_string()
            + &"{% assign s = s | append: s %}".repeat(40);
        let e = render(&doubling).unwrap_err();
        assert!(e.contains("larger than 16 MB"), "{e}");
    }

    #[test]
    fn capturing_itself_stops_at_the_limit() {
        let doubling = "{% capture s %}0123456789{% endcapture %}".to_string()
            + &"{% capture s %}{{ s }}{{ s }}{% endcapture %}".repeat(40);
        let e = render(&doubling).unwrap_err();
        assert!(e.contains("capture \"s\" made a value larger"), "{e}");
        assert_eq!(
            render("{% capture s %}a{{ 1 }}{% endcapture %}{{ s }}{{ s | append: 'b' }}")
                .as_deref(),
            Ok("a1a1b")
        );
    }

    #[test]
    fn sizes_are_counted_deep() {
        let small = Value::array(vec![Value::scalar("ab"); 3]);
        assert!(!size_over(&small, 100));
        assert!(size_over(&small, 20));
    }
}
