"""The admin speaks of Rightsizer, and its index names its models in good plurals."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_the_admin_index_says_rightsizer_and_names_plurals_right(client, admin):
    client.force_login(admin)
    page = client.get("/admin/").content.decode()
    assert "Django administration" not in page and "Django site admin" not in page
    assert "Rightsizer administration" in page and "<title>Rightsizer | Rightsizer admin</title>" in page
    assert "Deliveries" in page and "Deployment thresholds<" in page
    assert "Deliverys" not in page and "Deployment thresholdss" not in page
