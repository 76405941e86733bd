from django.urls import path

from . import views

app_name = "notifications"
urlpatterns = [
    path("", views.notification_inbox, name="inbox"),
    path("badge/", views.notification_badge, name="badge"),
    path("read/", views.notification_read, name="read_all"),
    path("<int:pk>/read/", views.notification_read, name="read"),
]
