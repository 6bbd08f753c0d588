//! Attribute plan modifiers: declarations the plan engine (`plan.rs`) acts on.

/// What happens to an attribute's planned value beyond the engine's defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanModifier {
    /// A change of this attribute destroys and re-creates the resource.
    RequiresReplace,
    /// A computed value that does not change on update: keep the prior value rather
    /// than planning it unknown.
    UseStateForUnknown,
}

impl PlanModifier {
    /// A sentence for the generated documentation.
    pub fn describe(&self) -> &'static str {
        match self {
            PlanModifier::RequiresReplace => "Changing this forces a new resource to be created.",
            PlanModifier::UseStateForUnknown => "The value does not change after creation.",
        }
    }
}
