//! Registry-layout documentation rendered from schemas (what tfplugindocs does for Go
//! providers): attributes split into Required / Optional / Read-Only, nested schemas,
//! write-only and sensitive marked, validators and plan modifiers in words.

use std::fmt::Write as _;

use super::schema::{AttrKind, Attribute, Nesting, Schema};
use super::value::Type;

/// What a page documents.
pub enum PageKind {
    Resource,
    DataSource,
    EphemeralResource,
    ListResource,
}

impl PageKind {
    fn title(&self) -> &'static str {
        match self {
            PageKind::Resource => "Resource",
            PageKind::DataSource => "Data Source",
            PageKind::EphemeralResource => "Ephemeral Resource",
            PageKind::ListResource => "List Resource",
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
