#!/bin/bash
# Warm the new version before it takes traffic: the first request pays for imports
# and connection pools. A version that cannot answer /healthz fails the deployment.
# The app listens where the platform's nginx proxies to: 127.0.0.1:$PORT, 8000 unless
# the PORT environment property says otherwise (as the emulated cloud's instances do).
set -euo pipefail
port=$(/opt/elasticbeanstalk/bin/get-config environment -k PORT 2>/dev/null || true)
for attempt in 1 2 3 4 5; do
  curl --fail --silent --show-error --max-time 5 --retry 10 --retry-connrefused --retry-delay 1 \
    --output /dev/null "http://127.0.0.1:${port:-8000}/healthz"
done
