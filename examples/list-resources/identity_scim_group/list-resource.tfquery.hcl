# terraform query
list "identity_scim_group" "all" {
  provider = identity

  config {
    filter = "displayName sw \"app-\""
  }
}
