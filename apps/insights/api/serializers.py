from rest_framework import serializers

from ..kpis import KPIS


class KpiQuerySerializer(serializers.Serializer):
    """The period and domain of a KPI read (query string)."""

    range = serializers.ChoiceField(
        choices=["30", "90", "365", "custom"],
        default="90",
        help_text="Days ending today, or custom with start and end.",
    )
    start = serializers.DateField(required=False, help_text="Custom range: first day (TIME_ZONE).")
    end = serializers.DateField(required=False, help_text="Custom range: last day, inclusive.")
    domain = serializers.IntegerField(
        required=False, min_value=1, help_text="Producer domain id; default all (a domain owner: their first domain)."
    )

    def validate(self, data):
        if data.get("range") == "custom":
            if not data.get("start") or not data.get("end"):
                raise serializers.ValidationError({"start": ["A custom range needs start and end."]})
            if data["end"] < data["start"]:
                raise serializers.ValidationError({"end": ["The end must be on or after the start."]})
        return data


class KpiValueSerializer(serializers.Serializer):
    key = serializers.ChoiceField(choices=list(KPIS))
    group = serializers.CharField()
    label = serializers.CharField()
    definition = serializers.CharField(help_text="The one-line definition shown beside the KPI.")
    unit = serializers.CharField(help_text="count, share (0..1), hours, money, money_per_month.")
    value = serializers.FloatField(allow_null=True, help_text="null: no data.")
    previous = serializers.FloatField(allow_null=True, help_text="The same KPI over the period just before.")
    change = serializers.FloatField(allow_null=True)
    target = serializers.FloatField(allow_null=True)
    target_status = serializers.CharField(allow_null=True, help_text="on track / behind.")


class KpiValuesSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    domain = serializers.IntegerField(allow_null=True)
    time_zone = serializers.CharField(help_text="Days and weeks (Monday start) are in this time zone.")
    kpis = KpiValueSerializer(many=True)


class ChartSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    definition = serializers.CharField()
    kind = serializers.ChoiceField(choices=["line", "bar", "heatmap", "table"])
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(child=serializers.ListField(), help_text="One list per row, in column order.")
    kpi = serializers.CharField(help_text="The KPI tile it explains.")
    drill = serializers.CharField(help_text="Name of the list behind a point, if any.")
