#!/usr/bin/env bash
# Runs the whole test suite (`npm test`) once per Kafka broker version, each against a broker of its own
# started by the mocha root hook (spec/integration/broker-hooks.ts).
#
#   scripts/test-kafka-versions.sh                 3.9.1, then 4.1.1
#   scripts/test-kafka-versions.sh 3.9.1           only the given versions
#
# Both matter because kafkajs 2.2.4 predates Kafka 4, which removed old protocol versions (KIP-896).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then versions=("$@"); else versions=(3.9.1 4.1.1); fi
# A broker named by KAFKA_BROKERS would be used for every version: each run must start its own.
unset KAFKA_BROKERS

declare -a results=()
status=0
for version in "${versions[@]}"; do
  printf '\n===== npm test against Kafka %s =====\n' "$version"
  if KAFKA_VERSION="$version" npm test; then
    results+=("Kafka $version: passed")
  else
    results+=("Kafka $version: FAILED")
    status=1
  fi
done

printf '\n===== summary =====\n'
printf '%s\n' "${results[@]}"
exit "$status"
