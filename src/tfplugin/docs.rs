//! Registry-layout documentation rendered from schemas (what tfplugindocs does for Go
//! providers): attributes split into Required / Optional / Read-Only, nested schemas,
//! write-only and sensitive marked, validators and plan modifiers in words.

use std::fmt::Write as _;

use super::function::{Parameter, Signature};
use super::schema::{AttrKind, Attribute, Nesting, Schema};
use super::value::Type;

/// What a page documents.
pub enum PageKind {
    Resource,
    DataSource,
    EphemeralResource,
    ListResource,
    Action,
}

impl PageKind {
    fn title(&self) -> &'static str {
        match self {
            PageKind::Resource => "Resource",
            PageKind::DataSource => "Data Source",
            PageKind::EphemeralResource => "Ephemeral Resource",
            PageKind::ListResource => "List Resource",
            PageKind::Action => "Action",
        }
    }
}

/// Renders one page. `example` is HCL, `import` a shell snippet (resources only).
pub fn render_page(
    provider: &str,
    type_name: &str,
    kind: PageKind,
    schema: &Schema,
    example: Option<&str>,
    import: Option<&str>,
) -> String {
    let mut out = String::new();
    let desc = schema.block.description.trim();
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "page_title: \"{type_name} {} - {provider}\"", kind.title());
    let _ = writeln!(out, "subcategory: \"\"");
    let _ = writeln!(out, "description: |-");
    for line in desc.lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "---\n");
    let _ = writeln!(out, "# {type_name} ({})\n", kind.title());
    let _ = writeln!(out, "{desc}\n");
    if let Some(ex) = example {
        let _ = writeln!(out, "## Example Usage\n\n```terraform\n{}\n```\n", ex.trim_end());
    }
    out.push_str(&render_schema(schema));
    if let Some(imp) = import {
        let _ = writeln!(out, "## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}\n```", imp.trim_end());
    }
    out
}

/// Renders the page of a provider-defined function, in the registry's layout for
/// functions: front matter, the description, the example, the signature as Terraform
/// would write it, the arguments in order (a variadic one last) and the return type.
pub fn render_function_page(provider: &str, name: &str, sig: &Signature, example: Option<&str>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "---");
    let _ = writeln!(out, "page_title: \"{name} function - {provider}\"");
    let _ = writeln!(out, "subcategory: \"\"");
    let _ = writeln!(out, "description: |-");
    for line in sig.summary.trim().lines() {
        let _ = writeln!(out, "  {line}");
    }
    let _ = writeln!(out, "---\n");
    let _ = writeln!(out, "# {name} (Function)\n");
    let desc = sig.description.trim();
    let _ = writeln!(out, "{}\n", if desc.is_empty() { sig.summary.trim() } else { desc });
    if let Some(ex) = example {
        let _ = writeln!(out, "## Example Usage\n\n```terraform\n{}\n```\n", ex.trim_end());
    }
    let _ = writeln!(out, "## Signature\n\n```text\n{}\n```\n", function_signature(name, sig));
    let _ = writeln!(out, "## Arguments\n");
    if sig.parameters.is_empty() && sig.variadic.is_none() {
        let _ = writeln!(out, "This function takes no arguments.");
    }
    for (i, p) in sig.parameters.iter().enumerate() {
        let _ = writeln!(out, "{}. {}", i + 1, parameter_line(p, false));
    }
    if let Some(v) = &sig.variadic {
        let _ = writeln!(out, "{}. {}", sig.parameters.len() + 1, parameter_line(v, true));
    }
    let _ = writeln!(out, "\n## Return Type\n\n```text\n{}\n```", type_constraint(&sig.returns, 0));
    out
}

/// `name(a string, rest dynamic...) string`: the signature line of a function page.
pub fn function_signature(name: &str, sig: &Signature) -> String {
    let mut params: Vec<String> = sig.parameters.iter().map(|p| format!("{} {}", p.name, short_type(&p.ty))).collect();
    if let Some(v) = &sig.variadic {
        params.push(format!("{} {}...", v.name, short_type(&v.ty)));
    }
    format!("{name}({}) {}", params.join(", "), short_type(&sig.returns))
}

fn parameter_line(p: &Parameter, variadic: bool) -> String {
    let mut flags = Vec::new();
    if variadic {
        flags.push("Variadic".to_string());
    }
    flags.push(type_words(&p.ty));
    if p.allow_null {
        flags.push("Nullable".to_string());
    }
    format!("`{}` ({}) {}", p.name, flags.join(", "), p.description.trim()).trim_end().to_string()
}

/// A type as the signature line shows it: collections with their element type, objects
/// and tuples by kind only (the Return Type section spells them out).
fn short_type(t: &Type) -> String {
    match t {
        Type::List(e) => format!("list({})", short_type(e)),
        Type::Set(e) => format!("set({})", short_type(e)),
        Type::Map(e) => format!("map({})", short_type(e)),
        Type::Object(_) => "object".into(),
        Type::Tuple(_) => "tuple".into(),
        other => type_constraint(other, 0),
    }
}

/// A type in Terraform's type constraint syntax; an object's attributes one per line,
/// sorted, with their `=` aligned as `terraform fmt` aligns them.
fn type_constraint(t: &Type, indent: usize) -> String {
    match t {
        Type::String => "string".into(),
        Type::Number => "number".into(),
        Type::Bool => "bool".into(),
        Type::Dynamic => "dynamic".into(),
        Type::List(e) => format!("list({})", type_constraint(e, indent)),
        Type::Set(e) => format!("set({})", type_constraint(e, indent)),
        Type::Map(e) => format!("map({})", type_constraint(e, indent)),
        Type::Tuple(items) => format!("tuple([{}])", items.iter().map(|i| type_constraint(i, indent)).collect::<Vec<_>>().join(", ")),
        Type::Object(attrs) if attrs.is_empty() => "object({})".into(),
        Type::Object(attrs) => {
            let width = attrs.keys().map(|k| k.len()).max().unwrap_or(0);
            let pad = "  ".repeat(indent + 1);
            let mut s = String::from("object({\n");
            for (k, v) in attrs {
                let _ = writeln!(s, "{pad}{k:<width$} = {}", type_constraint(v, indent + 1));
            }
            let _ = write!(s, "{}}})", "  ".repeat(indent));
            s
        }
    }
}

/// The `## Schema` section with nested schemas.
pub fn render_schema(schema: &Schema) -> String {
    let mut out = String::from("## Schema\n\n");
    let mut nested: Vec<(String, &[Attribute])> = Vec::new();
    render_attrs(&mut out, &schema.block.attributes, "", &mut nested);
    while !nested.is_empty() {
        let (path, attrs) = nested.remove(0);
        let _ = writeln!(out, "<a id=\"nestedatt--{}\"></a>", path.replace('.', "--"));
        let _ = writeln!(out, "### Nested Schema for `{path}`\n");
        let mut more = Vec::new();
        render_attrs(&mut out, attrs, &format!("{path}."), &mut more);
        nested.extend(more);
    }
    out
}

fn render_attrs<'a>(out: &mut String, attrs: &'a [Attribute], prefix: &str, nested: &mut Vec<(String, &'a [Attribute])>) {
    type Pick = fn(&Attribute) -> bool;
    let groups: [(&str, Pick); 3] =
        [("Required", |a| a.required), ("Optional", |a| a.optional), ("Read-Only", |a| a.computed && !a.optional && !a.required)];
    for (title, pick) in groups {
        let mut sorted: Vec<&Attribute> = attrs.iter().filter(|a| pick(a)).collect();
        if sorted.is_empty() {
            continue;
        }
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let _ = writeln!(out, "### {title}\n");
        for a in sorted {
            let _ = writeln!(out, "- {}", attr_line(a, prefix));
            if let AttrKind::Nested { attributes, .. } = &a.kind {
                nested.push((format!("{prefix}{}", a.name), attributes));
            }
        }
        out.push('\n');
    }
}

fn attr_line(a: &Attribute, prefix: &str) -> String {
    let mut flags = vec![type_name(a)];
    if a.sensitive {
        flags.push("Sensitive".into());
    }
    if a.write_only {
        flags.push("Write-only".into());
    }
    if a.deprecated {
        flags.push("Deprecated".into());
    }
    let mut s = format!("`{}` ({}) {}", a.name, flags.join(", "), a.description.trim());
    for v in &a.validators {
        s.push(' ');
        s.push_str(&v.describe());
    }
    for m in &a.modifiers {
        if *m == super::plan_modifier::PlanModifier::RequiresReplace {
            s.push(' ');
            s.push_str(m.describe());
        }
    }
    if let Some(d) = &a.default {
        let _ = write!(s, " Defaults to `{}`.", super::model::to_json_lossy(d));
    }
    if let AttrKind::Nested { .. } = &a.kind {
        let _ = write!(s, " (see [below for nested schema](#nestedatt--{}))", format!("{prefix}{}", a.name).replace('.', "--"));
    }
    s.trim_end().to_string()
}

fn type_name(a: &Attribute) -> String {
    match &a.kind {
        AttrKind::Typed(t) => type_words(t),
        AttrKind::Nested { nesting, .. } => match nesting {
            Nesting::Single | Nesting::Group => "Attributes".into(),
            Nesting::List => "Attributes List".into(),
            Nesting::Set => "Attributes Set".into(),
            Nesting::Map => "Attributes Map".into(),
        },
    }
}

fn type_words(t: &Type) -> String {
    match t {
        Type::String => "String".into(),
        Type::Number => "Number".into(),
        Type::Bool => "Boolean".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_words(e)),
        Type::Set(e) => format!("Set of {}", type_words(e)),
        Type::Map(e) => format!("Map of {}", type_words(e)),
        Type::Object(_) => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

/// Every attribute (recursively) that has no description, as dotted paths.
pub fn undescribed(schema: &Schema) -> Vec<String> {
    fn walk(attrs: &[Attribute], prefix: &str, out: &mut Vec<String>) {
        for a in attrs {
            let p = format!("{prefix}{}", a.name);
            if a.description.trim().is_empty() {
                out.push(p.clone());
            }
            if let AttrKind::Nested { attributes, .. } = &a.kind {
                walk(attributes, &format!("{p}."), out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&schema.block.attributes, "", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signature() -> Signature {
        Signature {
            parameters: vec![Parameter::new("attribute", Type::String, "The path.")],
            variadic: Some(Parameter::new("value", Type::Dynamic, "The values.").nullable()),
            returns: Type::object([
                ("entity_id", Type::String),
                ("certs", Type::list(Type::object([("pem", Type::String), ("not_after", Type::String)]))),
            ]),
            summary: "One line.",
            description: "Longer *Markdown*.".into(),
        }
    }

    #[test]
    fn a_function_page_has_the_registry_layout() {
        let page = render_function_page("identity", "f", &signature(), Some("output \"x\" {\n  value = 1\n}\n"));
        let want = r#"---
page_title: "f function - identity"
subcategory: ""
description: |-
  One line.
---

# f (Function)

Longer *Markdown*.

## Example Usage

```terraform
output "x" {
  value = 1
}
```

## Signature

```text
f(attribute string, value dynamic...) object
```

## Arguments

1. `attribute` (String) The path.
2. `value` (Variadic, Dynamic, Nullable) The values.

## Return Type

```text
object({
  certs     = list(object({
    not_after = string
    pem       = string
  }))
  entity_id = string
})
```
"#;
        assert_eq!(page, want);
    }

    #[test]
    fn signatures_spell_types_as_terraform_does() {
        let mut sig = signature();
        sig.variadic = None;
        sig.parameters.push(Parameter::new("tags", Type::map(Type::list(Type::Number)), "Tags."));
        sig.returns = Type::Bool;
        assert_eq!(function_signature("g", &sig), "g(attribute string, tags map(list(number))) bool");
        sig.parameters.clear();
        let page = render_function_page("identity", "g", &sig, None);
        assert!(page.contains("## Arguments\n\nThis function takes no arguments.\n"), "{page}");
        assert!(!page.contains("## Example Usage"));
        assert!(page.ends_with("## Return Type\n\n```text\nbool\n```\n"), "{page}");
    }

    #[test]
    fn action_pages_are_titled_action() {
        let schema = Schema::new("Does a thing.", vec![Attribute::string("issuer").required().describe("The issuer.")]);
        let page = render_page("identity", "identity_thing", PageKind::Action, &schema, None, None);
        assert!(page.starts_with("---\npage_title: \"identity_thing Action - identity\"\n"), "{page}");
        assert!(page.contains("# identity_thing (Action)\n"), "{page}");
    }
}
