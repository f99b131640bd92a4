#!/usr/bin/env bash
# The train subcommands under mpirun, end to end (ctest cli_mpi_train): the tokenizer, the entropy model, a
# zoo classifier and DPAR's baseline train on 2 ranks; `info` reports the job; a subcommand that cannot share its work refuses to start;
# ranks started with different settings stop with the setting's name; a rank killed mid-run ends the job
# non-zero within 30 s and the last checkpoint on disk resumes in one process.
#   tests/distributed/cli_ranks.sh PATCHZOO_BINARY
set -euo pipefail
patchzoo="$1"
work="$(mktemp -d "${TMPDIR:-/tmp}/patchzoo_cli_ranks_XXXXXX")"
trap 'rm -rf "$work"' EXIT
# Open MPI refuses root (CI) unless told; 2 ranks may share fewer cores; no CMA single-copy (containers
# without ptrace rights refuse it).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
mpi=(mpirun --oversubscribe -np 2)

fail() { echo "cli_ranks: FAIL: $*" >&2; exit 1; }

echo "--- info on 2 ranks"
"${mpi[@]}" "$patchzoo" info --json > "$work/info.json"
python3 - "$work/info.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))["distributed"]
assert d["mpi"] is True and d["ranks"] == 2 and d["rank"] == 0, d
PY

echo "--- tokenizer train on 2 ranks, then encode in one process"
"${mpi[@]}" "$patchzoo" tokenizer train --out "$work/tok" --steps 6 --batch 8 --train-images 64 --warmup 1 \
  --codebook-size 32 --hidden 8 --checkpoint-every 3 --json > "$work/tok.json"
grep -q '"steps": *6' "$work/tok.json" || fail "tokenizer train: $(cat "$work/tok.json")"
"$patchzoo" tokenizer encode --out "$work/tok" --split train --images 64 --tokens "$work/train.pztok" > /dev/null

echo "--- entropy train on 2 ranks"
"${mpi[@]}" "$patchzoo" entropy train --tokens "$work/train.pztok" --out "$work/ent" --steps 4 --batch 8 \
  --dim 16 --layers 1 --heads 2 --json > "$work/ent.json"
grep -q '"steps": *4' "$work/ent.json" || fail "entropy train: $(cat "$work/ent.json")"

echo "--- zoo train on 2 ranks: rank 0 profiles and writes the zoo"
"${mpi[@]}" "$patchzoo" zoo train --models m0 --epochs-scale 0.05 --train-images 2048 --latency-runs 20 \
  --out "$work/zoo" --json > "$work/zoo.json"
python3 - "$work/zoo/zoo.json" <<'PY'
import json, sys
models = json.load(open(sys.argv[1]))["models"]
assert [m["id"] for m in models] == ["m0"], models
PY

echo "--- a subcommand that runs in one process refuses 2 ranks"
if "${mpi[@]}" "$patchzoo" tokenizer eval --out "$work/tok" --images 8 > /dev/null 2> "$work/refuse.err"; then
  fail "tokenizer eval ran on 2 ranks"
fi
grep -q "runs in one process" "$work/refuse.err" || fail "no refusal message: $(cat "$work/refuse.err")"

baseline=("$patchzoo" dpar train --model baseline --tokens "$work/train.pztok" --dim 16 --layers 1 --heads 2
          --batch 8 --dropout 0)

echo "--- ranks with different settings stop together, naming the setting"
start=$SECONDS
if mpirun --oversubscribe -np 1 "${baseline[@]}" --out "$work/mismatch" --steps 4 --lr 1e-3 : \
          -np 1 "${baseline[@]}" --out "$work/mismatch" --steps 4 --lr 2e-3 > /dev/null 2> "$work/mismatch.err"; then
  fail "ranks with different --lr trained"
fi
grep -q "ranks disagree on 'train.lr'" "$work/mismatch.err" || fail "no mismatch message: $(cat "$work/mismatch.err")"
[ $((SECONDS - start)) -le 30 ] || fail "the mismatch took $((SECONDS - start)) s to end the job"

echo "--- a rank killed mid-run ends the job; the last checkpoint resumes in one process"
"${mpi[@]}" "${baseline[@]}" --out "$work/kill" --steps 100000 --checkpoint-every 5 > /dev/null 2> "$work/kill.err" &
job=$!
for _ in $(seq 600); do
  [ -f "$work/kill/checkpoint.safetensors" ] && break
  kill -0 "$job" 2>/dev/null || fail "the job ended before its first checkpoint: $(cat "$work/kill.err")"
  sleep 0.1
done
[ -f "$work/kill/checkpoint.safetensors" ] || fail "no checkpoint within 60 s"
ranks=($(pgrep -P "$job" -f "dpar train" || true))
[ ${#ranks[@]} -eq 2 ] || fail "expected 2 rank processes under mpirun, found: ${ranks[*]:-none}"
kill -9 "${ranks[1]}"
killed_at=$SECONDS
status=0
wait "$job" || status=$?
[ "$status" -ne 0 ] || fail "mpirun exited 0 after a rank was killed"
[ $((SECONDS - killed_at)) -le 30 ] || fail "the job took $((SECONDS - killed_at)) s to end after the kill"
grep -qi "signal 9\|killed" "$work/kill.err" || fail "no message about the killed rank: $(cat "$work/kill.err")"
# loss.csv is at most one checkpoint ahead of the checkpoint: a few steps past it finish quickly.
until=$(( $(wc -l < "$work/kill/loss.csv") - 1 + 5 ))
"${baseline[@]}" --out "$work/kill" --steps "$until" --resume --json > "$work/resume.json" 2> "$work/resume.err" \
  || fail "the checkpoint left by the killed job does not resume: $(cat "$work/resume.err")"
python3 - "$work/resume.json" "$until" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["resumed_at"] > 0 and d["resumed_at"] % 5 == 0 and d["steps"] == int(sys.argv[2]), d
PY
echo "cli_ranks: all checks passed"
