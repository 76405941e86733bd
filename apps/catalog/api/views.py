"""Catalog endpoints: domains, data products (with publish/deprecate and publishing from an ODCS
file), output ports, assets with their columns and data contracts (search: ``apps.search.api``).

Reads go through ``apps.catalog.selectors`` (what the caller may see; 404 otherwise), writes
through ``apps.catalog.services``.
"""

from __future__ import annotations

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from apps.catalog import selectors, services
from apps.catalog.choices import AssetKind, Classification, DataProductStatus, ExposureStatus
from apps.catalog.models import Asset, DataContract, DataProduct
from apps.contracts import services as contract_services
from apps.core.api.parsers import LimitedJSONParser, YAMLTextParser
from apps.core.api.permissions import require
from apps.core.parsing import contract_limits
from apps.platforms import exposure
from apps.platforms.models import Platform

from . import serializers as s

SLUG = "[-a-zA-Z0-9_]+"
ID = "[0-9]{1,18}"


@extend_schema_view(
    list=extend_schema(summary="List domains", tags=["catalog"]),
    retrieve=extend_schema(summary="Get a domain", tags=["catalog"]),
)
class DomainViewSet(viewsets.ReadOnlyModelViewSet):
    """Business domains of the mesh. Every signed-in user sees them."""

    serializer_class = s.DomainSerializer
    lookup_field = "slug"
    lookup_value_regex = SLUG
    ordering_fields = ["name", "slug", "created_at"]
    ordering = ["name"]

    def get_queryset(self):
        return selectors.domain_list().select_related("owner_team")


class DataProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        method="_noop",
        max_length=200,
        help_text="Words to find in names, descriptions, tags, domain, tables and columns (all must match).",
    )
    domain = django_filters.CharFilter(field_name="domain__slug", max_length=80, help_text="Domain slug.")
    owner_team = django_filters.CharFilter(field_name="owner_team__slug", max_length=80, help_text="Owner team slug.")
    classification = django_filters.ChoiceFilter(choices=Classification.choices, help_text="Classification.")
    status = django_filters.ChoiceFilter(choices=DataProductStatus.choices, help_text="Lifecycle status.")
    tag = django_filters.CharFilter(
        field_name="tags", lookup_expr="contains", method="_tag", max_length=50, help_text="Products carrying this tag."
    )

    class Meta:
        model = DataProduct
        fields = ["q", "domain", "owner_team", "classification", "status", "tag"]

    def _noop(self, queryset, name, value):
        return queryset  # applied by the data_product_list selector (see get_queryset)

    def _tag(self, queryset, name, value):
        return queryset.filter(tags__contains=[value])


@extend_schema_view(
    list=extend_schema(summary="List data products you may see", tags=["catalog"]),
    retrieve=extend_schema(summary="Get a data product", tags=["catalog"]),
)
class DataProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data products: published and deprecated ones for everyone signed in; drafts and retired
    ones for their owner team and stewards. Owners create, edit, publish and deprecate them."""

    lookup_field = "slug"
    lookup_value_regex = SLUG
    filterset_class = DataProductFilter
    ordering_fields = ["name", "created_at", "updated_at", "status", "classification"]
    ordering = ["name"]

    def get_queryset(self):
        query = self.request.query_params.get("q", "")[:200] if self.action == "list" else ""
        return selectors.data_product_list(user=self.request.user, query=query)

    def get_object(self):
        return selectors.data_product_get(user=self.request.user, slug=self.kwargs["slug"])

    def get_serializer_class(self):
        return s.DataProductListSerializer if self.action == "list" else s.DataProductSerializer

    def _detail(self, product, code=status.HTTP_200_OK):
        product = selectors.data_product_get(user=self.request.user, slug=product.slug)
        return Response(s.DataProductSerializer(product, context=self.get_serializer_context()).data, status=code)

    @extend_schema(
        summary="Create a data product (draft)",
        tags=["catalog"],
        request=s.DataProductWriteSerializer,
        responses={201: s.DataProductSerializer},
    )
    def create(self, request):
        serializer = s.DataProductWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        require(
            selectors.data_product_can_create(user=request.user, owner_team=data["owner_team"]),
            f"Only owners of {data['owner_team']} can create its data products.",
        )
        product = services.data_product_create(status=DataProductStatus.DRAFT, actor=request.user, **data)
        return self._detail(product, status.HTTP_201_CREATED)

    @extend_schema(
        summary="Change a data product (owners)",
        tags=["catalog"],
        request=s.DataProductUpdateSerializer,
        responses=s.DataProductSerializer,
    )
    def partial_update(self, request, slug: str):
        product = selectors.data_product_get_for_change(user=request.user, slug=slug)
        serializer = s.DataProductUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        team = data.get("owner_team")
        if team is not None and team != product.owner_team:
            require(
                selectors.data_product_can_create(user=request.user, owner_team=team),
                f"Only owners of {team} can move a data product to it.",
            )
        product = services.data_product_update(product=product, actor=request.user, **data)
        return self._detail(product)

    @extend_schema(
        summary="Publish a data product",
        tags=["catalog"],
        request=None,
        responses=s.DataProductSerializer,
        description="draft (or deprecated) → published: listed in the marketplace, takes access requests.",
    )
    @action(detail=True, methods=["post"])
    def publish(self, request, slug: str):
        product = selectors.data_product_get(user=request.user, slug=slug)
        return self._detail(services.data_product_publish(product=product, actor=request.user))

    @extend_schema(
        summary="Deprecate a data product",
        tags=["catalog"],
        request=None,
        responses=s.DataProductSerializer,
        description="published → deprecated: still readable; consumers are told to move on.",
    )
    @action(detail=True, methods=["post"])
    def deprecate(self, request, slug: str):
        product = selectors.data_product_get(user=request.user, slug=slug)
        return self._detail(services.data_product_deprecate(product=product, actor=request.user))

    @extend_schema(
        methods=["GET"],
        summary="List a data product's output ports",
        tags=["catalog"],
        responses=s.OutputPortSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Add an output port (owners)",
        tags=["catalog"],
        request=s.OutputPortWriteSerializer,
        responses={201: s.OutputPortSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="output-ports", pagination_class=None, filter_backends=[])
    def output_ports(self, request, slug: str):
        if request.method == "GET":
            product = selectors.data_product_get(user=request.user, slug=slug)
            return Response(s.OutputPortSerializer(product.output_ports.all(), many=True).data)
        product = selectors.data_product_get_for_change(user=request.user, slug=slug)
        serializer = s.OutputPortWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        platform = Platform.objects.filter(slug=data.pop("platform")).first()
        if platform is None:
            return Response(
                {"message": "No such platform.", "errors": {"platform": ["No platform with this slug."]}},
                status=status.HTTP_400_BAD_REQUEST,
            )
        port = services.output_port_create(actor=request.user, data_product=product, platform=platform, **data)
        return Response(s.OutputPortSerializer(port).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="List a data product's data contracts", tags=["catalog"], responses=s.DataContractSerializer(many=True)
    )
    @action(detail=True, methods=["get"], url_path="data-contracts", pagination_class=None, filter_backends=[])
    def data_contracts(self, request, slug: str):
        product = selectors.data_product_get(user=request.user, slug=slug)
        contracts = selectors.data_contract_list(user=request.user).filter(data_product=product)
        return Response(s.DataContractSerializer(contracts, many=True).data)

    @extend_schema(
        summary="Publish a data product from an ODCS data contract file (CI)",
        tags=["catalog"],
        request={
            "application/json": s.ContractPublishSerializer,
            "multipart/form-data": s.ContractPublishSerializer,
            "application/yaml": OpenApiTypes.STR,
        },
        parameters=[
            OpenApiParameter(name, str, description=f"Same as the JSON field `{name}` (for a raw YAML body).")
            for name in ("data_product", "domain", "owner_team", "platform")
        ],
        responses={200: s.ContractPublishResultSerializer, 201: s.ContractPublishResultSerializer},
        description=(
            "Creates or updates the data product, its output ports (one per `servers` entry of type postgres/"
            "mysql/mariadb) and its `DataContract` version, idempotently: posting the same file twice changes "
            "nothing (`changes` is empty). 201 when the product was created, else 200. Send the YAML as the raw "
            "body (`Content-Type: application/yaml`, options in the query string) or as `contract` in JSON."
        ),
        examples=[
            OpenApiExample(
                "Publish from CI",
                request_only=True,
                media_type="application/json",
                value={
                    "contract": "apiVersion: v3.0.2\nkind: DataContract\nid: orders-v1\nversion: 1.0.0\n"
                    "status: active\nname: orders\ndataProduct: Orders\ndomain: sales\n"
                    "team: {name: sales-data}\nservers:\n  - server: warehouse\n    type: postgres\n"
                    "    schema: sales\n"
                },
            )
        ],
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="publish-contract",
        parser_classes=[LimitedJSONParser, YAMLTextParser, MultiPartParser, FormParser],
    )
    def publish_contract(self, request):
        # Permission before parsing: someone who may neither create nor change a product never
        # gets the (bounded, but still costly) YAML parse.
        if not selectors.data_contract_can_publish(user=request.user):
            raise PermissionDenied("Only owners of a team can publish data contracts.")
        body = request.data.dict() if hasattr(request.data, "dict") else request.data
        if not isinstance(body, dict):
            raise ValidationError({"non_field_errors": ["Expected a JSON object with `contract`."]})
        data = {**request.query_params.dict(), **body}
        upload = request.FILES.get("contract")
        if upload is not None:
            max_bytes = contract_limits()["max_bytes"]
            if upload.size > max_bytes:
                raise ValidationError(
                    {"contract": [f"The file is too large: at most {max_bytes:,} bytes are accepted."]}
                )
            data["contract"] = upload.read().decode("utf-8", errors="replace")
        serializer = s.ContractPublishSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        result = contract_services.data_contract_publish(actor=request.user, **serializer.validated_data)
        product = selectors.data_product_get(user=request.user, slug=result.data_product.slug)
        body = {
            "created": result.created,
            "changes": result.changes,
            "data_product": s.DataProductSerializer(product, context=self.get_serializer_context()).data,
            "data_contract": s.DataContractSerializer(result.data_contract).data,
            "diff": result.diff,
            "breaking": result.breaking,
            "warnings": result.warnings,
        }
        return Response(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


@extend_schema_view(retrieve=extend_schema(summary="Get an output port", tags=["catalog"]))
class OutputPortViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Output ports of the data products you may see; the product's owners change and delete them."""

    serializer_class = s.OutputPortSerializer
    lookup_value_regex = ID

    def get_object(self):
        return selectors.output_port_get(user=self.request.user, pk=int(self.kwargs["pk"]))

    @extend_schema(
        summary="Change an output port (owners)",
        tags=["catalog"],
        request=s.OutputPortChangeSerializer,
        responses=s.OutputPortSerializer,
        description="A new location (platform, database, schema, table) is judged again: outside what the "
        "product's domain was assigned it awaits an exposure review. Refused while the port has "
        "access requests. Audited.",
    )
    def partial_update(self, request, pk: str):
        port = self.get_object()
        require(
            selectors.data_product_can_change(user=request.user, product=port.data_product),
            "Only owners of the product's owner team can change its output ports.",
        )
        serializer = s.OutputPortChangeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        port = services.output_port_update(actor=request.user, port=port, **serializer.validated_data)
        return Response(s.OutputPortSerializer(port).data)

    @extend_schema(
        summary="Delete an output port (owners)",
        tags=["catalog"],
        request=None,
        responses={204: None},
        description="Only a port that never took an access request. Audited.",
    )
    def destroy(self, request, pk: str):
        port = self.get_object()
        require(
            selectors.data_product_can_change(user=request.user, product=port.data_product),
            "Only owners of the product's owner team can delete its output ports.",
        )
        services.output_port_delete(actor=request.user, port=port)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_queryset(self):
        return selectors.output_port_visible(user=self.request.user)

    @extend_schema(
        summary="List the assets (tables, views) an output port exposes",
        tags=["catalog"],
        responses=s.AssetSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def assets(self, request, pk: str):
        port = self.get_object()
        page = self.paginate_queryset(selectors.output_port_assets(port=port).order_by("name", "pk"))
        return self.get_paginated_response(s.AssetSerializer(page, many=True).data)


@extend_schema_view(
    list=extend_schema(
        summary="List exposure reviews you may decide",
        tags=["governance"],
        parameters=[
            OpenApiParameter(
                "status", str, enum=[c for c, _ in ExposureStatus.choices], description="Default `pending_review`."
            )
        ],
    ),
    retrieve=extend_schema(summary="Get an exposure review", tags=["governance"]),
)
class ExposureReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Output ports whose exposure waits for a review (governed exposure): stewards see every one,
    platform operators those on their platforms; nobody reviews their own team's ports."""

    serializer_class = s.ExposureReviewSerializer
    lookup_value_regex = ID
    filter_backends: list = []

    def get_queryset(self):
        wanted = self.request.query_params.get("status", ExposureStatus.PENDING_REVIEW)
        if wanted not in ExposureStatus.values:
            raise ValidationError({"status": [f"Choose one of {', '.join(ExposureStatus.values)}."]})
        return exposure.exposure_review_list(user=self.request.user, status=wanted)

    def get_object(self):
        return exposure.exposure_review_get(user=self.request.user, pk=int(self.kwargs["pk"]))

    def _decide(self, request, pk: str, decide):
        port = self.get_object()
        serializer = s.ExposureDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        port = decide(actor=request.user, port_id=port.pk, comment=serializer.validated_data["comment"])
        return Response(s.ExposureReviewSerializer(port).data)

    @extend_schema(
        summary="Approve an exposure",
        tags=["governance"],
        request=s.ExposureDecisionSerializer,
        responses=s.ExposureReviewSerializer,
        description="The port takes access requests from now on; where another product exposes the same "
        "place, the strictest classification decides each request's approval chain. Audited.",
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk: str):
        return self._decide(request, pk, services.output_port_exposure_approve)

    @extend_schema(
        summary="Reject an exposure",
        tags=["governance"],
        request=s.ExposureDecisionSerializer,
        responses=s.ExposureReviewSerializer,
        description="A comment is required. Audited.",
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk: str):
        return self._decide(request, pk, services.output_port_exposure_reject)


class AssetFilter(django_filters.FilterSet):
    platform = django_filters.CharFilter(field_name="platform__slug", max_length=80, help_text="Platform slug.")
    schema = django_filters.CharFilter(max_length=255, help_text="Schema name (exact).")
    kind = django_filters.ChoiceFilter(choices=AssetKind.choices, help_text="Asset kind.")
    name = django_filters.CharFilter(lookup_expr="icontains", max_length=255, help_text="Part of the name.")

    class Meta:
        model = Asset
        fields = ["platform", "schema", "kind", "name"]


@extend_schema_view(
    list=extend_schema(summary="List assets exposed by products you may see", tags=["catalog"]),
    retrieve=extend_schema(summary="Get an asset with its columns and foreign keys", tags=["catalog"]),
)
class AssetViewSet(viewsets.ReadOnlyModelViewSet):
    """Tables, views and dbt models found by metadata sync, as far as an output port of a data
    product you may see exposes them."""

    lookup_value_regex = ID
    filterset_class = AssetFilter
    ordering_fields = ["schema", "name", "last_changed_at"]
    ordering = ["schema", "name"]

    def get_queryset(self):
        return selectors.asset_visible(user=self.request.user)

    def get_object(self):
        return selectors.asset_get(user=self.request.user, pk=int(self.kwargs["pk"]))

    def get_serializer_class(self):
        return s.AssetDetailSerializer if self.action == "retrieve" else s.AssetSerializer

    @extend_schema(summary="List an asset's columns", tags=["catalog"], responses=s.ColumnSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None, filter_backends=[])
    def columns(self, request, pk: str):
        asset = self.get_object()
        return Response(s.ColumnSerializer(asset.columns.all(), many=True).data)


class DataContractFilter(django_filters.FilterSet):
    data_product = django_filters.CharFilter(
        field_name="data_product__slug", max_length=100, help_text="Data product slug."
    )
    status = django_filters.CharFilter(help_text="ODCS status as written (proposed, draft, active, production, ...).")
    contract_id = django_filters.CharFilter(max_length=255, help_text="ODCS `id`.")

    class Meta:
        model = DataContract
        fields = ["data_product", "status", "contract_id"]


@extend_schema_view(
    list=extend_schema(summary="List data contracts of products you may see", tags=["catalog"]),
    retrieve=extend_schema(summary="Get a data contract (ODCS document)", tags=["catalog"]),
)
class DataContractViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = s.DataContractSerializer
    lookup_value_regex = ID
    filterset_class = DataContractFilter
    ordering_fields = ["created_at", "version"]
    ordering = ["-created_at"]

    def get_queryset(self):
        return selectors.data_contract_list(user=self.request.user)
