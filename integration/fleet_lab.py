"""A fleet in network namespaces: "hosts" that each run their own sshd, listeners and ruleset,
and a controller namespace that reaches them over SSH (key authentication, known host keys).

    fwa-fl<pid>-ctl (198.18.90.1, bridge br0) ── veth ── fwa-fl<pid>-<host> (198.18.90.x, eth0)

The namespaces share this machine's filesystem, so each host gets its own directories (install
prefix, Ansible's remote temp); SSH keys and sshd configurations live in a root-only directory
under /run (sshd's StrictModes accepts it). ``close()`` removes everything, also after a
failure, and ``leftovers()`` lists whatever survived.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from auditor.probe.namespaces import Namespace, add_bridge, connect, leftover_namespaces

SUBNET = "198.18.90"
SSHD = "/usr/sbin/sshd"
PRIVSEP_DIR = Path("/run/sshd")

BASE_RULES = """table inet filter {{
  chain input {{
    type filter hook input priority filter; policy drop;
    ct state established,related accept
    iifname "lo" accept
    ip saddr {subnet}.0/24 tcp dport 22 accept comment "ssh from the admin network"
{extra}
  }}
}}
"""


@dataclass(frozen=True)
class HostSpec:
    """One managed host: its listeners (process name, TCP port), extra nft rules, its policy's
    services, whether its sshd runs, and whether its policy is broken on purpose."""

    name: str
    number: int
    listeners: tuple[tuple[str, int], ...] = ()
    rules: tuple[str, ...] = ()
    services: tuple[dict[str, object], ...] = ()
    sshd: bool = True
    broken_policy: bool = False

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.number}"

    def policy(self) -> dict[str, object]:
        ssh = {"name": "ssh", "protocol": "tcp", "port": 22, "zones": ["admin"], "process": "sshd"}
        services = [ssh, *self.services]
        if self.broken_policy:
            services.append({"name": "ghost", "protocol": "tcp", "port": 9, "zones": ["nowhere"]})
        return {"version": 1, "name": f"fleet-{self.name}", "default": "deny",
                "zones": {"admin": [f"{SUBNET}.0/24"], "internet": ["0.0.0.0/0"]},
                "services": services}


@dataclass
class FleetLab:
    specs: tuple[HostSpec, ...]
    workdir: Path
    prefix: str = field(default_factory=lambda: f"fwa-fl{os.getpid()}")

    def __post_init__(self) -> None:
        self.secrets = Path(f"/run/{self.prefix}")
        self.controller: Namespace | None = None
        self.hosts: dict[str, Namespace] = {}
        self._made_privsep = False

    # -- building -------------------------------------------------------------------------
    def start(self) -> None:
        self.secrets.mkdir(mode=0o700)
        self._keygen(self.secrets / "id_ed25519")
        shutil.copy(self.secrets / "id_ed25519.pub", self.secrets / "authorized_keys")
        if not PRIVSEP_DIR.exists():
            PRIVSEP_DIR.mkdir(mode=0o755)
            self._made_privsep = True
        self.controller = Namespace(f"{self.prefix}-ctl")
        known = []
        for spec in self.specs:
            ns = self.hosts[spec.name] = Namespace(f"{self.prefix}-{spec.name}")
            connect(self.controller, f"v{spec.number}", ns, "eth0")
            ns.add_address("eth0", f"{spec.address}/24")
            ns.exec(["nft", "-f", "-"], input=BASE_RULES.format(
                subnet=SUBNET, extra="\n".join(f"    {r}" for r in spec.rules)))
            for name, port in spec.listeners:
                p = ns.spawn([sys.executable, "-m", "auditor.probe.servers", "--tcp", str(port), "--name", name],
                             stdout=subprocess.PIPE, text=True)
                assert p.stdout is not None and p.stdout.readline().strip() == "ready"
            hostkey = self.secrets / f"{spec.name}_host_ed25519"
            self._keygen(hostkey)
            known.append(f"{spec.address} " + " ".join((hostkey.with_suffix(".pub")).read_text().split()[:2]))
            if spec.sshd:
                self._start_sshd(spec, ns, hostkey)
            (self.workdir / "hosts" / spec.name).mkdir(parents=True)
        add_bridge(self.controller, "br0", [f"v{s.number}" for s in self.specs])
        self.controller.add_address("br0", f"{SUBNET}.1/24")
        (self.secrets / "known_hosts").write_text("\n".join(known) + "\n")
        for spec in self.specs:
            if spec.sshd:
                self._wait_for_sshd(spec)

    @staticmethod
    def _keygen(path: Path) -> None:
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "fwaudit-fleet-test", "-f", str(path)],
                       check=True, capture_output=True)

    def _start_sshd(self, spec: HostSpec, ns: Namespace, hostkey: Path) -> None:
        config = self.secrets / f"sshd_{spec.name}.conf"
        config.write_text("\n".join([
            f"ListenAddress {spec.address}:22", f"HostKey {hostkey}",
            f"PidFile {self.secrets}/sshd_{spec.name}.pid",
            f"AuthorizedKeysFile {self.secrets}/authorized_keys",
            "PermitRootLogin prohibit-password", "PubkeyAuthentication yes", "PasswordAuthentication no",
            "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes yes", "MaxStartups 50",
            "Subsystem sftp internal-sftp", "LogLevel ERROR", "",
        ]))
        ns.spawn([SSHD, "-D", "-e", "-f", str(config)])

    def _wait_for_sshd(self, spec: HostSpec) -> None:
        deadline = time.monotonic() + 20
        while not self.hosts[spec.name].exec(["ss", "-Hltn", "sport = :22"]).stdout.strip():
            if time.monotonic() > deadline:
                raise RuntimeError(f"sshd of {spec.name} did not start")
            time.sleep(0.05)

    # -- what the test reads ---------------------------------------------------------------
    def inventory(self, extra_vars: dict[str, object]) -> dict[str, object]:
        hosts: dict[str, object] = {}
        for spec in self.specs:
            home = self.workdir / "hosts" / spec.name
            hosts[spec.name] = {
                "ansible_host": spec.address,
                "ansible_remote_tmp": str(home / "tmp"),
                "fwaudit_prefix": str(home / "fwaudit"),
                "fwaudit_policy": spec.policy(),
            }
        common = {
            "ansible_user": "root",
            "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(self.secrets / "id_ed25519"),
            "ansible_ssh_common_args": (f"-o UserKnownHostsFile={self.secrets}/known_hosts "
                                        "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ConnectTimeout=10"),
            "fwaudit_become": False,
            "fwaudit_target": "auto",
            **extra_vars,
        }
        return {"all": {"children": {"fwaudit": {"hosts": hosts, "vars": common}}}}

    def namespace_of(self, host: str) -> str:
        return self.hosts[host].name

    # -- teardown -------------------------------------------------------------------------
    def close(self) -> None:
        for ns in [*self.hosts.values(), *([self.controller] if self.controller else [])]:
            ns.close()  # kills what runs inside: sshd, listeners, ssh control masters
        shutil.rmtree(self.secrets, ignore_errors=True)
        if self._made_privsep:
            shutil.rmtree(PRIVSEP_DIR, ignore_errors=True)

    def leftovers(self) -> list[str]:
        found = [f"namespace {n}" for n in leftover_namespaces(self.prefix)]
        if self.secrets.exists():
            found.append(f"directory {self.secrets}")
        procs = subprocess.run(["pgrep", "-af", str(self.secrets)], capture_output=True, text=True).stdout
        found += [f"process {line}" for line in procs.splitlines() if line.strip()]
        return found
