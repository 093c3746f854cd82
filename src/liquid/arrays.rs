//! Jekyll's filters that take arguments and that the liquid crate lacks:
//! `where_exp`, `find`, `find_exp`, `group_by`, `group_by_exp` (array
//! filters real themes and posts use to list posts), `to_integer`,
//! `inspect`, the ordinal forms of `date_to_string`/`date_to_long_string`,
//! and `smartify`; and `join` as Ruby Liquid reads its input.
//!
//! The `*_exp` filters take a Liquid expression as a string. It is parsed
//! with the liquid crate's own grammar (as the condition of an `if`, or the
//! output of `{{ }}`), never picked apart by hand, and evaluated with the
//! item bound to the filter's variable name. Like Jekyll's, the expression
//! sees that variable; unlike Jekyll's, not the rest of the page.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use liquid_core::model::{Object, ScalarCow};
use liquid_core::parser::{FilterArguments, ParameterReflection};
use liquid_core::{
    Error, Expression, Filter, FilterReflection, ParseFilter, Result, Runtime, Value, ValueView,
};

type Apply = dyn Fn(&dyn ValueView, &[Value]) -> Result<Value> + Send + Sync;

/// A filter given its input and its evaluated positional arguments.
#[derive(Clone)]
pub struct WithArgs {
    name: &'static str,
    apply: Arc<Apply>,
}

impl WithArgs {
    fn new(
        name: &'static str,
        apply: impl Fn(&dyn ValueView, &[Value]) -> Result<Value> + Send + Sync + 'static,
    ) -> WithArgs {
        WithArgs {
            name,
            apply: Arc::new(apply),
        }
    }
}

impl FilterReflection for WithArgs {
    fn name(&self) -> &str {
        self.name
    }
    fn description(&self) -> &str {
        ""
    }
    fn positional_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
    fn keyword_parameters(&self) -> &'static [ParameterReflection] {
        &[]
    }
}

impl ParseFilter for WithArgs {
    fn parse(&self, arguments: FilterArguments<'_>) -> Result<Box<dyn Filter>> {
        Ok(Box::new(WithArgsFilter {
            filter: self.clone(),
            args: arguments.positional.collect(),
        }))
    }

    fn reflection(&self) -> &dyn FilterReflection {
        self
    }
}

struct WithArgsFilter {
    filter: WithArgs,
    args: Vec<Expression>,
}

impl fmt::Debug for WithArgsFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.filter.name)
    }
}

impl fmt::Display for WithArgsFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.filter.name)
    }
}

impl Filter for WithArgsFilter {
    fn evaluate(&self, input: &dyn ValueView, runtime: &dyn Runtime) -> Result<Value> {
        let args = self
            .args
            .iter()
            .map(|e| e.evaluate(runtime).map(|v| v.to_value()))
            .collect::<Result<Vec<_>>>()?;
        (self.filter.apply)(input, &args)
    }
}

/// The argument at `i` as text; an error naming the filter when missing.
fn arg(name: &str, args: &[Value], i: usize) -> Result<String> {
    args.get(i)
        .map(|v| v.to_kstr().to_string())
        .ok_or_else(|| Error::with_msg(format!("`{name}` needs {} argument(s)", i + 1)))
}

/// The input's items; a single value counts as one item, nil as none.
fn items(input: &dyn ValueView) -> Vec<Value> {
    if let Some(array) = input.as_array() {
        array.values().map(|v| v.to_value()).collect()
    } else if input.is_nil() {
        Vec::new()
    } else {
        vec![input.to_value()]
    }
}

/// `item.property`, nil when the item is no object or lacks it.
fn property(item: &Value, name: &str) -> Value {
    item.as_object()
        .and_then(|o| o.get(name))
        .map(|v| v.to_value())
        .unwrap_or(Value::Nil)
}

/// Expression templates compiled once per distinct expression text.
#[derive(Default)]
struct Expressions {
    parser: Mutex<Option<Arc<liquid::Parser>>>,
    compiled: Mutex<HashMap<String, Arc<liquid::Template>>>,
}

impl Expressions {
    fn template(&self, source: String) -> Result<Arc<liquid::Template>> {
        if let Some(template) = self.lock_compiled().get(&source) {
            return Ok(template.clone());
        }
        let parser = {
            let mut parser = self.parser.lock().unwrap_or_else(|p| p.into_inner());
            match &*parser {
                Some(parser) => parser.clone(),
                None => {
                    let built = Arc::new(liquid::ParserBuilder::with_stdlib().build()?);
                    *parser = Some(built.clone());
                    built
                }
            }
        };
        let template = Arc::new(parser.parse(&source)?);
        self.lock_compiled().insert(source, template.clone());
        Ok(template)
    }

    fn lock_compiled(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<liquid::Template>>> {
        self.compiled.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `{% if expression %}` with `variable` bound to `item`.
    fn test(&self, variable: &str, expression: &str, item: &Value) -> Result<bool> {
        let template = self.template(format!("{{% if {expression} %}}1{{% endif %}}"))?;
        Ok(render(&template, variable, item)? == "1")
    }

    /// `{{ expression }}` with `variable` bound to `item`.
    fn text(&self, variable: &str, expression: &str, item: &Value) -> Result<String> {
        let template = self.template(format!("{{{{ {expression} }}}}"))?;
        render(&template, variable, item)
    }
}

fn render(template: &liquid::Template, variable: &str, item: &Value) -> Result<String> {
    let mut globals = Object::new();
    globals.insert(variable.to_string().into(), item.clone());
    template.render(&globals)
}

/// Jekyll's group: `{ name, items, size }`, in order of first appearance.
fn groups(keyed: Vec<(String, Value)>) -> Value {
    let mut order: Vec<(String, Vec<Value>)> = Vec::new();
    for (key, item) in keyed {
        match order.iter_mut().find(|(k, _)| *k == key) {
            Some((_, items)) => items.push(item),
            None => order.push((key, vec![item])),
        }
    }
    Value::Array(
        order
            .into_iter()
            .map(|(name, items)| {
                let mut group = Object::new();
                group.insert("name".into(), Value::scalar(name));
                group.insert("size".into(), Value::scalar(items.len() as i64));
                group.insert("items".into(), Value::Array(items));
                Value::Object(group)
            })
            .collect(),
    )
}

/// Every filter of this module.
pub fn filters() -> Vec<Box<dyn ParseFilter>> {
    let expressions = Arc::new(Expressions::default());
    let (e1, e2, e3) = (expressions.clone(), expressions.clone(), expressions);
    vec![
        Box::new(WithArgs::new("where_exp", move |input, args| {
            let (variable, expression) = (arg("where_exp", args, 0)?, arg("where_exp", args, 1)?);
            let mut kept = Vec::new();
            for item in items(input) {
                if e1.test(&variable, &expression, &item)? {
                    kept.push(item);
                }
            }
            Ok(Value::Array(kept))
        })),
        Box::new(WithArgs::new("find_exp", move |input, args| {
            let (variable, expression) = (arg("find_exp", args, 0)?, arg("find_exp", args, 1)?);
            for item in items(input) {
                if e2.test(&variable, &expression, &item)? {
                    return Ok(item);
                }
            }
            Ok(Value::Nil)
        })),
        Box::new(WithArgs::new("group_by_exp", move |input, args| {
            let variable = arg("group_by_exp", args, 0)?;
            let expression = arg("group_by_exp", args, 1)?;
            let keyed = items(input)
                .into_iter()
                .map(|item| Ok((e3.text(&variable, &expression, &item)?, item)))
                .collect::<Result<Vec<_>>>()?;
            Ok(groups(keyed))
        })),
        Box::new(WithArgs::new("group_by", |input, args| {
            let name = arg("group_by", args, 0)?;
            let keyed = items(input)
                .into_iter()
                .map(|item| (property(&item, &name).to_kstr().to_string(), item))
                .collect();
            Ok(groups(keyed))
        })),
        Box::new(WithArgs::new("find", |input, args| {
            let (name, wanted) = (arg("find", args, 0)?, arg("find", args, 1)?);
            Ok(items(input)
                .into_iter()
                .find(|item| property(item, &name).to_kstr() == wanted.as_str())
                .unwrap_or(Value::Nil))
        })),
        Box::new(WithArgs::new("to_integer", |input, _| {
            Ok(Value::scalar(to_integer(input)))
        })),
        Box::new(WithArgs::new("inspect", |input, _| {
            Ok(Value::scalar(crate::html::escape(&inspect(input))))
        })),
        Box::new(WithArgs::new("date_to_string", |input, args| {
            Ok(Value::scalar(stringify_date(input, "%b", args)))
        })),
        Box::new(WithArgs::new("date_to_long_string", |input, args| {
            Ok(Value::scalar(stringify_date(input, "%B", args)))
        })),
        Box::new(WithArgs::new("smartify", |input, _| {
            Ok(Value::scalar(smartify(&input.to_kstr())))
        })),
        Box::new(WithArgs::new("join", |input, args| {
            let glue = args.first().map_or(" ".into(), |glue| glue.to_kstr());
            let joined: Vec<String> = flattened(input)
                .iter()
                .map(|item| item.to_kstr().to_string())
                .collect();
            Ok(Value::scalar(joined.join(glue.as_str())))
        })),
    ]
}

/// The input's items as Ruby Liquid's `join` takes them: nested arrays
/// flattened, a single value as one item (the liquid crate refused a
/// string: a `jobs: Faculty` where a list was expected took a post down).
fn flattened(input: &dyn ValueView) -> Vec<Value> {
    let mut out = Vec::new();
    for item in items(input) {
        if item.as_array().is_some() {
            out.extend(flattened(&item));
        } else {
            out.push(item);
        }
    }
    out
}

/// Ruby's `to_i`: the leading integer of text, 0 when there is none.
fn to_integer(input: &dyn ValueView) -> i64 {
    match input.as_scalar().map(ScalarCow::into_owned) {
        Some(scalar) => {
            if let Some(b) = scalar.to_bool() {
                return i64::from(b);
            }
            if let Some(i) = scalar.to_integer() {
                return i;
            }
            if let Some(f) = scalar.to_float() {
                return f.trunc() as i64;
            }
            let text = scalar.to_kstr();
            let text = text.trim_start();
            let end = text
                .char_indices()
                .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && matches!(c, '-' | '+'))))
                .map_or(text.len(), |(i, _)| i);
            text[..end].parse().unwrap_or(0)
        }
        None => 0,
    }
}

/// Ruby's `inspect`, which Jekyll's filter shows: `["a", "b"]`, `{"k"=>1}`, `nil`.
fn inspect(value: &dyn ValueView) -> String {
    if let Some(array) = value.as_array() {
        let items: Vec<String> = array.values().map(inspect).collect();
        return format!("[{}]", items.join(", "));
    }
    if let Some(object) = value.as_object() {
        let items: Vec<String> = object
            .iter()
            .map(|(k, v)| format!("{:?}=>{}", k.as_str(), inspect(v)))
            .collect();
        return format!("{{{}}}", items.join(", "));
    }
    if value.is_nil() {
        return "nil".into();
    }
    match value.as_scalar() {
        Some(s) if s.to_integer().is_some() || s.to_float().is_some() || s.to_bool().is_some() => {
            s.to_kstr().to_string()
        }
        _ => format!("{:?}", value.to_kstr().as_str()),
    }
}

/// Jekyll's `date_to_string`/`date_to_long_string` with optional
/// `"ordinal"` and `"US"` arguments: `02 Jan 2020`, `2nd Jan 2020`, `Jan 2nd, 2020`.
fn stringify_date(input: &dyn ValueView, month: &str, args: &[Value]) -> String {
    let text = input.to_kstr();
    let Some(date) = crate::post::date::parse(&text, chrono_tz::UTC) else {
        return text.to_string();
    };
    let kind = args.first().map(|v| v.to_kstr().to_string());
    let style = args.get(1).map(|v| v.to_kstr().to_string());
    if kind.as_deref() != Some("ordinal") {
        return date.format(&format!("%d {month} %Y")).to_string();
    }
    use chrono::Datelike;
    let day = date.day();
    let suffix = match (day % 100, day % 10) {
        (11..=13, _) => "th",
        (_, 1) => "st",
        (_, 2) => "nd",
        (_, 3) => "rd",
        _ => "th",
    };
    let month = date.format(month);
    let year = date.format("%Y");
    if style.as_deref() == Some("US") {
        format!("{month} {day}{suffix}, {year}")
    } else {
        format!("{day}{suffix} {month} {year}")
    }
}

/// Typographic punctuation as kramdown's SmartyPants gives it: curly
/// quotes and apostrophes, en and em dashes, an ellipsis.
fn smartify(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let previous = if i == 0 { None } else { Some(chars[i - 1]) };
        let opens = previous.is_none_or(|p| p.is_whitespace() || "([{-–—".contains(p));
        match c {
            '-' if chars.get(i + 1) == Some(&'-') && chars.get(i + 2) == Some(&'-') => {
                out.push('—');
                i += 2;
            }
            '-' if chars.get(i + 1) == Some(&'-') => {
                out.push('–');
                i += 1;
            }
            '.' if chars.get(i + 1) == Some(&'.') && chars.get(i + 2) == Some(&'.') => {
                out.push('…');
                i += 2;
            }
            '\'' => out.push(if opens { '‘' } else { '’' }),
            '"' => out.push(if opens { '“' } else { '”' }),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinal_dates_follow_jekyll() {
        let date = Value::scalar("2020-01-02 21:15:00 -0800");
        let args = [Value::scalar("ordinal"), Value::scalar("US")];
        assert_eq!(stringify_date(&date, "%b", &args), "Jan 2nd, 2020");
        assert_eq!(stringify_date(&date, "%B", &args[..1]), "2nd January 2020");
        assert_eq!(stringify_date(&date, "%b", &[]), "02 Jan 2020");
        let eleventh = Value::scalar("2020-01-11");
        assert_eq!(stringify_date(&eleventh, "%b", &args[..1]), "11th Jan 2020");
    }

    #[test]
    fn to_integer_reads_a_leading_number_like_ruby() {
        assert_eq!(to_integer(&Value::scalar("42abc")), 42);
        assert_eq!(to_integer(&Value::scalar("-7")), -7);
        assert_eq!(to_integer(&Value::scalar("x")), 0);
        assert_eq!(to_integer(&Value::scalar(3.9)), 3);
        assert_eq!(to_integer(&Value::scalar(true)), 1);
    }

    #[test]
    fn smartify_curls_quotes_and_makes_dashes() {
        assert_eq!(
            smartify("Don't -- \"quote\" --- 'x' ... it"),
            "Don’t – “quote” — ‘x’ … it"
        );
    }

    #[test]
    fn inspect_writes_ruby_literals() {
        let value = Value::Array(vec![Value::scalar("a"), Value::scalar(1), Value::Nil]);
        assert_eq!(inspect(&value), "[\"a\", 1, nil]");
    }
}
