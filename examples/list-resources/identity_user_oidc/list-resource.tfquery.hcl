# terraform query
list "identity_user_oidc" "by_user" {
  provider = identity

  config {
    user_id = "9124292845052624898"
  }
}
