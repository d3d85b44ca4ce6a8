"""Docker integration harness: a private Docker engine, scratch images, own networks, cleanup.

The engine runs in a network namespace of its own (``fwa-it-<run>-engine``), started with
``nsenter --net`` (``ip netns exec`` breaks dockerd's cgroup mounts) and its own socket, data and
exec roots, so its iptables rules land only there — never in the host's firewall. That
namespace plays the *Docker host*: it gets an ``eth0`` (198.18.61.1/24) towards a client
namespace, so published ports can be probed from outside. Images are built ``FROM scratch``
from busybox-static (no registry). Everything carries the run's prefix and is removed at
``close()``, also after failures; ``leftovers()`` lists anything that survived.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

from auditor.probe.namespaces import Namespace, connect, leftover_namespaces

PREFIX = "fwa-it"
BUSYBOX = "/bin/busybox"


class DockerLab:
    def __init__(self) -> None:
        if shutil.which("dockerd") is None or not os.path.exists(BUSYBOX):
            raise RuntimeError("dockerd and busybox-static are needed (scripts/bootstrap installs them)")
        self.run_id = f"{PREFIX}-{os.getpid()}"
        self.dir = Path(f"/tmp/{self.run_id}")
        self.sock = self.dir / "docker.sock"
        self.docker_host = f"unix://{self.sock}"
        self.image = f"{self.run_id}/busybox:latest"
        self.engine: Namespace | None = None
        self.client_ns: Namespace | None = None
        self._dockerd: subprocess.Popen | None = None
        self.client = None
        self.started_s = 0.0
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    # -- engine ------------------------------------------------------------------------------

    def _start(self) -> None:
        t0 = time.monotonic()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.engine = Namespace(f"{self.run_id}-engine")
        self.client_ns = Namespace(f"{self.run_id}-client")
        connect(self.engine, "eth0", self.client_ns, "eth0")
        self.engine.add_address("eth0", "198.18.61.1/24")
        self.client_ns.add_address("eth0", "198.18.61.10/24")
        log = open(self.dir / "dockerd.log", "w")
        self._dockerd = subprocess.Popen(
            ["nsenter", f"--net={self.engine.path}", "dockerd", "--host", self.docker_host,
             "--data-root", str(self.dir / "data"), "--exec-root", str(self.dir / "exec"),
             "--pidfile", str(self.dir / "docker.pid"), "--bip", "198.19.255.1/24",
             "--default-address-pool", "base=198.19.128.0/17,size=24"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        import docker

        deadline = time.monotonic() + 60
        while True:
            if self._dockerd.poll() is not None:
                raise RuntimeError(f"dockerd exited: {(self.dir / 'dockerd.log').read_text()[-2000:]}")
            if self.sock.exists():
                try:
                    self.client = docker.DockerClient(base_url=self.docker_host, timeout=30)
                    self.client.ping()
                    break
                except Exception:  # noqa: BLE001 - not up yet
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"dockerd did not come up: {(self.dir / 'dockerd.log').read_text()[-2000:]}")
            time.sleep(0.2)
        self._build_image()
        self.started_s = time.monotonic() - t0

    def _build_image(self) -> None:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            dockerfile = b'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n'
            info = tarfile.TarInfo("Dockerfile")
            info.size = len(dockerfile)
            tar.addfile(info, io.BytesIO(dockerfile))
            tar.add(BUSYBOX, arcname="busybox")
        buf.seek(0)
        self.client.images.build(fileobj=buf, custom_context=True, tag=self.image, pull=False, rm=True)

    # -- resources -----------------------------------------------------------------------------

    def network(self, name: str, subnet: str):
        import docker

        ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)])
        return self.client.networks.create(f"{self.run_id}-{name}", driver="bridge", ipam=ipam)

    def run(self, name: str, command: list[str], *, network=None, ports: dict | None = None, **kw):
        c = self.client.containers.run(
            self.image, command, name=f"{self.run_id}-{name}", detach=True,
            network=network.name if network is not None else None, ports=ports or {}, **kw)
        c.reload()
        return c

    def container_pid(self, container) -> int:
        container.reload()
        return int(container.attrs["State"]["Pid"])

    def in_container(self, container, cmd: list[str], *, input: str | None = None) -> subprocess.CompletedProcess:
        """Run a host tool (nft, iptables) inside the container's network namespace."""
        res = subprocess.run(["nsenter", "-t", str(self.container_pid(container)), "-n", *cmd],
                             input=input, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} in container failed: {res.stderr}")
        return res

    def in_engine(self, cmd: list[str], *, input: str | None = None) -> subprocess.CompletedProcess:
        assert self.engine is not None
        return self.engine.exec(cmd, input=input)

    # -- teardown ------------------------------------------------------------------------------

    def close(self) -> None:
        if self.client is not None:
            for c in self.client.containers.list(all=True, filters={"name": self.run_id}):
                c.remove(force=True)
            for n in self.client.networks.list(names=[f"{self.run_id}-"]):
                if n.name.startswith(self.run_id):
                    n.remove()
            for img in self.client.images.list(name=f"{self.run_id}/busybox"):
                self.client.images.remove(img.id, force=True)
            self.client.close()
            self.client = None
        if self._dockerd is not None and self._dockerd.poll() is None:
            os.killpg(self._dockerd.pid, signal.SIGTERM)
            try:
                self._dockerd.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self._dockerd.pid, signal.SIGKILL)
                self._dockerd.wait(timeout=10)
        for ns in (self.client_ns, self.engine):
            if ns is not None:
                ns.close()
        if self.dir.exists():
            subprocess.run(["umount", "-R", str(self.dir / "exec")], capture_output=True)
            subprocess.run(["umount", "-R", str(self.dir / "data")], capture_output=True)
            shutil.rmtree(self.dir, ignore_errors=True)


def leftovers(prefix: str = PREFIX) -> list[str]:
    """Namespaces, run directories and engine processes of any harness run still present."""
    found = [f"netns {n}" for n in leftover_namespaces(prefix)]
    found += [f"dir {p}" for p in Path("/tmp").glob(f"{prefix}-*")]
    procs = subprocess.run(["pgrep", "-af", f"dockerd --host unix:///tmp/{prefix}-"], capture_output=True, text=True)
    found += [f"process {line}" for line in procs.stdout.splitlines()]
    return found
