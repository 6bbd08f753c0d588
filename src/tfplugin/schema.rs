//! Schemas, declared with a builder: attributes (with their planning and validation
//! declarations), nested attributes and nested blocks.

use super::plan_modifier::PlanModifier;
use super::validator::Validator;
use super::value::{Type, Value};

/// The schema of a provider, resource, data source or ephemeral resource.
#[derive(Clone, Debug)]
pub struct Schema {
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(description: impl Into<String>, attributes: Vec<Attribute>) -> Self {
        Schema { version: 0, block: Block { attributes, blocks: Vec::new(), description: description.into(), deprecated: false } }
    }
    pub fn version(mut self, v: i64) -> Self {
        self.version = v;
        self
    }
    pub fn with_blocks(mut self, blocks: Vec<NestedBlock>) -> Self {
        self.block.blocks = blocks;
        self
    }
    /// The cty object type of a whole value under this schema.
    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.block.attributes.iter().find(|a| a.name == name)
    }
}

#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub description: String,
    pub deprecated: bool,
}

impl Block {
    pub fn value_type(&self) -> Type {
        let mut fields: Vec<(String, Type)> = self.attributes.iter().map(|a| (a.name.clone(), a.value_type())).collect();
        fields.extend(self.blocks.iter().map(|b| (b.type_name.clone(), b.value_type())));
        Type::object(fields)
    }
}

/// How a nested attribute or block holds its objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    Single,
    List,
    Set,
    Map,
    /// Blocks only: a single block that is never null.
    Group,
}

#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub type_name: String,
    pub block: Block,
    pub nesting: Nesting,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn new(type_name: &str, nesting: Nesting, block: Block) -> Self {
        NestedBlock { type_name: type_name.to_string(), block, nesting, min_items: 0, max_items: 0 }
    }
    pub fn value_type(&self) -> Type {
        wrap(self.nesting, self.block.value_type())
    }
}

fn wrap(nesting: Nesting, t: Type) -> Type {
    match nesting {
        Nesting::Single | Nesting::Group => t,
        Nesting::List => Type::list(t),
        Nesting::Set => Type::set(t),
        Nesting::Map => Type::map(t),
    }
}

/// What an attribute holds: a value of a type, or nested attributes.
#[derive(Clone, Debug)]
pub enum AttrKind {
    Typed(Type),
    Nested { nesting: Nesting, attributes: Vec<Attribute> },
}

/// One attribute with its declarations. Build with the constructors and chain the
/// flag methods: `Attribute::string("name").required().requires_replace().describe("...")`.
#[derive(Clone, Debug)]
pub struct Attribute {
    pub name: String,
    pub kind: AttrKind,
    pub description: String,
    pub required: bool,
    pub optional: bool,
    pub computed: bool,
    pub sensitive: bool,
    pub write_only: bool,
    pub deprecated: bool,
    pub validators: Vec<Validator>,
    pub modifiers: Vec<PlanModifier>,
    /// Planned when the configuration leaves the attribute null (optional+computed).
    pub default: Option<Value>,
}

impl Attribute {
    pub fn typed(name: &str, ty: Type) -> Self {
        Attribute {
            name: name.to_string(),
            kind: AttrKind::Typed(ty),
            description: String::new(),
            required: false,
            optional: false,
            computed: false,
            sensitive: false,
            write_only: false,
            deprecated: false,
            validators: Vec::new(),
            modifiers: Vec::new(),
            default: None,
        }
    }
    pub fn string(name: &str) -> Self {
        Self::typed(name, Type::String)
    }
    pub fn number(name: &str) -> Self {
        Self::typed(name, Type::Number)
    }
    pub fn bool(name: &str) -> Self {
        Self::typed(name, Type::Bool)
    }
    pub fn list_of(name: &str, elem: Type) -> Self {
        Self::typed(name, Type::list(elem))
    }
    pub fn set_of(name: &str, elem: Type) -> Self {
        Self::typed(name, Type::set(elem))
    }
    pub fn map_of(name: &str, elem: Type) -> Self {
        Self::typed(name, Type::map(elem))
    }
    pub fn nested(name: &str, nesting: Nesting, attributes: Vec<Attribute>) -> Self {
        let mut a = Self::typed(name, Type::Dynamic);
        a.kind = AttrKind::Nested { nesting, attributes };
        a
    }
    /// A single nested object: `name = { ... }`.
    pub fn object(name: &str, attributes: Vec<Attribute>) -> Self {
        Self::nested(name, Nesting::Single, attributes)
    }

    pub fn describe(mut self, d: impl Into<String>) -> Self {
        self.description = d.into();
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
    pub fn computed(mut self) -> Self {
        self.computed = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    /// Write-only: accepted in configuration, never stored in plan or state.
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    pub fn deprecated(mut self) -> Self {
        self.deprecated = true;
        self
    }
    pub fn validate(mut self, v: Validator) -> Self {
        self.validators.push(v);
        self
    }
    pub fn modifier(mut self, m: PlanModifier) -> Self {
        self.modifiers.push(m);
        self
    }
    /// Changing the value replaces the resource.
    pub fn requires_replace(self) -> Self {
        self.modifier(PlanModifier::RequiresReplace)
    }
    /// A computed value that keeps its prior value instead of becoming unknown on update.
    pub fn use_state_for_unknown(self) -> Self {
        self.modifier(PlanModifier::UseStateForUnknown)
    }
    /// The value planned when the configuration leaves it null; makes it optional+computed.
    pub fn default_value(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self.optional = true;
        self.computed = true;
        self
    }

    pub fn has_modifier(&self, m: PlanModifier) -> bool {
        self.modifiers.contains(&m)
    }
    pub fn nested_attributes(&self) -> Option<(Nesting, &[Attribute])> {
        match &self.kind {
            AttrKind::Nested { nesting, attributes } => Some((*nesting, attributes)),
            AttrKind::Typed(_) => None,
        }
    }
    /// The cty type of the attribute's value.
    pub fn value_type(&self) -> Type {
        match &self.kind {
            AttrKind::Typed(t) => t.clone(),
            AttrKind::Nested { nesting, attributes } => {
                wrap(*nesting, Type::object(attributes.iter().map(|a| (a.name.clone(), a.value_type()))))
            }
        }
    }
}

/// A resource identity schema (Terraform 1.12+): the attributes that identify a remote
/// object. Each is named like the state attribute it is read from.
#[derive(Clone, Debug)]
pub struct IdentitySchema {
    pub version: i64,
    pub attributes: Vec<IdentityAttribute>,
}

#[derive(Clone, Debug)]
pub struct IdentityAttribute {
    pub name: String,
    pub ty: Type,
    pub description: String,
    /// Needed in an `import` block's `identity` (else optional).
    pub required_for_import: bool,
}

impl IdentitySchema {
    /// Identity attributes, all required for import.
    pub fn required(attrs: &[(&str, Type, &str)]) -> Self {
        IdentitySchema {
            version: 0,
            attributes: attrs
                .iter()
                .map(|(n, t, d)| IdentityAttribute {
                    name: n.to_string(),
                    ty: t.clone(),
                    description: d.to_string(),
                    required_for_import: true,
                })
                .collect(),
        }
    }
    pub fn value_type(&self) -> Type {
        Type::object(self.attributes.iter().map(|a| (a.name.clone(), a.ty.clone())))
    }
    /// The identity of a state: its identity attributes; None unless all are known and
    /// the required ones are set.
    pub fn identity_of(&self, state: &Value) -> Option<Value> {
        if state.is_null() {
            return None;
        }
        let mut m = std::collections::BTreeMap::new();
        for a in &self.attributes {
            let v = state.get(&a.name);
            if !v.is_wholly_known() || (a.required_for_import && v.is_null()) {
                return None;
            }
            m.insert(a.name.clone(), v.clone());
        }
        Some(Value::Object(m))
    }
}
