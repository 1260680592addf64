"""The command line (DESIGN.md §5): help, version, usage errors, exit codes.

Needs no cluster and no Azure: every test here runs the binary alone, with an
environment cleared of FOUNDRY_*, KUBECONFIG and AZURE_* so that the
developer's shell cannot change the outcome.

    FC_BIN=$PWD/bin/foundry-controller /usr/bin/python3 -m pytest -q tests/e2e/test_cli.py
"""

import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("FC_BIN") or os.path.join(REPO, "bin", "foundry-controller")
USAGE_HINT = "Run 'foundry-controller --help' for usage."
# A run that gets past the command line and stops at once, now and once run
# is implemented: no cluster to reach, no servers to bind.
QUICK_RUN = ["--kubeconfig", "/nonexistent", "--metrics-bind-address=0",
             "--health-probe-bind-address=0"]


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("FOUNDRY_", "AZURE_")) and k != "KUBECONFIG"}
    env.update(extra or {})
    return env


def fc(*args, env=None):
    """Runs the binary; returns the CompletedProcess (text)."""
    if not os.access(BIN, os.X_OK):
        pytest.fail("no executable at %s (run `make` or set FC_BIN)" % BIN)
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=20,
                          env=clean_env(env), stdin=subprocess.DEVNULL)


def assert_usage_error(p, *needles):
    """Exit 2, nothing on stdout, one error line naming the culprit + the hint."""
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 2, p.stderr
    assert lines[0].startswith("foundry-controller: "), p.stderr
    for n in needles:
        assert n in lines[0], (n, p.stderr)
    assert lines[1] == USAGE_HINT


# ---- help ------------------------------------------------------------------

@pytest.mark.parametrize("args", [["--help"], ["-h"], ["help"]])
def test_top_level_help(args):
    p = fc(*args)
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    for sub in ("verify -f PATH", "render -f PATH", "version", "help"):
        assert sub in p.stdout
    # the default subcommand is run: its flags are listed too
    assert "--catalog-ttl" in p.stdout and "FOUNDRY_CATALOG_TTL" in p.stdout


RUN_FLAGS = [
    ("--kubeconfig", "FOUNDRY_KUBECONFIG"),
    ("--namespace", "FOUNDRY_NAMESPACE"),
    ("--configmap-name", "FOUNDRY_CONFIGMAP_NAME"),
    ("--metrics-bind-address", "FOUNDRY_METRICS_BIND_ADDRESS"),
    ("--health-probe-bind-address", "FOUNDRY_HEALTH_PROBE_BIND_ADDRESS"),
    ("--leader-elect", "FOUNDRY_LEADER_ELECT"),
    ("--leader-election-namespace", "FOUNDRY_LEADER_ELECTION_NAMESPACE"),
    ("--leader-election-id", "FOUNDRY_LEADER_ELECTION_ID"),
    ("--azure-validation", "FOUNDRY_AZURE_VALIDATION"),
    ("--catalog-ttl", "FOUNDRY_CATALOG_TTL"),
    ("--deployment-ttl", "FOUNDRY_DEPLOYMENT_TTL"),
    ("--suggest-regions", "FOUNDRY_SUGGEST_REGIONS"),
    ("--retirement-warning", "FOUNDRY_RETIREMENT_WARNING"),
    ("--log-format", "FOUNDRY_LOG_FORMAT"),
    ("--log-level", "FOUNDRY_LOG_LEVEL"),
    ("--azure-cloud", "FOUNDRY_AZURE_CLOUD"),
    ("--azure-arm-endpoint", "FOUNDRY_AZURE_ARM_ENDPOINT"),
    ("--azure-imds-endpoint", "FOUNDRY_AZURE_IMDS_ENDPOINT"),
    ("--azure-ca-file", "FOUNDRY_AZURE_CA_FILE"),
]


@pytest.mark.parametrize("args", [["run", "--help"], ["run", "-h"], ["help", "run"]])
def test_run_help_lists_every_flag(args):
    p = fc(*args)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("Usage: foundry-controller [run]")
    for flag, env in RUN_FLAGS:
        assert flag in p.stdout, flag
        assert env in p.stdout, env
    for default in ("Default 1h.", "Default 5m.", "Default :8080.", "Default :8081.",
                    "Default llm-config.", "Default enforce.", "Default 2160h"):
        assert default in p.stdout, default


@pytest.mark.parametrize("sub,flags", [
    ("verify", ["-f, --filename", "-o, --output", "--check-deployments", "--suggest-regions",
                "--retirement-warning", "--azure-cloud", "--azure-arm-endpoint"]),
    ("render", ["-f, --filename", "--configmap-name"]),
    ("version", []),
])
def test_subcommand_help(sub, flags):
    # --help needs none of the subcommand's required arguments
    p = fc(sub, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("Usage: foundry-controller %s" % sub)
    for f in flags:
        assert f in p.stdout, f


def test_help_is_not_blocked_by_a_bad_env():
    p = fc("--help", env={"FOUNDRY_CATALOG_TTL": "forever"})
    assert p.returncode == 0, p.stderr


# ---- version ---------------------------------------------------------------

@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version(args):
    p = fc(*args)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("foundry-controller ")
    assert len(lines[0].split()) == 2 and lines[0].split()[1]
    for lib in ("libcurl/", "cJSON/", "libyaml/", "libwebsockets/"):
        assert lib in p.stdout, lib


# ---- usage errors: exit 2 and a one-line message naming the flag -----------

@pytest.mark.parametrize("args,needles", [
    (["--foo"], ['unknown flag --foo for "run"']),
    (["run", "--foo=1"], ['unknown flag --foo for "run"']),
    (["verify", "m.yaml", "--bogus"], ['unknown flag --bogus for "verify"']),
    (["verify", "m.yaml", "--namespace", "x"], ['unknown flag --namespace for "verify"']),
    (["render", "m.yaml", "-o", "json"], ['unknown flag -o for "render"']),
    (["version", "--foo"], ['unknown flag --foo for "version"']),
    (["frobnicate"], ['unknown subcommand "frobnicate"']),
    (["run", "extra"], ['unexpected argument "extra" for "run"']),
    (["--namespace"], ["flag --namespace needs a value"]),
    (["verify"], ['"verify" needs at least one manifest', "-f PATH"]),
    (["render"], ['"render" needs at least one manifest']),
    (["verify", "m.yaml", "-o", "xml"], ['invalid value "xml" for -o']),
    (["--leader-elect=maybe"], ['invalid value "maybe" for --leader-elect']),
    (["--leader-elect", "false"], ["--leader-elect=false"]),
    (["--log-format", "xml"], ['invalid value "xml" for --log-format']),
    (["--log-level=loud"], ['invalid value "loud" for --log-level']),
    (["--azure-validation", "strict"], ['invalid value "strict" for --azure-validation']),
    (["--metrics-bind-address", "8080"], ['invalid value "8080" for --metrics-bind-address']),
    (["--health-probe-bind-address=:70000"],
     ['invalid value ":70000" for --health-probe-bind-address', "0-65535"]),
    (["--suggest-regions", "East US"], ["--suggest-regions", "not a region name"]),
    (["--azure-arm-endpoint", "http://arm.example.com"],
     ["--azure-arm-endpoint", "must be https"]),
    (["--namespace", "Not_A_Namespace"], ["--namespace"]),
])
def test_usage_errors(args, needles):
    assert_usage_error(fc(*args), *needles)


@pytest.mark.parametrize("flag", ["--catalog-ttl", "--deployment-ttl", "--resync-period",
                                  "--retirement-warning"])
@pytest.mark.parametrize("value,why", [
    ("abc", "not a duration (use e.g. 90s, 5m, 1h)"),
    ("5", "missing unit"),
    ("5d", "unknown unit"),
    ("-5m", "must not be negative"),
    ("9999999h", "too large"),
])
def test_bad_duration(flag, value, why):
    want = 'invalid value "%s" for %s: %s' % (value, flag, why)
    assert_usage_error(fc(flag, value), want)
    assert_usage_error(fc("run", "%s=%s" % (flag, value)), want)


def test_bad_duration_in_env_names_the_variable():
    p = fc("run", env={"FOUNDRY_CATALOG_TTL": "1 hour"})
    assert_usage_error(p, 'invalid value "1 hour" for FOUNDRY_CATALOG_TTL')


def test_flag_wins_over_a_bad_env():
    # The bad env value is never read, so the run gets past flag parsing.
    p = fc("run", "--catalog-ttl", "5m", *QUICK_RUN, env={"FOUNDRY_CATALOG_TTL": "bogus"})
    assert "FOUNDRY_CATALOG_TTL" not in p.stderr
    assert USAGE_HINT not in p.stderr


def test_unknown_cloud():
    assert_usage_error(fc("--azure-cloud", "Mars"),
                       'unknown --azure-cloud "Mars": use AzurePublicCloud, '
                       "AzureChinaCloud or AzureUSGovernment")
    assert_usage_error(fc("verify", "m.yaml", "--azure-cloud=Mars"), "--azure-cloud")
    assert_usage_error(fc("run", env={"FOUNDRY_AZURE_CLOUD": "Mars"}), "FOUNDRY_AZURE_CLOUD")


@pytest.mark.parametrize("cloud", ["AzurePublicCloud", "AzureChinaCloud", "AzureUSGovernment"])
def test_known_clouds_parse(cloud):
    # Accepted by the parser: whatever happens next, it is not a usage error.
    for args in (["verify", "--azure-cloud", cloud, "/nonexistent.yaml"],
                 ["run", "--azure-cloud=" + cloud.lower()] + QUICK_RUN):
        p = fc(*args)
        assert USAGE_HINT not in p.stderr, p.stderr


# ---- the subcommands themselves: bad input is a clear error ------------------

@pytest.mark.parametrize("args,code,needle", [
    (["run", *QUICK_RUN], 1, "kubeconfig /nonexistent: no such file"),
    (["verify", "-f", "/nonexistent.yaml"], 2, "/nonexistent.yaml: No such file"),
    (["render", "-f", "/nonexistent.yaml"], 2, "/nonexistent.yaml: No such file"),
])
def test_subcommand_bad_input_is_a_clear_error(args, code, needle):
    p = fc(*args)
    assert p.returncode == code, (p.returncode, p.stderr)
    assert needle in p.stderr, p.stderr
    assert "not implemented" not in p.stderr
    assert p.stdout == ""
