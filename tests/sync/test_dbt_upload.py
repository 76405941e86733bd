"""Uploading dbt artifacts on the platform page: owners only, bad files answer 400 with the
field's error and store nothing, a good upload is stored and synced (and later syncs re-read it)."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.choices import TeamRole
from apps.accounts.services import team_membership_set
from apps.catalog.models import Asset
from apps.platforms.models import DbtArtifactUpload, SyncRun
from apps.sync.services import platform_sync
from tests.accounts.factories import TeamFactory, UserFactory
from tests.sync.dbt_fixtures import *  # noqa: F403
from tests.sync.dbt_fixtures import JAFFLE_TARGET

pytestmark = [pytest.mark.django_db, pytest.mark.platform]


def _file(name: str, content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, content if content is not None else (JAFFLE_TARGET / name).read_bytes(), content_type="application/json"
    )


@pytest.fixture
def owner(dbt_platform):
    team = TeamFactory()
    user = UserFactory()
    team_membership_set(team=team, user=user, role=TeamRole.OWNER)
    dbt_platform.owner_team = team
    dbt_platform.save()
    return user


def _described_manifest() -> bytes:
    manifest = json.loads((JAFFLE_TARGET / "manifest.json").read_text())
    manifest["nodes"]["model.jaffle_shop.orders"]["description"] = "Orders as uploaded"
    return json.dumps(manifest).encode()


def test_owner_uploads_artifacts_and_the_sync_reads_them(
    client, owner, dbt_platform, jaffle_warehouse, django_capture_on_commit_callbacks
):
    # given
    platform_sync(platform=jaffle_warehouse)
    client.force_login(owner)
    url = reverse("platforms:dbt_upload", args=[dbt_platform.slug])

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url,
            {
                "manifest": _file("manifest.json", _described_manifest()),
                "catalog": _file("catalog.json"),
                "run_results": _file("run_results.json"),
            },
        )

    # then: stored, synced from the upload (newer than the directory's files)
    assert response.status_code == 302
    upload = DbtArtifactUpload.objects.get(platform=dbt_platform)
    assert upload.uploaded_by == owner and upload.dbt_version == "1.10.23"
    run = SyncRun.objects.get(platform=dbt_platform)
    assert run.status == "succeeded", run.error
    assert run.triggered_by == owner
    assert Asset.objects.get(platform=jaffle_warehouse, name="orders").dbt_description == "Orders as uploaded"

    # and a later scheduled run re-reads the upload
    rerun = platform_sync(platform=dbt_platform)
    assert rerun.status == "succeeded" and rerun.unchanged_count == 8


@pytest.mark.parametrize(
    ("field", "content", "error"),
    [
        (
            "manifest",
            b'{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v7.json"}}',
            "has dbt manifest schema v7",
        ),
        ("manifest", b"\xff\xfe not json", "is not UTF-8 text"),
        ("manifest", b"{oops", "is not valid JSON"),
        ("run_results", b'{"metadata": {}}', "run_results.json is not a dbt run results file"),
    ],
    ids=["v7", "binary", "malformed", "not-run-results"],
)
def test_bad_files_answer_400_with_the_field_error(
    client, owner, dbt_platform, field, content, error, django_capture_on_commit_callbacks
):
    # given
    client.force_login(owner)
    files = {"manifest": _file("manifest.json")}
    files[field] = _file(f"{field}.json", content)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("platforms:dbt_upload", args=[dbt_platform.slug]), files)

    # then
    assert response.status_code == 400
    assert error in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not DbtArtifactUpload.objects.exists() and callbacks == []


def test_missing_manifest_is_a_field_error(client, owner, dbt_platform):
    # given
    client.force_login(owner)

    # when
    response = client.post(
        reverse("platforms:dbt_upload", args=[dbt_platform.slug]), {"catalog": _file("catalog.json")}
    )

    # then
    assert response.status_code == 400 and "This field is required." in response.content.decode()


def test_platform_page_shows_the_upload_form_to_owners_only(client, owner, dbt_platform):
    # given
    stranger = UserFactory()
    detail = reverse("platforms:detail", args=[dbt_platform.slug])
    upload = reverse("platforms:dbt_upload", args=[dbt_platform.slug])

    # when / then: the owner sees the form
    client.force_login(owner)
    page = client.get(detail)
    assert page.status_code == 200 and b'name="manifest"' in page.content and b"Jaffle warehouse" in page.content

    # when / then: anyone else gets 404, as for a missing platform, and stores nothing
    client.force_login(stranger)
    assert client.get(detail).status_code == 404
    assert client.post(upload, {"manifest": _file("manifest.json")}).status_code == 404
    assert not DbtArtifactUpload.objects.exists()

    # when / then: anonymous users are sent to log in
    client.logout()
    assert client.post(upload, {"manifest": _file("manifest.json")}).status_code == 302


def test_upload_to_a_database_platform_is_404(client, owner, jaffle_warehouse):
    # given
    jaffle_warehouse.owner_team = owner.memberships.first().team
    jaffle_warehouse.save()
    client.force_login(owner)

    # when
    response = client.post(
        reverse("platforms:dbt_upload", args=[jaffle_warehouse.slug]), {"manifest": _file("manifest.json")}
    )

    # then
    assert response.status_code == 404
