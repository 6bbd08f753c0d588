# Provider functions under a mock provider: Terraform still calls the real provider's
# functions (only resources and data sources are mocked), with no provider configuration.
mock_provider "identity" {}

run "scim_filter_quotes_values" {
  command = plan

  assert {
    condition     = output.filter == "userName eq \"jane.o\\\"neil@example.com\""
    error_message = "scim_filter quoted ${var.email} as ${output.filter}"
  }
  assert {
    condition     = output.present == "title pr"
    error_message = "scim_filter with pr gave ${output.present}"
  }
  assert {
    condition     = output.combined == "active eq true and urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber ge 1000"
    error_message = "combined filter: ${output.combined}"
  }
}

run "saml_metadata_reads_the_document" {
  command = plan

  assert {
    condition     = output.idp.entity_id == "https://idp.example.com/saml/metadata"
    error_message = "entity_id: ${output.idp.entity_id}"
  }
  assert {
    condition     = output.idp.sso_urls["urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"] == "https://idp.example.com/saml/sso"
    error_message = "sso_urls: ${jsonencode(output.idp.sso_urls)}"
  }
  assert {
    condition     = length(output.idp.signing_certificates) == 1
    error_message = "signing_certificates: ${length(output.idp.signing_certificates)}"
  }
  assert {
    condition     = output.idp.signing_certificates[0].not_after == "2126-10-29T15:11:39Z"
    error_message = "not_after: ${output.idp.signing_certificates[0].not_after}"
  }
  assert {
    condition     = output.idp.signing_certificates[0].subject == "CN=idp.sandbox.test, O=identity-sandbox"
    error_message = "subject: ${output.idp.signing_certificates[0].subject}"
  }
  assert {
    condition     = startswith(output.idp.signing_certificates[0].pem, "-----BEGIN CERTIFICATE-----\nMIIDTzCCAjegAwIBAgIU")
    error_message = "pem: ${output.idp.signing_certificates[0].pem}"
  }
}

run "fudo_ids_stay_exact" {
  command = plan

  variables {
    assignment_id = "18446744073709551615/9124292845052624897"
  }

  assert {
    condition     = output.assignment.user_id == "18446744073709551615" && output.assignment.oidc_id == "9124292845052624897"
    error_message = "parse_user_oidc_id: ${jsonencode(output.assignment)}"
  }
  assert {
    condition     = output.assignment_id == var.assignment_id
    error_message = "user_oidc_id: ${output.assignment_id}"
  }
}

run "functions_feed_mocked_resources" {
  command = apply

  variables {
    idp_name = "corp-sso_2"
  }

  assert {
    condition     = output.alias == "corp-sso_2"
    error_message = "idp_alias: ${output.alias}"
  }
  assert {
    condition     = identity_scim_group.team.display_name == "team-corp-sso_2"
    error_message = "display_name: ${identity_scim_group.team.display_name}"
  }
}
