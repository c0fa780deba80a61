#!/bin/bash
# Warm the new version before it takes traffic: the first request pays for imports
# and connection pools. A version that cannot answer /healthz fails the deployment.
set -euo pipefail
for attempt in 1 2 3 4 5; do
  curl --fail --silent --show-error --max-time 5 --retry 10 --retry-connrefused --retry-delay 1 \
    --output /dev/null http://127.0.0.1:8000/healthz
done
