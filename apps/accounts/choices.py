from django.db import models


class TeamRole(models.TextChoices):
    """A member's role in a team. Owners edit the team's data products; approvers (and owners)
    decide access requests for them; members see the team's drafts."""

    OWNER = "owner", "Owner"
    APPROVER = "approver", "Approver"
    MEMBER = "member", "Member"


# Which of the team's permission groups each role belongs to (see Team.group_for).
ROLE_GROUPS: dict[str, tuple[str, ...]] = {
    TeamRole.OWNER: ("members", "approvers", "owners"),
    TeamRole.APPROVER: ("members", "approvers"),
    TeamRole.MEMBER: ("members",),
}

STEWARDS_GROUP = "Governance stewards"
EXECUTIVES_GROUP = "Executives"
