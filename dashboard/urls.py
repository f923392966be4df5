from __future__ import annotations

from django.urls import path

from dashboard.views import alerts, fleet, health, hosts, planner, recommendations, settings, trends

app_name = "dashboard"
urlpatterns = [
    path("", fleet.overview, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("deployments/", fleet.deployments, name="deployments"),
    path("deployments/<path:name>/series.json", fleet.deployment_series, name="deployment-series"),
    path("deployments/<path:name>/", fleet.deployment, name="deployment"),
    path("hosts/<int:pk>/", hosts.host, name="host"),
    path("hosts/<int:pk>/series.json", hosts.host_series, name="host-series"),
    path("hosts/<int:pk>/gpus/<int:index>/", hosts.gpu, name="gpu"),
    path("hosts/<int:pk>/gpus/<int:index>/series.json", hosts.gpu_series, name="gpu-series"),
    path("recommendations/", recommendations.recommendation_list, name="recommendations"),
    path("recommendations.csv", recommendations.recommendation_csv, name="recommendations-csv"),
    path("recommendations/<int:pk>/", recommendations.recommendation_detail, name="recommendation"),
    path("recommendations/<int:pk>/status", recommendations.recommendation_status, name="recommendation-status"),
    path(
        "recommendations/<int:pk>/evidence.json",
        recommendations.recommendation_evidence,
        name="recommendation-evidence",
    ),  # fmt: skip
    path("planner/", planner.planner, name="planner"),
    path("trends/", trends.trends_page, name="trends"),
    path("trends/labels.csv", trends.labels_csv, name="trends-labels-csv"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/agent-tokens", settings.agent_token_create, name="agent-token-create"),
    path("settings/agent-tokens/<int:pk>/revoke", settings.agent_token_revoke, name="agent-token-revoke"),
    path("settings/api-tokens", settings.api_token_create, name="api-token-create"),
    path("settings/api-tokens/<int:pk>/revoke", settings.api_token_revoke, name="api-token-revoke"),
    path("settings/gpu-price", settings.gpu_price, name="gpu-price"),
    path("settings/host-prices", settings.host_price, name="host-price"),
    path("settings/host-prices/<int:pk>/delete", settings.host_price_delete, name="host-price-delete"),
    path("settings/thresholds", settings.thresholds_save, name="thresholds"),
    path("settings/thresholds/<int:pk>/delete", settings.thresholds_delete, name="thresholds-delete"),
    path("settings/thresholds/fleet", settings.fleet_thresholds_save, name="fleet-thresholds"),
    path("settings/thresholds/fleet/reset", settings.fleet_thresholds_reset, name="fleet-thresholds-reset"),
    path("analysis/run", settings.reanalyse, name="reanalyse"),
    path("alerts/", alerts.history, name="alerts"),
    path("settings/channels", alerts.channel_create, name="channel-create"),
    path("settings/channels/<int:pk>/test", alerts.channel_test, name="channel-test"),
    path("settings/channels/<int:pk>/toggle", alerts.channel_toggle, name="channel-toggle"),
    path("settings/channels/<int:pk>/delete", alerts.channel_delete, name="channel-delete"),
    path("deployments/<path:name>/budget", alerts.budget_save, name="budget"),
    path("deployments/<path:name>/budget/delete", alerts.budget_delete, name="budget-delete"),
]
