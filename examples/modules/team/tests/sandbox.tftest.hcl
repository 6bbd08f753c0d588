# Runs against a real API: identity-sandbox, or a test tenant. The provider reads its
# URLs and credentials from the environment (IDENTITY_SCIM_URL, IDENTITY_RUNAI_URL, ...).

variables {
  name = "tftest-team"
  members = {
    "ada@tftest.example.com"   = { given_name = "Ada", family_name = "Lovelace" }
    "grace@tftest.example.com" = { given_name = "Grace", family_name = "Hopper" }
  }
  oidc = {
    client_id             = "runai"
    discover_document_url = "https://login.example.com/.well-known/openid-configuration"
  }
  oidc_client_secret = "tftest-secret"
}

run "create_the_team" {
  command = apply

  assert {
    condition     = length(output.member_ids) == 2
    error_message = "Both users exist."
  }

  assert {
    condition     = toset(identity_scim_group.team.members) == toset(values(output.member_ids))
    error_message = "The group holds exactly the team's users."
  }

  assert {
    condition     = output.idp_alias == "tftest-team-sso"
    error_message = "Run:ai names the idp's alias after its name."
  }

  assert {
    condition     = endswith(output.redirect_uri, "/tftest-team-sso/endpoint")
    error_message = "The redirect URI ends with the alias."
  }
}

run "grace_is_a_member_on_the_server" {
  module {
    source = "./tests/membership"
  }

  variables {
    user_id = run.create_the_team.member_ids["grace@tftest.example.com"]
  }

  assert {
    condition     = output.group_names == ["tftest-team"]
    error_message = "The server lists Grace in the team's group."
  }
}

run "a_member_leaves" {
  command = apply

  variables {
    members = {
      "ada@tftest.example.com" = { given_name = "Ada", family_name = "Lovelace" }
    }
  }

  assert {
    condition     = length(identity_scim_group.team.members) == 1 && contains(identity_scim_group.team.members, output.member_ids["ada@tftest.example.com"])
    error_message = "Only Ada is left in the group."
  }
}

run "after_grace_left_on_the_server" {
  module {
    source = "./tests/membership"
  }

  variables {
    user_id = run.create_the_team.member_ids["grace@tftest.example.com"]
  }

  assert {
    condition     = output.group_names == []
    error_message = "After she left the team (and her user was deleted), the server lists Grace in no group."
  }
}

run "ada_is_still_a_member_on_the_server" {
  module {
    source = "./tests/membership"
  }

  variables {
    user_id = run.create_the_team.member_ids["ada@tftest.example.com"]
  }

  assert {
    condition     = output.group_names == ["tftest-team"]
    error_message = "Ada stays in the team's group."
  }
}
