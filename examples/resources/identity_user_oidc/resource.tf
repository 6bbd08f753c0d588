# Lets Fudo user 9124292845052624898 log in through the OpenID Connect configuration
# 9124292845052624897 when the identity provider's token carries this `sub` claim.
# Fudo ids are 64-bit numbers: write them as strings, in quotes.
resource "identity_user_oidc" "john" {
  user_id  = "9124292845052624898"
  oidc_id  = "9124292845052624897"
  oidc_sub = "john.doe@example.com"
}

output "john_logs_in_with" {
  value = identity_user_oidc.john.oidc_name
}
