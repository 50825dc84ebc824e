"""The `teams` context: what is accepted, and the message a person gets for each mistake."""

import pytest

from mcp_constructs.teams import Team, TeamsConfigError, parse_teams


def test_absent_or_empty_means_no_teams():
    assert parse_teams(None) == ()
    assert parse_teams("") == ()
    assert parse_teams([]) == ()


def test_list_from_cdk_json_and_json_string_from_the_command_line_agree():
    as_list = [{"name": "support", "access": "read"}, {"name": "ops-eu", "access": "write"}]
    as_string = '[{"name": "support", "access": "read"}, {"name": "ops-eu", "access": "write"}]'
    expected = (Team("support", "read"), Team("ops-eu", "write"))
    assert parse_teams(as_list) == expected
    assert parse_teams(as_string) == expected


def test_access_level_picks_the_scope_and_ids_are_camel_case():
    read, write = parse_teams(
        '[{"name":"support","access":"read"},{"name":"ops-eu","access":"write"}]'
    )
    assert (read.scope_name(), write.scope_name()) == ("read", "invoke")
    assert write.scope_name("call") == "call"  # write teams get the app's own invoke scope
    assert (read.id_suffix, write.id_suffix) == ("Support", "OpsEu")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("[{name: support}]", 'context "teams" is not valid JSON'),
        ('{"name": "support", "access": "read"}', "must be a list of objects"),
        ('["support"]', 'context "teams"[0] must be an object'),
        ('[{"name": "Support", "access": "read"}]', "lowercase letters, digits or hyphens"),
        ('[{"name": "ops_eu", "access": "read"}]', "lowercase letters, digits or hyphens"),
        ('[{"name": "ops-", "access": "read"}]', "not ending with a hyphen"),
        ('[{"name": "' + "a" * 33 + '", "access": "read"}]', "1-32 lowercase"),
        ('[{"name": "default", "access": "read"}]', "reserved"),
        ('[{"access": "read"}]', "name None"),
        ('[{"name": "ops", "access": "admin"}]', "access 'admin' must be \"read\""),
        ('[{"name": "ops"}]', "access None"),
        ('[{"name": "ops", "access": "read", "scope": "x"}]', "unknown key(s) scope"),
        (
            '[{"name": "ops", "access": "read"}, {"name": "ops", "access": "write"}]',
            'context "teams"[1]: team "ops" is already defined at index 0',
        ),
        (
            '[{"name": "ops-eu", "access": "read"}, {"name": "opseu", "access": "read"}]',
            None,
        ),
    ],
)
def test_mistakes_are_reported_with_position_and_fix(raw, message):
    if message is None:  # distinct ids: accepted
        assert len(parse_teams(raw)) == 2
        return
    with pytest.raises(TeamsConfigError) as err:
        parse_teams(raw)
    assert message in str(err.value)


def test_names_differing_only_in_hyphens_are_rejected():
    with pytest.raises(TeamsConfigError, match="differ only in hyphens"):
        parse_teams('[{"name": "ops-eu", "access": "read"}, {"name": "ops--eu", "access": "read"}]')


def _config(**context):
    from stacks.config import load_config

    return load_config(context.get, environ={})


def test_app_config_reads_teams_and_policy_mode():
    config = _config(teams='[{"name": "support", "access": "read"}]', policyMode="log_only")
    assert config.teams == (Team("support", "read"),)
    assert config.policy_mode == "LOG_ONLY"
    assert _config().teams == () and _config().policy_mode == "ENFORCE"


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"teams": '[{"name": "ops"}]'}, 'context "teams"[0] ("ops"): access None'),
        (
            {"teams": '[{"name": "ops", "access": "read"}]', "extraClients": "ops"},
            "team 'ops' has the name of an app client in 'extraClients'",
        ),
        ({"scope": "read"}, "'scope'='read' is reserved for read-only teams"),
        ({"policyMode": "AUDIT"}, "'policyMode'='AUDIT' is not valid: use ENFORCE"),
    ],
)
def test_app_config_errors_name_the_key(context, message):
    from stacks.config import ConfigError

    with pytest.raises(ConfigError) as err:
        _config(**context)
    assert message in str(err.value)
