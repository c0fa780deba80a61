"""moto's dashboard data (/moto-api/data.json, where the README sends users to read sent mail) stays readable
whatever the local cloud holds."""
from __future__ import annotations

import requests

from eb_tools.cloud.server import LocalCloud
from tests.conftest import aws_client


def test_the_dashboard_data_answers_with_a_database_in_the_cloud(cloud: LocalCloud) -> None:
    # moto's DBInstance has properties that raise NotImplementedError ("write only property"), which moto's
    # data.json did not expect: one database made the whole page a 500.
    aws_client(cloud, "rds").create_db_instance(DBInstanceIdentifier="dashboard-db", Engine="mariadb",
                                                EngineVersion="10.11.14", DBInstanceClass="db.t4g.micro",
                                                MasterUsername="admin", MasterUserPassword="secret-password-1",
                                                AllocatedStorage=20)
    answer = requests.get(f"{cloud.url}/moto-api/data.json", timeout=10)
    assert answer.status_code == 200, answer.text[:200]
    instances = answer.json()["rds"]["DBInstance"]
    assert any(i.get("db_instance_identifier") == "dashboard-db" for i in instances)
