variable "oidc_client_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}

# An OIDC identity provider for Run:ai. The client secret is write-only: it is sent to
# Run:ai but never stored in the Terraform state. To rotate it, change the secret and
# bump client_secret_wo_version.
resource "identity_idp" "example" {
  name = "corp-oidc"
  type = "oidc"

  oidc = {
    client_id                = "runai"
    client_secret_wo         = var.oidc_client_secret
    client_secret_wo_version = 1
    discover_document_url    = "https://login.example.com/.well-known/openid-configuration"
    scopes                   = ["openid", "email", "profile", "groups"]

    mandatory_claim = {
      claim  = "groups"
      values = ["runai-users"]
    }
  }
}

output "redirect_uri" {
  description = "Register this redirect URI with the identity provider."
  value       = identity_idp.example.redirect_uri
}

# A SAML identity provider: Run:ai fetches the IdP's metadata from the URL (or pass
# the document itself with metadata_xml_file = file("idp-metadata.xml")).
resource "identity_idp" "saml" {
  name = "corp-saml"
  type = "saml"

  saml = {
    metadata_xml_url = "https://login.example.com/saml/metadata.xml"
  }
}

variable "openshift_client_secret" {
  type      = string
  sensitive = true
  ephemeral = true
}

# OpenShift v4 as the identity provider.
resource "identity_idp" "openshift" {
  name = "openshift"
  type = "openshift-v4"

  ocp = {
    idp_base_url             = "https://api.cluster.example.com:6443"
    client_id                = "runai"
    client_secret_wo         = var.openshift_client_secret
    client_secret_wo_version = 1
  }

  mappers = {
    uid    = "sub"
    groups = "groups"
  }
}
