#!/usr/bin/env bash
# `make test`: the whole suite on SQLite and on PostgreSQL, the two runs side by side (one per
# core: each spends much of its time waiting on LibreOffice, Chromium or the database, so
# together they take little longer than the slower one alone). Each run's output goes to
# .test-logs/<store>.log and is printed when both are done; a line a minute says they are
# still going. Exit status: the first failing run's (pytest's 5, "no tests", counts as 0).
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
stores=(sqlite postgresql)
mkdir -p .test-logs
declare -A pids
for store in "${stores[@]}"; do
    "$python" -m pytest -q --store "$store" "$@" >".test-logs/$store.log" 2>&1 &
    pids[$store]=$!
done
started=$SECONDS
while [ -n "$(jobs -r)" ]; do
    sleep 5
    if (( (SECONDS - started) % 60 < 5 )); then
        line="测试进行中（$(( (SECONDS - started) / 60 )) 分钟）："
        for store in "${stores[@]}"; do
            line+=" $store $(grep -o '\[ *[0-9]*%\]' ".test-logs/$store.log" | tail -1)"
        done
        echo "$line"
    fi
done
status=0
for store in "${stores[@]}"; do
    wait "${pids[$store]}"; rc=$?
    echo "== pytest --store $store"
    cat ".test-logs/$store.log"
    if [ "$rc" -eq 5 ]; then echo "pytest: no tests collected"; rc=0; fi
    if [ "$rc" -ne 0 ] && [ "$status" -eq 0 ]; then status=$rc; fi
done
exit $status
