"""Issue 16: static files are served compressed and long-cached: WhiteNoise with the compressed
manifest storages of ``mesh_portal/staticfiles.py`` (the demo's, with ``DEBUG`` on, and
production's). ``collectstatic`` runs over the project's own ``static/`` into a temporary
``STATIC_ROOT``; the files are fetched through the whole middleware stack (the test client)."""

import gzip
import os
import re
import subprocess
import sys
from pathlib import Path

import brotli
import pytest
from django.contrib.staticfiles.storage import staticfiles_storage
from django.core.management import call_command
from django.templatetags.static import static

ROOT = Path(__file__).resolve().parents[2]

DEMO = ("mesh_portal.staticfiles.HashedCompressedStaticFilesStorage", True)
PRODUCTION = ("mesh_portal.staticfiles.CompressedManifestStorage", False)


@pytest.fixture(params=[DEMO, PRODUCTION], ids=["demo", "production"])
def collected(request, settings, tmp_path):
    backend, debug = request.param
    settings.DEBUG = debug
    settings.STATIC_ROOT = str(tmp_path)
    # static/ only (not the admin's or the API docs' files): the vendored minified JavaScript that
    # names a source map it does not ship is in there
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]
    settings.STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": backend},
    }
    settings.WHITENOISE_USE_FINDERS = False
    settings.WHITENOISE_AUTOREFRESH = False
    call_command("collectstatic", "--noinput", verbosity=0)
    return tmp_path


@pytest.mark.parametrize("encoding,decompress", [("br", brotli.decompress), ("gzip", gzip.decompress)])
@pytest.mark.parametrize("asset", ["css/portal.css", "vendor/htmx/htmx.min.js", "vendor/chartjs/chart.umd.min.js"])
def test_a_static_asset_is_served_compressed_and_cached_for_a_year(collected, client, asset, encoding, decompress):
    url = static(asset)
    stem, ext = asset.rsplit(".", 1)
    assert re.fullmatch(rf"/static/{re.escape(stem)}\.[0-9a-f]{{12}}\.{ext}", url), url
    response = client.get(url, HTTP_ACCEPT_ENCODING=f"{encoding}, identity")
    assert response.status_code == 200
    assert response["Content-Encoding"] == encoding
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert "Accept-Encoding" in response["Vary"]
    body = b"".join(response.streaming_content)
    original = (collected / staticfiles_storage.stored_name(asset)).read_bytes()
    assert decompress(body) == original and len(body) < len(original)


def test_without_accept_encoding_the_plain_file_is_served(collected, client):
    response = client.get(static("css/portal.css"), HTTP_ACCEPT_ENCODING="identity")
    assert response.status_code == 200 and not response.has_header("Content-Encoding")


def test_the_demo_settings_serve_the_collected_compressed_files():
    """``make demo`` exports STATIC_COLLECTED=1 (and runs collectstatic, then runserver --nostatic)."""
    code = (
        "from django.conf import settings as s; import django; django.setup(); "
        "print(s.STORAGES['staticfiles']['BACKEND'], s.WHITENOISE_USE_FINDERS, s.WHITENOISE_AUTOREFRESH)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mesh_portal.settings.local",
        "STATIC_COLLECTED": "1",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["mesh_portal.staticfiles.HashedCompressedStaticFilesStorage", "False", "False"]
    from mesh_portal import demo_runner

    source = Path(demo_runner.__file__).read_text()
    assert '"collectstatic", "--noinput"' in source and "--nostatic" in source
