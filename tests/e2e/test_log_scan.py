"""The session-end log scan (conftest.scan_logs) can fail: planted secrets,
sanitizer reports and valgrind errors in temporary logs are reported with
their file and line, and the secret itself is never printed. The temporary
logs are not registered, so the session itself stays clean.

    /usr/bin/python3 -m pytest -q tests/e2e/test_log_scan.py
"""

import os
import subprocess
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from conftest import LOGS, redact, scan_logs  # noqa: E402

SECRET = "sk-planted-7f3a9c2e41d84b6e9a0c5d17"
TOKEN = "Zk3_Qm9aPwL0xYt7Rb2nVc8-Ud4sHe6gJf1iKo5lMpNqOrSuTvWxYzAbCdEfGhI"


def write(tmp_path, name, lines):
    p = tmp_path / name
    p.write_text("".join(ln + "\n" for ln in lines))
    return str(p)


def test_clean_log_has_no_findings(tmp_path):
    p = write(tmp_path, "clean.stderr", [
        '{"level":"info","msg":"reconciled","configmap":"ns/llm-config"}',
        '{"level":"error","msg":"token request failed","status":401,"error":"AADSTS7000215"}'])
    problems, st = scan_logs([p], [SECRET], [TOKEN[-6:]])
    assert problems == []
    assert st["logs"] == 1 and st["bytes"] > 0


def test_planted_secret_reported_with_line_and_redacted(tmp_path):
    p = write(tmp_path, "leak.stderr", [
        '{"level":"info","msg":"starting"}',
        '{"level":"debug","msg":"token","value":"Bearer %s"}' % SECRET])
    problems, _ = scan_logs([p], [SECRET])
    assert len(problems) == 1, problems
    assert problems[0].startswith(p + ":2: "), problems
    assert SECRET not in problems[0]
    assert redact(SECRET) in problems[0] and SECRET[:4] in redact(SECRET)
    assert SECRET[4:12] not in redact(SECRET)


def test_token_known_by_suffix_reported_only_inside_a_token(tmp_path):
    leak = write(tmp_path, "token.stderr", ["ok", "Authorization: Bearer " + TOKEN])
    problems, _ = scan_logs([leak], [], [TOKEN[-6:]])
    assert len(problems) == 1 and problems[0].startswith(leak + ":2: "), problems
    assert TOKEN not in problems[0] and TOKEN[-6:] not in problems[0]
    # the same six characters on their own are not a token
    short = write(tmp_path, "short.stderr", ['{"id":"%s"}' % TOKEN[-6:]])
    assert scan_logs([short], [], [TOKEN[-6:]])[0] == []


def test_sanitizer_reports_reported(tmp_path):
    reports = {
        "asan": "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010",
        "lsan": "==4242==ERROR: LeakSanitizer: detected memory leaks",
        "ubsan": "controller/json.c:120:9: runtime error: signed integer overflow",
        "ubsan-summary": "SUMMARY: UndefinedBehaviorSanitizer: undefined-behavior controller/x.c:1:1",
    }
    for name, line in reports.items():
        p = write(tmp_path, name + ".stderr", ['{"level":"info","msg":"x"}', "", line])
        problems, _ = scan_logs([p], [])
        assert any(q.startswith(p + ":3: sanitizer report") for q in problems), (name, problems)


VG_HEAD = ["==77== Memcheck, a memory error detector",
           "==77== Command: foundry-controller run"]


def test_valgrind_errors_leaks_and_missing_summary_reported(tmp_path):
    bad = write(tmp_path, "vg-1-1.log", VG_HEAD + [
        "==77== Invalid read of size 8",
        "==77==    definitely lost: 48 bytes in 2 blocks",
        "==77== ERROR SUMMARY: 3 errors from 3 contexts (suppressed: 0 from 0)"])
    killed = write(tmp_path, "vg-1-2.log", VG_HEAD)
    clean = write(tmp_path, "vg-1-3.log", VG_HEAD + [
        "==77==    definitely lost: 0 bytes in 0 blocks",
        "==77== ERROR SUMMARY: 0 errors from 0 contexts (suppressed: 0 from 0)"])
    problems, st = scan_logs([bad, killed, clean], [], valgrind=True)
    assert any(q.startswith(bad + ":5: valgrind: ERROR SUMMARY: 3 errors") for q in problems), problems
    assert any(q.startswith(bad + ":4: valgrind: definitely lost: 48 bytes") for q in problems), problems
    assert any(q.startswith(killed + ": no valgrind ERROR SUMMARY") for q in problems), problems
    assert not any(q.startswith(clean) for q in problems), problems
    assert (st["valgrind_logs"], st["valgrind_errors"], st["definitely_lost_bytes"],
            st["valgrind_incomplete"]) == (3, 3, 48, 1)
    # without valgrind mode the memcheck logs are only scanned for secrets and sanitizers
    assert scan_logs([bad, killed, clean], [])[0] == []


def test_temporary_logs_are_not_registered(tmp_path):
    assert not [p for p in LOGS if p.startswith(str(tmp_path))]


def plant_registered(tmp_path):
    """Collected only in the child session of the test below (its
    python_functions names it): registers a log holding a secret and an
    ASan report (the child session must then fail)."""
    from conftest import register_log, register_secret
    p = tmp_path / "controller-1.stderr"
    p.write_text('{"msg":"ok"}\nBearer %s\n==9==ERROR: AddressSanitizer: SEGV\n' % SECRET)
    register_secret(SECRET)
    register_log(str(p))


def test_session_fails_on_a_finding(tmp_path):
    """A whole pytest session whose only test passes, but which registered a
    log with a secret and an ASan report, exits 1 and names both findings
    (the secret redacted)."""
    env = dict(os.environ)
    env.pop("FC_VALGRIND", None)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        "--basetemp", str(tmp_path / "child"),
                        "-o", "python_functions=plant_registered",
                        os.path.abspath(__file__)],
                       capture_output=True, text=True, timeout=120, env=env,
                       cwd=os.path.dirname(os.path.abspath(__file__)))
    out = p.stdout + p.stderr
    assert "1 passed" in out, out
    assert p.returncode == 1, out
    assert "LOG SCAN FAILED: 2 findings" in out, out
    assert "controller-1.stderr:2: contains a registered secret " + redact(SECRET) in out, out
    assert "controller-1.stderr:3: sanitizer report: ==9==ERROR: AddressSanitizer: SEGV" in out, out
    assert SECRET not in out, out
