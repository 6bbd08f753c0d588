variable "name" {
  description = "The team's name: the SCIM group's display name and the prefix of its identity provider's name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9_-]+$", var.name))
    error_message = "The name must be lower-case letters, digits, '-' or '_' (Run:ai's rule for identity provider names)."
  }
}

variable "members" {
  description = "The team's people, by user name (their e-mail address)."
  type = map(object({
    given_name  = string
    family_name = string
  }))
  default = {}
}

variable "oidc" {
  description = "The OIDC client Run:ai signs the team in with."
  type = object({
    client_id             = string
    discover_document_url = string
    secret_version        = optional(number, 1)
  })
}

variable "oidc_client_secret" {
  description = "The OIDC client secret. Write-only: sent to Run:ai, never stored in plan or state. Bump oidc.secret_version to send a new one."
  type        = string
  sensitive   = true
  ephemeral   = true
}
