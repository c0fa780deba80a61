#!/bin/bash
# Run the database migrations before the new version starts. Every instance runs
# this hook; core.migrate holds a MariaDB named lock (GET_LOCK) for the upgrade, so
# exactly one instance applies each migration and the others find nothing to do.
set -euo pipefail
cd /var/app/staging
venv=$(ls -d /var/app/venv/*/bin | head -n 1)
properties=$(/opt/elasticbeanstalk/bin/get-config environment)
exec "$venv/python" -c '
import json, os, sys
os.environ.update(json.loads(sys.argv[1]))
from core.migrate import main
sys.exit(main())
' "$properties"
