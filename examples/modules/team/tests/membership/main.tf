# Reads, from the server, the groups a user is a member of: the sandbox test checks
# membership where it decides access, not only in Terraform's state.

terraform {
  required_providers {
    identity = {
      source = "idfabric/identity"
    }
  }
}

variable "user_id" {
  type = string
}

data "identity_scim_groups" "of_user" {
  member_user_id = var.user_id
}

output "group_names" {
  value = [for g in data.identity_scim_groups.of_user.groups : g.display_name]
}
