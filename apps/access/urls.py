from django.urls import path

from . import views

app_name = "access"
urlpatterns = [
    path("requests/", views.access_request_mine, name="mine"),
    path("inbox/", views.access_request_inbox, name="inbox"),
    path("requests/<int:pk>/", views.access_request_detail, name="request_detail"),
    path("requests/<int:pk>/approve/", views.access_request_approve, name="approve"),
    path("requests/<int:pk>/reject/", views.access_request_reject, name="reject"),
    path("requests/<int:pk>/cancel/", views.access_request_cancel, name="cancel"),
    path("requests/<int:pk>/retry/", views.grant_retry, name="retry"),
    path("requests/<int:pk>/extend/", views.access_request_extend, name="extend"),
    path("requests/<int:pk>/revoke/", views.grant_revoke, name="revoke"),
    path("identities/", views.my_platform_identities, name="identities"),
    path("products/<slug:slug>/request/", views.access_request_create, name="request_create"),
    path("delegations/", views.delegation_list, name="delegations"),
    path("delegations/<int:pk>/end/", views.delegation_end, name="delegation_end"),
    path("governance/policies/", views.policy_list, name="policies"),
    path("governance/policies/<str:classification>/", views.policy_edit, name="policy_edit"),
    path("governance/purposes/", views.purpose_list, name="purposes"),
    path("governance/purposes/<int:pk>/", views.purpose_edit, name="purpose_edit"),
    path("governance/audit/", views.audit_list, name="audit"),
    path("governance/audit.csv", views.audit_export, name="audit_export"),
]
