//! Attribute plan modifiers: declarations the plan engine (`plan.rs`) acts on.

/// What happens to an attribute's planned value beyond the engine's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanModifier {
    /// A change of this attribute destroys and re-creates the resource.
    RequiresReplace,
    /// A computed value that does not change on update: keep the prior value rather
    /// than planning it unknown.
    UseStateForUnknown,
    /// Like `UseStateForUnknown`, but only while the named sibling attributes (in the
    /// same object) keep their prior values: a value the server derives from them.
    UseStateUnlessChanged(&'static [&'static str]),
    /// The server compares (and may rewrite) this string without regard to ASCII case:
    /// a configured value equal to the prior one but for case is no change.
    CaseInsensitive,
}

impl PlanModifier {
    /// A sentence for the generated documentation.
    pub fn describe(&self) -> &'static str {
        match self {
            PlanModifier::RequiresReplace => "Changing this forces a new resource to be created.",
            PlanModifier::UseStateForUnknown => "The value does not change after creation.",
            PlanModifier::UseStateUnlessChanged(_) => "The value changes only when its inputs change.",
            PlanModifier::CaseInsensitive => "Compared without regard to case.",
        }
    }
}
