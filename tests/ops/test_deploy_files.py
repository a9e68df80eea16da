"""deploy/: the files an operator copies to a server are well-formed and agree with the code."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
PROCESSES = {"web", "worker", "beat", "radius"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())


def test_compose_defines_every_process_and_its_dependencies(compose):
    services = compose["services"]
    assert PROCESSES | {"postgres", "redis", "nginx", "release"} == set(services)
    for name in PROCESSES | {"release"}:
        assert services[name]["build"]["dockerfile"] == "deploy/docker/Dockerfile"
        assert services[name]["environment"]["DATABASE_URL"].endswith("@postgres:5432/isp_portal")
    assert services["radius"]["ports"] == ["1812:1812/udp", "1813:1813/udp"]
    assert "replicas" not in str(services["beat"])  # one beat, always
    assert services["web"]["depends_on"]["release"]["condition"] == (
        "service_completed_successfully")


def test_compose_takes_secrets_from_the_environment_only(compose):
    env = compose["services"]["web"]["environment"]
    for name in ("DJANGO_SECRET_KEY", "FIELD_ENCRYPTION_KEY"):
        assert re.fullmatch(rf"\$\{{{name}:\?.+\}}", env[name])
    assert "${POSTGRES_PASSWORD:?" in compose["services"]["postgres"]["environment"][
        "POSTGRES_PASSWORD"]


def test_compose_mounts_files_that_exist(compose):
    for volume in compose["services"]["nginx"]["volumes"]:
        source = volume.split(":")[0]
        if source.startswith("./"):
            assert (DEPLOY / source).is_file(), source
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.M):
        for item in source.split():
            assert item == "." or (ROOT / item).exists(), item


def test_procfile_runs_the_four_processes_with_existing_entry_points():
    entries = dict(
        line.split(":", 1) for line in (DEPLOY / "Procfile").read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert set(entries) == PROCESSES
    assert "deploy/gunicorn.conf.py" in entries["web"] and "config.wsgi:application" in entries[
        "web"]
    assert entries["beat"].split()[:4] == ["celery", "-A", "config", "beat"]
    assert "manage.py radius_server" in entries["radius"]


def test_gunicorn_configuration_loads_with_the_application():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "gunicorn"), "--check-config",
         "-c", "deploy/gunicorn.conf.py", "config.wsgi:application"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_systemd_units_pass_systemd_analyze(tmp_path):
    for unit in UNITS.iterdir():  # installed at /opt/isp-portal; here the checkout
        (tmp_path / unit.name).write_text(unit.read_text().replace("/opt/isp-portal", str(ROOT)))
    units = sorted(str(p) for p in tmp_path.iterdir())

    result = subprocess.run(["systemd-analyze", "verify", "--man=no", *units],
                            capture_output=True, text=True, timeout=120)

    ours = [line for line in result.stderr.splitlines() if str(tmp_path) in line]
    assert result.returncode == 0, result.stderr
    assert ours == []  # other units installed on this machine may warn about themselves


def test_systemd_units_start_each_process_once():
    starts = {
        unit.stem: re.search(r"^ExecStart=(.+)$", unit.read_text(), re.M).group(1)
        for unit in UNITS.glob("*.service")
    }
    assert "gunicorn config.wsgi:application" in starts["isp-web"]
    assert " worker " in starts["isp-worker"]
    assert " beat " in starts["isp-beat"]
    assert "manage.py radius_server" in starts["isp-radius"]
    assert starts["isp-backup"].endswith("deploy/backup/pg_backup.sh")
    wanted = re.search(r"^Wants=(.+)$", (UNITS / "isp-portal.target").read_text(), re.M)
    assert set(wanted.group(1).split()) == {f"isp-{name}.service" for name in PROCESSES}


def nginx_text() -> str:
    return "\n".join(p.read_text() for p in sorted((DEPLOY / "nginx").glob("*.conf")))


def test_nginx_files_are_balanced_and_include_what_ships():
    for path in [*(DEPLOY / "nginx").glob("*.conf"), DEPLOY / "docker" / "nginx.conf"]:
        text = re.sub(r"#.*", "", path.read_text())
        assert text.count("{") == text.count("}"), path.name
        for statement in re.split(r"[{};]", text):
            assert "\n" not in statement.strip(), (path.name, statement)  # a missing ";"
        for include in re.findall(r"include /etc/nginx/snippets/(\S+);", text):
            assert (DEPLOY / "nginx" / include).is_file(), include


def test_nginx_forwards_the_scheme_django_trusts_and_hides_private_media(settings):
    text = nginx_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text
    assert "proxy_set_header Host $host;" in text
    assert "server_name isp.example.net *.isp.example.net;" in text
    assert "$ssl_server_name/fullchain.pem" in text  # custom tenant domains
    static = re.search(r"location /static/ \{\s+alias (\S+);", text).group(1)
    assert static == "/var/lib/isp-portal/static/"  # ISP_VAR_DIR=/var/lib/isp-portal
    assert Path(settings.STATIC_ROOT).name == "static"
    assert re.search(r"location /media/ \{\s+return 404;", text)


def test_logrotate_configuration_parses(tmp_path):
    if not shutil.which("logrotate"):
        pytest.fail("logrotate is not installed")
    config = tmp_path / "isp-portal"  # the service user exists on servers, not here
    config.write_text((DEPLOY / "logrotate" / "isp-portal").read_text().replace(
        "isp-portal adm", "root root"))
    result = subprocess.run(["logrotate", "--debug", "--state", str(tmp_path / "state"),
                             str(config)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr.lower()


def settings_environment_variables() -> set[str]:
    source = (ROOT / "config" / "settings.py").read_text()
    return set(re.findall(
        r"""(?:os\.environ(?:\.get)?\s*[\[(]|env_bool\(|env_list\()\s*["']([A-Z][A-Z0-9_]+)["']""",
        source,
    ))


def test_every_environment_variable_of_the_settings_is_documented():
    guide = (ROOT / "docs" / "DEPLOYMENT.md").read_text()
    names = settings_environment_variables()
    assert {"DATABASE_URL", "DJANGO_SECRET_KEY", "HEALTH_REQUIRED_CHECKS"} <= names
    missing = sorted(name for name in names if f"`{name}`" not in guide)
    assert not missing, f"docs/DEPLOYMENT.md does not explain {missing}"


def test_production_settings_pass_check_deploy():
    from cryptography.fernet import Fernet

    env = {
        "PATH": "/usr/bin:/bin",
        "ISP_PRODUCTION": "1",
        "DJANGO_SECRET_KEY": "k" * 20 + "7Qz!p9Lw#x2Vb$4Nm&8Rt" + "y" * 20,
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        "DJANGO_ALLOWED_HOSTS": ".isp.example.net",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
        "ISP_VAR_DIR": str(ROOT / "var"),
    }
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                             "WARNING"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
