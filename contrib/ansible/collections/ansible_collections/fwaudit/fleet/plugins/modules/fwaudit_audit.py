#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see the fwaudit project)
"""Ansible module: run ``fwaudit audit`` on the managed host and return its JSON document (or,
with ``snapshot``, ``fwaudit snapshot``: the host as it is, to audit elsewhere)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: fwaudit_audit
short_description: Audit a host's firewall, sockets and policy with fwaudit
description:
  - Runs C(fwaudit audit --format json) on the managed host and returns the audit document
    (schema C(fwaudit.audit/1)) as structured data in RV(report).
  - Auditing only reads the host, so the module never reports C(changed) and runs the same way
    in check mode.
  - Findings are data, not failures - a host with findings is a successful audit with
    RV(failing=true). The module fails only when fwaudit could not audit (exit code 2, bad input
    such as an invalid policy, or 3, an environment problem such as missing privileges), with
    fwaudit's message.
  - With O(snapshot=true) it runs C(fwaudit snapshot) instead and returns the host's snapshot
    (listeners, rulesets, interfaces, routes; format C(fwaudit.snapshot/1)) in RV(snapshot), to
    be audited centrally with C(fwaudit audit --snapshot FILE); no policy is needed on the host.
version_added: "0.1.0"
author:
  - fwaudit developers
options:
  policy:
    description: Path of the policy file (YAML) on the managed host (required unless O(snapshot=true)).
    type: path
  snapshot:
    description: Take a snapshot of the host (C(fwaudit snapshot)) instead of auditing it.
    type: bool
    default: false
  target:
    description:
      - Where to look, as fwaudit's C(--target) - C(host) (the root network namespace, PID 1's),
        C(netns:NAME), C(pid:PID) or C(container:NAME).
      - C(auto) audits the network namespace the module itself runs in - the one the SSH
        server that Ansible reached lives in. It resolves to C(host) when that is the root
        namespace, to C(netns:NAME) when an C(ip netns) name points at it, and to the module's
        own C(pid:PID) otherwise. Use it for hosts that are network namespaces or containers
        with their own C(sshd); on an ordinary host it is the same as C(host).
    type: str
    default: host
  fail_on:
    description: Severity at or above which the host counts as failing (RV(failing)).
    type: str
    choices: [info, low, medium, high, critical]
    default: high
  baseline:
    description: Accepted JSON report on the managed host; the document then carries a C(drift) section.
    type: path
  scan:
    description: Also probe the host from every zone (C(fwaudit audit --scan)); needs root.
    type: bool
    default: false
  firewall:
    description: Evaluate the firewall view (C(false) runs C(--no-firewall), declared vs listening only).
    type: bool
    default: true
  executable:
    description: The fwaudit command (the role passes its virtualenv's); looked up in C(PATH) when a bare name.
    type: path
    default: fwaudit
  timeout:
    description: Seconds after which the audit is stopped and the module fails.
    type: int
    default: 600
requirements:
  - fwaudit on the managed host (the C(fwaudit.fleet.audit) role installs it offline)
  - root on the managed host (fwaudit reads netfilter and other users' sockets)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
notes:
  - Untrusted strings from the managed host (process names, rule comments) arrive in
    RV(report) as data; use C(to_json)/C(to_nice_json) to write them, never as templates.
"""

EXAMPLES = r"""
- name: Audit the host against its policy
  fwaudit.fleet.fwaudit_audit:
    policy: /etc/fwaudit/policy.yaml
  register: audit

- name: Show the worst finding
  ansible.builtin.debug:
    msg: "{{ audit.report.findings[0].title if audit.report.findings else 'compliant' }}"

- name: Audit the namespace this sshd runs in, failing the host only on critical findings
  fwaudit.fleet.fwaudit_audit:
    policy: /etc/fwaudit/policy.yaml
    target: auto
    fail_on: critical
"""

RETURN = r"""
snapshot:
  description: The host's snapshot (C(fwaudit snapshot --output -), format C(fwaudit.snapshot/1)).
  returned: success, with O(snapshot=true)
  type: dict
report:
  description: The audit document (C(fwaudit audit --format json), schema C(fwaudit.audit/1)).
  returned: success
  type: dict
failing:
  description: Whether a finding is at or above O(fail_on) (fwaudit exited 1).
  returned: success
  type: bool
findings:
  description: Number of findings.
  returned: success
  type: int
worst:
  description: Severity of the worst finding, or null when there is none.
  returned: success
  type: str
target:
  description: The target audited (O(target) with C(auto) resolved).
  returned: always
  type: str
  sample: netns:web1
exit_code:
  description:
    - fwaudit's exit code (0 compliant, 1 findings at or above O(fail_on), 2 bad input, 3 environment).
    - Not called C(rc) because Ansible fails any task whose C(rc) is not 0, and findings are not a failure.
  returned: always
  type: int
cmd:
  description: The command run.
  returned: always
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

NETNS_DIR = "/run/netns"


def _same_file(a, b):
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


PF_KTHREAD = 0x00200000


def _root_namespace():
    """The root network namespace: PID 1's, or kthreadd's where PID 1 is hidden even from root
    (kernel threads always live in the initial namespaces) - as fwaudit's own ``host`` does."""
    try:
        return os.stat("/proc/1/ns/net")
    except OSError:
        pass
    try:
        with open("/proc/2/stat") as f:
            flags = int(f.read().rsplit(")", 1)[1].split()[6])
        if flags & PF_KTHREAD:
            return os.stat("/proc/2/ns/net")
    except (OSError, ValueError, IndexError):
        pass
    return None


def resolve_target(target):
    """``auto`` -> the namespace this process runs in, named the way fwaudit names targets."""
    if target != "auto":
        return target
    own = os.stat("/proc/self/ns/net")
    root = _root_namespace()
    if root is not None and _same_file(own, root):
        return "host"
    try:
        names = sorted(os.listdir(NETNS_DIR))
    except OSError:
        names = []
    for name in names:
        try:
            if _same_file(own, os.stat(os.path.join(NETNS_DIR, name))):
                return "netns:" + name
        except OSError:
            continue
    # this process lives as long as the audit it runs, so its PID names the namespace meanwhile
    return "pid:%d" % os.getpid()


def _run(module, cmd, target, what, ok):
    """Run ``cmd`` (bounded by O(timeout)); fail the task unless it exits with one of ``ok``."""
    p = module.params
    result = dict(changed=False, target=target, cmd=cmd)
    # run_command has no timeout of its own: coreutils' timeout stops a hung run (exit 124)
    limit = module.get_bin_path("timeout")
    run = ([limit, "--kill-after=10", str(p["timeout"])] if limit and p["timeout"] > 0 else []) + cmd
    rc, out, err = module.run_command(run, environ_update={"NO_COLOR": "1"})
    result["exit_code"] = rc
    if rc not in ok:
        why = {2: "bad input", 3: "environment problem", 124: "timed out after %ds" % p["timeout"],
               137: "killed after the timeout"}.get(rc, "unexpected exit code %d" % rc)
        module.fail_json(msg="fwaudit could not %s %s (%s): %s" % (what, target, why, (err or out).strip()[-2000:]),
                         stderr=err[-4000:], **result)
    return result, rc, out, err


def _snapshot(module, exe, target):
    """``fwaudit snapshot`` of the target, returned as data (the task ends here)."""
    result, _, out, err = _run(module, [exe, "snapshot", "--target", target, "--output", "-"], target, "snapshot", (0,))
    try:
        snap = json.loads(out)
    except ValueError:
        module.fail_json(msg="fwaudit printed no JSON snapshot", stderr=err[-4000:], **result)
    if not isinstance(snap, dict) or not str(snap.get("format", "")).startswith("fwaudit.snapshot/"):
        module.fail_json(msg="fwaudit printed something that is not a snapshot", **result)
    module.exit_json(snapshot=snap, **result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            policy=dict(type="path"),
            snapshot=dict(type="bool", default=False),
            target=dict(type="str", default="host"),
            fail_on=dict(type="str", default="high", choices=["info", "low", "medium", "high", "critical"]),
            baseline=dict(type="path"),
            scan=dict(type="bool", default=False),
            firewall=dict(type="bool", default=True),
            executable=dict(type="path", default="fwaudit"),
            timeout=dict(type="int", default=600),
        ),
        required_if=[("snapshot", False, ("policy",))],
        supports_check_mode=True,
    )
    p = module.params
    exe = p["executable"]
    if os.sep not in exe:
        exe = module.get_bin_path(exe, required=True)
    target = resolve_target(p["target"])
    if p["snapshot"]:
        _snapshot(module, exe, target)
    cmd = [exe, "audit", "--policy", p["policy"], "--target", target, "--format", "json", "--fail-on", p["fail_on"]]
    if p["baseline"]:
        cmd += ["--baseline", p["baseline"]]
    if p["scan"]:
        cmd.append("--scan")
    if not p["firewall"]:
        cmd.append("--no-firewall")
    result, rc, out, err = _run(module, cmd, target, "audit", (0, 1))
    try:
        report = json.loads(out)
    except ValueError:
        module.fail_json(msg="fwaudit printed no JSON audit report", stderr=err[-4000:], **result)
    if not isinstance(report, dict) or not str(report.get("schema", "")).startswith("fwaudit.audit/"):
        module.fail_json(msg="fwaudit printed something that is not an audit report", **result)
    summary = report.get("summary") or {}
    module.exit_json(report=report, failing=rc == 1, findings=summary.get("findings", len(report.get("findings", []))),
                     worst=summary.get("worst"), **result)


if __name__ == "__main__":
    main()
