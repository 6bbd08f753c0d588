# terraform query
list "identity_scim_group" "all" {
  provider = identity

  config {
    filter = provider::identity::scim_filter("displayName", "sw", "app-")
  }
}
