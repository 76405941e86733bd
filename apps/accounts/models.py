from django.contrib.auth.models import AbstractUser, Group
from django.db import models
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from apps.core.models import TimeStampedModel

from .choices import TeamRole


class User(AbstractUser):
    """A person using the portal: consumer, product owner, approver, steward or executive."""

    title = models.CharField(max_length=120, blank=True, help_text="Job title, shown on the person page.")

    class Meta:
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_steward(self) -> bool:
        """Superuser or member of the stewards group. The group lookup is remembered on this
        instance (a request asks several times: layout, selectors, permissions); changing this
        instance's groups forgets it (``_forget_steward`` below)."""
        if self.is_superuser:
            return True
        if "_in_stewards_group" not in self.__dict__:
            from .choices import STEWARDS_GROUP

            self.__dict__["_in_stewards_group"] = self.groups.filter(name=STEWARDS_GROUP).exists()
        return self.__dict__["_in_stewards_group"]

    def refresh_from_db(self, *args, **kwargs):
        self.__dict__.pop("_in_stewards_group", None)
        super().refresh_from_db(*args, **kwargs)


class Team(TimeStampedModel):
    """A group of people that owns data products (a domain team) or consumes them.

    Each team has three permission groups (members, approvers, owners) that carry the
    django-guardian object permissions on the team's data products; a membership's role decides
    which of them the user is in, so joining or leaving a team grants or removes the permissions.
    """

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    email = models.EmailField(blank=True, help_text="Team mailbox for notifications.")
    members = models.ManyToManyField(User, through="TeamMembership", related_name="teams")
    members_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+", editable=False)
    approvers_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+", editable=False)
    owners_group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="+", editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def group_for(self, kind: str) -> Group:
        return {"members": self.members_group, "approvers": self.approvers_group, "owners": self.owners_group}[kind]


class TeamMembership(TimeStampedModel):
    """A user's membership in a team, with the role that decides their rights on its products."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=TeamRole.choices, default=TeamRole.MEMBER)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "user"], name="team_membership_unique")]
        ordering = ["team__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.get_role_display()})"


@receiver(m2m_changed, sender=User.groups.through)
def _forget_steward(sender, instance, **kwargs) -> None:
    """``user.groups.add/remove/clear`` (either side) makes the remembered steward flag stale."""
    if isinstance(instance, User):
        instance.__dict__.pop("_in_stewards_group", None)
