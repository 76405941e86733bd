"""Importing a contract from a repository checkout under CONTRACT_REPOSITORY_ROOT: files there
are published like any contract; anything else (the network, paths outside the root, symlinks
out of it, other file types, huge files) is refused with the reason, and nothing is written."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from apps.catalog.models import DataContract
from apps.contracts.models import ContractImport
from apps.contracts.services import data_contract_import_from_repository
from apps.core.exceptions import ApplicationError
from tests.contracts.conftest import contract_text

pytestmark = pytest.mark.django_db
FILE = "hr-data/contracts/employees.odcs.yaml"


@pytest.fixture
def checkouts(tmp_path, settings):
    root = tmp_path / "repos"
    (root / "hr-data" / "contracts").mkdir(parents=True)
    (root / FILE).write_text(contract_text())
    (tmp_path / "outside.odcs.yaml").write_text(contract_text())
    settings.CONTRACT_REPOSITORY_ROOT = str(root)
    return root


def test_a_file_in_a_checkout_is_published_and_recorded(hr, checkouts):
    # when
    result = data_contract_import_from_repository(actor=hr.owner, path=FILE, data_product="employees")
    # then
    assert result.changes[-1] == "data_contract.created:1.0.0"
    record = ContractImport.objects.get()
    assert (record.source, record.source_path) == ("repo", FILE)
    # and a file:// URL (or an absolute path) inside the root names the same file: nothing new
    again = data_contract_import_from_repository(
        actor=hr.owner, path=(checkouts / FILE).as_uri(), data_product="employees"
    )
    assert again.changes == []


@pytest.mark.parametrize(
    "path,reason",
    [
        ("../outside.odcs.yaml", "outside the repository checkouts"),
        ("{tmp}/outside.odcs.yaml", "outside the repository checkouts"),
        ("hr-data/escape.yaml", "outside the repository checkouts"),  # a symlink to a file outside
        ("https://git.example.com/hr-data/raw/main/contracts/employees.odcs.yaml", "over the network"),
        ("git@git.example.com:hr-data.git", "over the network"),
        ("file://fileserver/share/employees.odcs.yaml", "Only files on this server"),
        ("hr-data/contracts/missing.yaml", "No file hr-data/contracts/missing.yaml"),
        ("hr-data/contracts", "No file"),
        ("hr-data/notes.txt", "not a YAML or JSON file"),
        ("hr-data/contracts/employees.odcs.yaml\x00.txt", "Name the contract file"),
        ("", "Name the contract file"),
    ],
)
def test_anything_else_is_refused_with_the_reason(hr, checkouts, path, reason):
    (checkouts / "hr-data" / "escape.yaml").symlink_to(checkouts.parent / "outside.odcs.yaml")
    (checkouts / "hr-data" / "notes.txt").write_text(contract_text())
    with pytest.raises(ApplicationError) as refused:
        data_contract_import_from_repository(
            actor=hr.owner, path=path.replace("{tmp}", str(checkouts.parent)), data_product="employees"
        )
    assert reason in refused.value.message and list(refused.value.extra) == ["path"]
    assert not DataContract.objects.exists()


def test_too_large_or_not_configured_is_refused(hr, checkouts, settings):
    settings.INPUT_CONTRACT_MAX_BYTES = 100
    with pytest.raises(ApplicationError, match="too large"):
        data_contract_import_from_repository(actor=hr.owner, path=FILE, data_product="employees")
    settings.CONTRACT_REPOSITORY_ROOT = ""
    with pytest.raises(ApplicationError, match="not configured"):
        data_contract_import_from_repository(actor=hr.owner, path=FILE, data_product="employees")


def test_the_command_publishes_as_the_user_or_says_why_not(hr, checkouts):
    out = StringIO()
    call_command("contract_import_repo", FILE, "--as", "hana", "--product", "employees", stdout=out)
    assert "employees 1.0.0: data_contract.created:1.0.0" in out.getvalue()
    with pytest.raises(CommandError, match="Only owners"):
        call_command("contract_import_repo", FILE, "--as", "stranger", "--product", "employees")
    with pytest.raises(CommandError, match="outside the repository checkouts"):
        call_command("contract_import_repo", "../outside.odcs.yaml", "--as", "hana", "--product", "employees")
