variable "idp_metadata_xml" {
  description = "The identity provider's SAML 2.0 metadata, e.g. file(\"idp-metadata.xml\")."
  type        = string
}

locals {
  idp = provider::identity::saml_metadata(var.idp_metadata_xml)
}

resource "identity_idp" "corp" {
  name = "corp-saml"
  type = "saml"
  saml = {
    metadata_xml_file = var.idp_metadata_xml
  }
}

# Warn 30 days before a signing certificate of the IdP expires.
check "idp_signing_certificates" {
  assert {
    condition = alltrue([
      for c in local.idp.signing_certificates : timecmp(c.not_after, timeadd(plantimestamp(), "720h")) > 0
    ])
    error_message = "A signing certificate of ${local.idp.entity_id} expires within 30 days."
  }
}

output "idp_entity_id" {
  value = local.idp.entity_id
}

output "idp_redirect_url" {
  value = local.idp.sso_urls["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"]
}
