# A token for the identity domain, from the provider's `scim` client credentials. It is
# requested when Terraform needs it, revoked when Terraform is done, and never stored.
# A token cannot be extended: obtaining it warns when it lives shorter than a plan or
# apply is expected to take (30m unless said otherwise here).
ephemeral "identity_oauth2_token" "scim" {
  revoke_url            = "https://idcs-example.identity.oraclecloud.com/oauth2/v1/revoke"
  expected_run_duration = "45m"
}

# Use it to configure a second provider instance (here: one that talks SCIM with the
# token only) ...
provider "identity" {
  alias = "with_token"
  scim = {
    url   = "https://idcs-example.identity.oraclecloud.com/admin/v1"
    token = ephemeral.identity_oauth2_token.scim.access_token
  }
}

# ... or hand it to a provisioner or another provider's write-only argument.
resource "terraform_data" "report" {
  provisioner "local-exec" {
    command = "curl -sf -H \"Authorization: Bearer $TOKEN\" https://idcs-example.identity.oraclecloud.com/admin/v1/Users?count=1"
    environment = {
      TOKEN = ephemeral.identity_oauth2_token.scim.access_token
    }
  }
}
