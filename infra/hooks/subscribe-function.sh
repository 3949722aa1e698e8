#!/bin/sh
# azd postdeploy hook, phase 2 of the Azure deployment: Event Grid only accepts a subscription
# whose destination function exists, so the subscription is provisioned after the code is deployed.
# Later `azd up` runs provision it in phase 1 already (the flag stays set in the azd environment).
set -eu
if [ "$(azd env get-value BLOBFERRY_SUBSCRIBE_FUNCTION 2>/dev/null || true)" = "true" ]; then
  echo "blobferry: Event Grid subscription already provisioned"
  exit 0
fi
azd env set BLOBFERRY_SUBSCRIBE_FUNCTION true
azd provision --no-prompt
