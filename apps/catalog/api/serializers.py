"""Catalog API shapes. Writes are validated here for types and go through ``apps.catalog.services``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import Team
from apps.catalog.choices import Classification
from apps.catalog.models import Asset, AssetRelation, Column, DataContract, DataProduct, Domain, OutputPort
from apps.core.markdown import render_markdown


class DomainSerializer(serializers.ModelSerializer):
    owner_team = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True, help_text="Slug of the accountable team, or null."
    )

    class Meta:
        model = Domain
        fields = ["slug", "name", "description", "owner_team", "created_at", "updated_at"]
        extra_kwargs = {
            "slug": {"help_text": "Stable identifier used in URLs and filters."},
            "name": {"help_text": "Display name, e.g. Sales."},
            "created_at": {"help_text": "When the domain was registered (ISO 8601)."},
            "updated_at": {"help_text": "Last change (ISO 8601)."},
        }


class OutputPortSerializer(serializers.ModelSerializer):
    data_product = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="Slug of the data product."
    )
    platform = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="Slug of the platform holding the data."
    )
    location = serializers.CharField(read_only=True, help_text="`database.schema[.table]` on the platform.")

    class Meta:
        model = OutputPort
        fields = [
            "id",
            "data_product",
            "name",
            "description",
            "platform",
            "port_type",
            "database",
            "schema",
            "table",
            "location",
            "exposure_status",
            "exposure_reason",
            "exposure_comment",
            "created_at",
            "updated_at",
        ]
        extra_kwargs = {
            "id": {"help_text": "Output port id: what an access request names."},
            "exposure_status": {
                "help_text": "`approved`: takes access requests; `pending_review`: waits for a platform "
                "operator or steward; `rejected`: takes none."
            },
            "exposure_reason": {"help_text": "Why the exposure needs (or needed) a review."},
            "exposure_comment": {"help_text": "The reviewer's comment."},
            "name": {"help_text": "Unique within the data product."},
            "description": {"help_text": "What consumers find there."},
            "port_type": {"help_text": "`schema`: every table of the schema; `table`: one table or view."},
            "schema": {"help_text": "Schema (database on MariaDB) on the platform."},
            "created_at": {"help_text": "ISO 8601."},
            "updated_at": {"help_text": "ISO 8601."},
        }


class OutputPortChangeSerializer(serializers.Serializer):
    """Change an output port (owners); a new location is judged again (governed exposure)."""

    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=5000)
    port_type = serializers.ChoiceField(choices=OutputPort._meta.get_field("port_type").choices, required=False)
    database = serializers.CharField(max_length=255, required=False, allow_blank=True)
    schema = serializers.CharField(max_length=255, required=False)
    table = serializers.CharField(max_length=255, required=False, allow_blank=True)


class ExposureReviewSerializer(OutputPortSerializer):
    """An output port awaiting (or past) its exposure review, with who decided."""

    data_product_name = serializers.CharField(source="data_product.name", read_only=True)
    classification = serializers.CharField(source="data_product.classification", read_only=True)
    domain = serializers.CharField(
        source="data_product.domain.slug", read_only=True, help_text="Slug of the product's domain."
    )
    exposure_decided_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta(OutputPortSerializer.Meta):
        fields = [
            *OutputPortSerializer.Meta.fields,
            "data_product_name",
            "classification",
            "domain",
            "exposure_decided_by",
            "exposure_decided_at",
        ]


class ExposureDecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Required to reject: the owners read it.",
    )


class OutputPortWriteSerializer(serializers.Serializer):
    """Add an output port to a data product (owners)."""

    name = serializers.CharField(max_length=120, help_text="Unique within the data product.")
    description = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=5000, help_text="What consumers find there."
    )
    platform = serializers.SlugField(help_text="Slug of the platform (see /platforms/).")
    port_type = serializers.ChoiceField(
        choices=OutputPort._meta.get_field("port_type").choices, default="schema", help_text="`schema` or `table`."
    )
    database = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="Defaults to the platform's database."
    )
    schema = serializers.CharField(max_length=255, help_text="Schema on the platform.")
    table = serializers.CharField(
        max_length=255, required=False, allow_blank=True, default="", help_text="Only for `table` ports."
    )


class DataProductListSerializer(serializers.ModelSerializer):
    domain = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the domain.")
    owner_team = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the owning team.")

    class Meta:
        model = DataProduct
        fields = ["slug", "name", "summary", "domain", "owner_team", "status", "classification", "tags", "updated_at"]
        extra_kwargs = {
            "slug": {"help_text": "Stable identifier used in URLs."},
            "name": {"help_text": "Display name."},
            "status": {"help_text": "Lifecycle: draft → published → deprecated → retired."},
            "classification": {"help_text": "Public, internal, confidential or restricted: picks the approval chain."},
            "tags": {"help_text": "Free tags (search facet)."},
            "updated_at": {"help_text": "Last change (ISO 8601)."},
        }


class DataProductSerializer(DataProductListSerializer):
    description_html = serializers.SerializerMethodField(help_text="`description` rendered from Markdown, sanitized.")
    output_ports = OutputPortSerializer(many=True, read_only=True, help_text="Where consumers read the data.")
    can_change = serializers.SerializerMethodField(help_text="Whether you may edit, publish or deprecate it.")

    class Meta(DataProductListSerializer.Meta):
        fields = [
            *DataProductListSerializer.Meta.fields,
            "description",
            "description_html",
            "terms_of_use",
            "output_ports",
            "can_change",
            "created_at",
        ]
        extra_kwargs = {**DataProductListSerializer.Meta.extra_kwargs, "created_at": {"help_text": "ISO 8601."}}

    def get_description_html(self, obj) -> str:
        return render_markdown(obj.description)

    def get_can_change(self, obj) -> bool:
        from apps.catalog.selectors import data_product_can_change

        return data_product_can_change(user=self.context["request"].user, product=obj)


class DataProductWriteSerializer(serializers.Serializer):
    """Fields an owner sets; ``status`` changes only through publish/deprecate."""

    slug = serializers.SlugField(max_length=100, help_text="Stable identifier; cannot change later.")
    name = serializers.CharField(max_length=200, help_text="Display name.")
    summary = serializers.CharField(
        max_length=300, required=False, allow_blank=True, help_text="One line shown in search results."
    )
    description = serializers.CharField(required=False, allow_blank=True, max_length=100_000, help_text="Markdown.")
    domain = serializers.SlugRelatedField(
        slug_field="slug", queryset=Domain.objects.all(), help_text="Slug of the domain."
    )
    owner_team = serializers.SlugRelatedField(
        slug_field="slug",
        queryset=Team.objects.all(),
        help_text="Slug of the owning team; you must be one of its owners.",
    )
    classification = serializers.ChoiceField(
        choices=Classification.choices, required=False, help_text="Default internal."
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=50), required=False, max_length=50, help_text="Free tags."
    )
    terms_of_use = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=100_000,
        help_text="Markdown; consumers accept it when requesting access.",
    )


class DataProductUpdateSerializer(DataProductWriteSerializer):
    slug = None


class ColumnSerializer(serializers.ModelSerializer):
    class Meta:
        model = Column
        fields = ["name", "ordinal", "data_type", "description", "nullable", "is_primary_key", "default"]
        extra_kwargs = {
            "name": {"help_text": "Column name."},
            "ordinal": {"help_text": "Position in the table, from 1."},
            "data_type": {"help_text": "Type as the platform reports it, e.g. `character varying(50)`."},
            "description": {"help_text": "The platform's comment."},
            "nullable": {"help_text": "Whether it may hold NULL."},
            "is_primary_key": {"help_text": "Part of the primary key."},
            "default": {"help_text": "Default expression, as text."},
        }


class ForeignKeySerializer(serializers.ModelSerializer):
    target = serializers.SerializerMethodField(help_text="`schema.name` of the referenced asset.")
    target_id = serializers.IntegerField(read_only=True, help_text="Id of the referenced asset.")

    class Meta:
        model = AssetRelation
        fields = ["name", "target", "target_id", "source_columns", "target_columns"]
        extra_kwargs = {
            "name": {"help_text": "Constraint name."},
            "source_columns": {"help_text": "Referencing columns."},
            "target_columns": {"help_text": "Referenced columns."},
        }

    def get_target(self, obj) -> str:
        return obj.target.qualified_name


class AssetSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="slug", read_only=True, help_text="Slug of the platform.")

    class Meta:
        model = Asset
        fields = [
            "id",
            "platform",
            "schema",
            "name",
            "kind",
            "description",
            "row_count_estimate",
            "first_seen_at",
            "last_changed_at",
        ]
        extra_kwargs = {
            "id": {"help_text": "Asset id."},
            "schema": {"help_text": "Schema on the platform."},
            "name": {"help_text": "Table, view or model name."},
            "kind": {"help_text": "table, view, materialized_view or dbt_model."},
            "description": {"help_text": "The platform's comment."},
            "row_count_estimate": {"help_text": "Planner estimate; null when unknown."},
            "first_seen_at": {"help_text": "When sync first found it."},
            "last_changed_at": {"help_text": "When sync last saw it change."},
        }


class AssetDetailSerializer(AssetSerializer):
    columns = ColumnSerializer(many=True, read_only=True, help_text="Columns in ordinal order.")
    foreign_keys = serializers.SerializerMethodField(help_text="Foreign keys to other assets of the platform.")

    class Meta(AssetSerializer.Meta):
        fields = [*AssetSerializer.Meta.fields, "columns", "foreign_keys"]

    @extend_schema_field(ForeignKeySerializer(many=True))
    def get_foreign_keys(self, obj):
        relations = obj.outgoing_relations.filter(kind="foreign_key").select_related("target").order_by("name", "pk")
        return ForeignKeySerializer(relations, many=True).data


class DataContractSerializer(serializers.ModelSerializer):
    data_product = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, help_text="Slug of the data product."
    )

    class Meta:
        model = DataContract
        fields = ["id", "data_product", "contract_id", "version", "status", "document", "created_at", "updated_at"]
        extra_kwargs = {
            "id": {"help_text": "Portal id of this contract version."},
            "status": {
                "help_text": "ODCS status as written: proposed, draft, active, deprecated, retired, or the contract's own (production...)."
            },
            "created_at": {"help_text": "ISO 8601."},
            "updated_at": {"help_text": "ISO 8601."},
        }


class ContractPublishSerializer(serializers.Serializer):
    """Publish a data product from an Open Data Contract Standard v3 file (for CI)."""

    contract = serializers.CharField(
        max_length=2_000_000,
        trim_whitespace=False,
        help_text="The ODCS v3 data contract, as YAML (or JSON) text.",
    )
    data_product = serializers.SlugField(
        max_length=100,
        required=False,
        allow_blank=True,
        default="",
        help_text="Slug of the product; default: slugified `dataProduct` (or `name`).",
    )
    domain = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Domain slug or name; default: the contract's `domain`. Required to create.",
    )
    owner_team = serializers.CharField(
        max_length=120,
        required=False,
        allow_blank=True,
        default="",
        help_text="Owner team slug or name; default: the contract's `team.name`. Required to create.",
    )
    platform = serializers.SlugField(
        max_length=80,
        required=False,
        allow_blank=True,
        default="",
        help_text="Platform slug for every server; default: per server (custom property `platform`, else the server name).",
    )


class ContractPublishResultSerializer(serializers.Serializer):
    created = serializers.BooleanField(help_text="True when the data product was created by this call.")
    changes = serializers.ListField(
        child=serializers.CharField(), help_text="What was written; empty when the file was already published as is."
    )
    data_product = DataProductSerializer(help_text="The product as it is now.")
    data_contract = DataContractSerializer(help_text="The stored contract version.")
    diff = serializers.ListField(
        child=serializers.DictField(),
        help_text=("Changes against the previous version: {kind, path, breaking, message, before, after}."),
    )
    breaking = serializers.BooleanField(help_text="True when the diff has a breaking change.")
    warnings = serializers.ListField(child=serializers.CharField(), help_text="Accepted, but worth a look.")
