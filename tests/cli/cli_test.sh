#!/bin/sh
# SPDX-FileCopyrightText: The upfi authors
# SPDX-License-Identifier: MIT
#
# End-to-end test of the `upfi` program: every command on a small simulated data set, the files each one writes,
# same numbers for any thread count, and the one-line errors (exit codes 1 and 2, no output left behind).
# Usage: cli_test.sh <upfi binary> <scratch folder> [small.h5ad fixture: also test AnnData input]
set -eu
upfi="$1"
work="$2"
h5ad="${3:-}"
rm -rf "$work"
mkdir -p "$work"
cd "$work"
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# runs a command that must fail with exit code $1 and print exactly the line $2 on stderr
expect_error() {
  code="$1"
  line="$2"
  shift 2
  set +e
  "$@" >out.txt 2>err.txt
  rc=$?
  set -e
  [ "$rc" -eq "$code" ] || fail "'$*' exited with $rc, expected $code"
  [ "$(wc -l <err.txt)" -eq 1 ] || fail "'$*' printed more than one line: $(cat err.txt)"
  [ "$(cat err.txt)" = "$line" ] || fail "'$*' printed '$(cat err.txt)', expected '$line'"
}
small="--iterations 30 --batch 64 --hidden 16,16 --quiet"

"$upfi" help | grep -q "^usage: upfi <command>" || fail "help"
"$upfi" help | grep -qF "steppers (--stepper): euler, midpoint, heun, ralston, rk4, dopri5, two_stage:C or two_stage:C,B,BM (C > 0)." ||
  fail "help: the steppers"
expect_error 2 "upfi: unknown command 'frobnicate' (run 'upfi help')" "$upfi" frobnicate
expect_error 2 "upfi: no command given (run 'upfi help')" "$upfi"
expect_error 2 "upfi: unknown system 'lorenz' (bistable, bf or hsc) (run 'upfi help')" \
  "$upfi" simulate lorenz --out x.csv
expect_error 2 "upfi: option --iterations needs an integer >= 0, got '-3' (run 'upfi help')" \
  "$upfi" fit x.csv --out f --iterations -3
expect_error 2 "upfi: --method must be upfi or pfi, got 'sfi' (run 'upfi help')" "$upfi" fit x.csv --out f --method sfi
expect_error 2 "upfi: unknown option --bogus (run 'upfi help')" "$upfi" fit x.csv --bogus 1

# simulate: 5 snapshots of the bistable system
"$upfi" simulate bistable --out b.csv --cells 120 --seed 4 >/dev/null
[ "$(head -n 1 b.csv)" = "time,x0,x1" ] || fail "simulate header"
[ "$(cut -d, -f1 b.csv | tail -n +2 | sort -u | wc -l)" -eq 5 ] || fail "simulate: 5 times expected"

# fit: every output, and the same model for 1 and 2 threads
"$upfi" fit b.csv --out fit $small --threads 1 >fit.out
for f in model.upfi fit.json loss.csv snapshots.svg drift.svg growth.svg trajectories.svg loss.svg; do
  [ -s "fit/$f" ] || fail "fit did not write $f"
done
grep -q '"method": "upfi"' fit/fit.json || fail "fit.json method"
grep -q '"rollout_energy": ' fit/fit.json || fail "fit.json: roll-out check"
grep -q '"rollout_energy_floor": ' fit/fit.json || fail "fit.json: roll-out sampling floor"
# every picture renders (librsvg) to a non-trivial image: many colours, some ink but not a filled canvas
if command -v rsvg-convert >/dev/null && command -v pngtopnm >/dev/null && command -v ppmhist >/dev/null; then
  for f in snapshots drift growth trajectories loss; do
    rsvg-convert -o "fit/$f.png" "fit/$f.svg" || fail "rsvg-convert cannot render $f.svg"
    pngtopnm "fit/$f.png" 2>/dev/null | ppmhist -noheader |
      awk '{ n++; total += $5; if ($1 == 255 && $2 == 255 && $3 == 255) white = $5 }
           END { ink = 1 - white / total; exit !(n >= 50 && ink > 0.01 && ink < 0.9) }' ||
      fail "$f.svg renders to a trivial image"
  done
else
  echo "cli_test: rsvg-convert, pngtopnm or ppmhist missing; pictures not rendered"
fi
[ "$(head -n 1 fit/loss.csv)" = "iteration,divergence,regulariser,total,seconds" ] || fail "loss.csv header"
[ -z "$(ls -A fit | grep upfi-partial || true)" ] || fail "staging folder left behind"
"$upfi" fit b.csv --out fit2 $small --threads 2 >fit2.out
cmp -s fit/model.upfi fit2/model.upfi || fail "fit: model differs between 1 and 2 threads"
# the step check: printed (the same for 1 and 2 threads) and in fit.json, one entry per interval
grep -q '^step check, energy distance to the next snapshot with 2 euler steps / 10 rk4 steps / unmoved: t = 0.25: ' fit.out ||
  fail "fit: the step check line"
[ "$(grep '^step check' fit.out)" = "$(grep '^step check' fit2.out)" ] || fail "fit: step check differs between 1 and 2 threads"
grep -q '"step_check": {"training_steps": 2, "training_stepper": "euler", "fine_steps": 10, "fine_stepper": "rk4", "worst_gap_ratio": ' fit/fit.json ||
  fail "fit.json: step_check"
[ "$(grep -o '"gap_ratio": ' fit/fit.json | wc -l)" -eq 4 ] || fail "fit.json: 4 step check intervals expected"
grep -q '"log_mass_error_fine": ' fit/fit.json || fail "fit.json: step check log-mass errors"
[ "$(grep -o '"fine_steps_used": [0-9]*, "fine_agreed": \(true\|false\)' fit/fit.json | wc -l)" -eq 4 ] ||
  fail "fit.json: the accurate push's steps per interval"
"$upfi" fit b.csv --out nocheck $small --step-check 0 --no-plots >nocheck.out
grep -q '"step_check"' nocheck/fit.json && fail "--step-check 0: fit.json still has step_check"
grep -q '^step check' nocheck.out && fail "--step-check 0: the step check was printed"
cmp -s fit/model.upfi nocheck/model.upfi || fail "--step-check 0: the check changed the model"
expect_error 2 "upfi: option --step-check needs an integer >= 0, got '-1' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --step-check -1
"$upfi" fit b.csv --out pfi $small --method pfi --no-plots >/dev/null
"$upfi" fit b.csv --out nomass $small --masses none --no-plots >/dev/null
grep -q '"time": 1, "observed": 1,' nomass/fit.json || fail "--masses none: observed masses should be 1"
expect_error 2 "upfi: --masses must be counts or none, got 'cells' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --masses cells
"$upfi" fit b.csv --out smooth $small --mass-smoothing 1 --no-plots >/dev/null
grep -q '"mass_smoothing": 1' smooth/fit.json || fail "--mass-smoothing 1: fit.json mass_smoothing"
cmp -s smooth/model.upfi fit/model.upfi && fail "--mass-smoothing 1: the same model as with the counted masses"
expect_error 1 "upfi: upfi::core::snapshot_series::with_smoothed_masses: a frequencies-only series has no masses to smooth" \
  "$upfi" fit b.csv --out f --masses none --mass-smoothing 1 --quiet
expect_error 2 "upfi: option --mass-smoothing needs an integer >= 0, got '-1' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --mass-smoothing -1
"$upfi" fit b.csv --out tail $small --average-tail 0.5 --no-plots >/dev/null
grep -q '"average_tail": 0.5' tail/fit.json || fail "--average-tail 0.5: fit.json average_tail"
cmp -s tail/model.upfi fit/model.upfi && fail "--average-tail 0.5: the same model as the last iterate"
expect_error 2 "upfi: --average-tail must lie in [0, 1), got '1' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --average-tail 1
"$upfi" fit b.csv --out timed $small --networks time-dependent --no-plots >/dev/null
grep -q '"networks": "time-dependent"' timed/fit.json || fail "--networks time-dependent: fit.json networks"
grep -q '"networks": "autonomous"' fit/fit.json || fail "fit.json: UPFI's networks are autonomous by default"
grep -q '^meta time_input 1$' timed/model.upfi || fail "--networks time-dependent: the model file's time_input"
grep -q '^meta time_input 0$' fit/model.upfi || fail "the default UPFI model file's time_input"
expect_error 2 "upfi: --networks must be autonomous or time-dependent, got 'time' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --networks time
"$upfi" fit b.csv --out heun $small --steps 3 --stepper heun --no-plots >/dev/null
grep -q '"steps": 3' heun/fit.json || fail "--steps 3: fit.json steps"
grep -q '"stepper": "heun"' heun/fit.json || fail "--stepper heun: fit.json stepper"
grep -q '"training_steps": 3, "training_stepper": "heun"' heun/fit.json || fail "--stepper heun: step check stepper"
grep -q '"stepper": "euler"' fit/fit.json || fail "fit.json: the default stepper is euler"
grep -q '"blur": 0.1,' fit/fit.json && grep -q '"reach": 5,' fit/fit.json || fail "fit.json: blur and reach"
expect_error 2 "upfi: --blur must be > 0, got '0' (run 'upfi help')" "$upfi" fit b.csv --out f --blur 0
expect_error 2 "upfi: --reach must be > 0, got '-1' (run 'upfi help')" "$upfi" fit b.csv --out f --reach -1
cmp -s heun/model.upfi fit/model.upfi && fail "--steps 3 --stepper heun: the same model as 2 Euler steps"
expect_error 2 "upfi: --stepper must be euler, midpoint, heun, ralston, rk4, dopri5, two_stage:C or two_stage:C,B,BM (C > 0), got 'rk2' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --stepper rk2
expect_error 2 "upfi: --stepper must be euler, midpoint, heun, ralston, rk4, dopri5, two_stage:C or two_stage:C,B,BM (C > 0), got 'two_stage:0' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --stepper two_stage:0
expect_error 2 "upfi: option --steps needs an integer >= 1, got '0' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --steps 0
"$upfi" fit b.csv --out dsm $small --score dsm --score-iterations 40 --score-members 2 --no-plots >/dev/null
grep -q '"score": "dsm"' dsm/fit.json || fail "--score dsm: fit.json score"
grep -q '"score_members": 2' dsm/fit.json || fail "--score-members 2: fit.json score_members"
expect_error 2 "upfi: option --score-members needs an integer >= 1, got '0' (run 'upfi help')" \
  "$upfi" fit b.csv --out f --score dsm --score-members 0
[ ! -e pfi/drift.svg ] || fail "--no-plots wrote pictures"
grep -q "^meta method pfi" pfi/model.upfi || fail "pfi model file"

# predict: trajectories, growth per cell, fate probabilities summing to one
"$upfi" predict fit/model.upfi b.csv --out pred --frames 3 --fates 2 --data b.csv --paths 20 >/dev/null
[ "$(head -n 1 pred/trajectories.csv)" = "path,time,log_mass,x0,x1" ] || fail "trajectories header"
cells=$(($(wc -l <b.csv) - 1))
[ "$(($(wc -l <pred/growth.csv) - 1))" -eq "$cells" ] || fail "growth.csv: one row per cell"
last=$(grep -c "^1," b.csv || true)
pushed=$((cells - last))
[ "$(($(wc -l <pred/trajectories.csv) - 1))" -eq $((3 * pushed)) ] || fail "trajectories: 3 frames per pushed cell"
awk -F, 'NR > 1 { s = $4 + $5; if (s < 0.999 || s > 1.001) bad = 1 } END { exit bad }' pred/fates.csv ||
  fail "fate probabilities do not sum to 1"

# plot from saved files
"$upfi" plot b.csv --out plot --model fit/model.upfi --loss fit/loss.csv
for f in snapshots.svg drift.svg growth.svg trajectories.svg loss.svg; do
  [ -s "plot/$f" ] || fail "plot did not write $f"
done

# evaluate: one row per inner time, model and OT-interpolation columns
"$upfi" evaluate b.csv --out eval $small --max-cells 80 >/dev/null
[ "$(($(wc -l <eval/evaluate.csv) - 1))" -eq 3 ] || fail "evaluate: 3 held-out times expected"
grep -q '"w1_ot_interpolation"' eval/evaluate.json || fail "evaluate.json"
grep -q '"energy_model"' eval/evaluate.json || fail "evaluate.json: energy distances"
grep -q '"fits": 1,' eval/evaluate.json || fail "evaluate.json: fits per held-out time"
grep -q '"networks": "autonomous",' eval/evaluate.json || fail "evaluate.json: the networks' time dependence"
expect_error 2 "upfi: option --fits needs an integer >= 1, got '0' (run 'upfi help')" \
  "$upfi" evaluate b.csv --out e --fits 0

# calibrate: one row per grid value, the evaluate protocol at each D (the same numbers), any thread count
"$upfi" calibrate b.csv --out cal $small --max-cells 80 --grid 0.05,0.2 --threads 1 >cal.txt
[ "$(head -n 1 cal/calibration.csv)" = "diffusion,energy,w1" ] || fail "calibration.csv header"
[ "$(($(wc -l <cal/calibration.csv) - 1))" -eq 2 ] || fail "calibrate: 2 grid values expected"
for f in calibration.json calibration.svg; do [ -s "cal/$f" ] || fail "calibrate did not write $f"; done
best=$(sed -n 's/^  "best_diffusion": \(.*\),$/\1/p' cal/calibration.json)
lowest=$(awk -F, 'NR > 1 && (NR == 2 || $2 < e) { e = $2; d = $1 } END { print d }' cal/calibration.csv)
[ -n "$best" ] && [ "$best" = "$lowest" ] || fail "calibrate: best_diffusion '$best' is not the lowest energy's D '$lowest'"
best_w1=$(sed -n 's/^  "best_diffusion_w1": \(.*\),$/\1/p' cal/calibration.json)
lowest_w1=$(awk -F, 'NR > 1 && (NR == 2 || $3 < w) { w = $3; d = $1 } END { print d }' cal/calibration.csv)
[ -n "$best_w1" ] && [ "$best_w1" = "$lowest_w1" ] ||
  fail "calibrate: best_diffusion_w1 '$best_w1' is not the lowest W1's D '$lowest_w1'"
grep -q "^best D = .* by energy distance .* by W1 -> cal$" cal.txt || fail "calibrate: no 'best D' line"
# each held-out time's own minimisers, on the grid, in time order; in calibration.json beside the overall ones
d='\(0\.05\|0\.2\)'
per_time="t = 0.25: $d / $d, t = 0.5: $d / $d, t = 0.75: $d / $d"
grep -q "^per held-out time, best D by energy distance / W1: $per_time$" cal.txt || fail "calibrate: no per-time line"
[ "$(grep -c '"best_diffusion_w1"' cal/calibration.json)" -eq 4 ] || fail "calibration.json: per_time minimisers"
grep -q '"held_out": \[' cal/calibration.json || fail "calibration.json: held-out scores"
"$upfi" calibrate b.csv --out cal2 $small --max-cells 80 --grid 0.05,0.2 --threads 2 >/dev/null
cmp -s cal/calibration.csv cal2/calibration.csv || fail "calibrate: the curve differs between 1 and 2 threads"
"$upfi" evaluate b.csv --out eval02 $small --max-cells 80 --diffusion 0.2 >/dev/null
awk -F, 'NR == FNR { if (FNR > 1) { s += $7; n++ } next } FNR > 1 && $1 == 0.2 { e = $2 }
         END { r = (s / n - e) / e; exit !(n == 3 && e > 0 && r < 1e-6 && r > -1e-6) }' eval02/evaluate.csv \
  cal/calibration.csv || fail "calibrate: the D = 0.2 row is not evaluate's mean energy distance at --diffusion 0.2"
expect_error 2 "upfi: --grid needs positive numbers like 0.01,0.03,0.1, got '0.1,-1' (run 'upfi help')" \
  "$upfi" calibrate b.csv --out c --grid 0.1,-1
expect_error 2 "upfi: calibrate chooses the diffusion: give the candidates with --grid (run 'upfi help')" \
  "$upfi" calibrate b.csv --out c --diffusion 0.1
printf 'time,x0,x1\n0,1,2\n0,2,3\n1,1,1\n1,2,2\n' >two.csv
expect_error 1 "upfi: calibrate needs three or more time points (leave one out)" \
  "$upfi" calibrate two.csv --out c --quiet

# bad input: one line naming file and line, exit 1, nothing left in the output folder
printf 'time,x0,x1\n0,1,2\n0,abc,3\n1,1,1\n1,2,2\n' >bad.csv
set +e
"$upfi" fit bad.csv --out badfit --quiet 2>err.txt
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "malformed CSV: exit $rc"
grep -q "^upfi: bad.csv:3" err.txt || fail "malformed CSV: message '$(cat err.txt)'"
[ -z "$(ls -A badfit 2>/dev/null || true)" ] || fail "malformed CSV left output: $(ls -A badfit)"
expect_error 1 "upfi: missing.upfi: cannot open the model file for reading" \
  "$upfi" predict missing.upfi b.csv --out p
expect_error 2 "upfi: --embedding, --time-key and --components apply to .h5ad input only (run 'upfi help')" \
  "$upfi" fit b.csv --out f --time-key day

# chemical-Langevin noise: concentrations from the BF network, the noise set by --volume and --degradation
"$upfi" simulate bf --out bf.csv --cells 40 --seed 2 >/dev/null
cle="--noise cle --volume 16 --degradation 10"
"$upfi" fit bf.csv --out cle $small $cle --step-check 0 --threads 1 >cle.out
"$upfi" fit bf.csv --out cle2 $small $cle --step-check 0 --threads 2 >/dev/null
cmp -s cle/model.upfi cle2/model.upfi || fail "fit --noise cle: model differs between 1 and 2 threads"
for entry in '"noise": "chemical-langevin",' '"volume": 16,' '"degradation": [10, 10, 10, 10, 10, 10, 10],' \
  '"learn_degradation": false,'; do
  grep -qF "$entry" cle/fit.json || fail "fit.json: chemical-Langevin noise: no $entry"
done
grep -q '"diffusion"' cle/fit.json && fail "fit.json: a diffusion for chemical-Langevin noise"
grep -q '"noise": "additive",' fit/fit.json && grep -q '"diffusion": ' fit/fit.json || fail "fit.json: additive noise"
grep -q "V = 16, degradation 10,10,10,10,10,10,10 -> cle" cle.out || fail "fit --noise cle: summary line"
grep -q '^meta noise chemical-langevin$' cle/model.upfi || fail "model.upfi: noise"
"$upfi" fit bf.csv --out clelearn $small --noise cle --volume 16 --degradation 5 --learn-degradation --step-check 0 \
  >/dev/null
grep -q '"learn_degradation": true' clelearn/fit.json || fail "fit.json: learned degradation"
grep -qF '"degradation": [5, 5, 5, 5, 5, 5, 5]' clelearn/fit.json && fail "--learn-degradation: the rates did not move"
"$upfi" predict cle/model.upfi bf.csv --out clepred --frames 3 --fates 2 --data bf.csv --paths 20 >/dev/null
awk -F, 'NR > 1 { s = $9 + $10; if (s < 0.999 || s > 1.001 || $9 < 0 || $10 < 0) bad = 1 } END { exit bad }' \
  clepred/fates.csv || fail "predict --noise cle: fate probabilities must lie in [0, 1] and sum to 1"
awk -F, 'NR > 1 { for (i = 4; i <= NF; ++i) if ($i < 0) bad = 1 } END { exit bad }' clepred/trajectories.csv ||
  fail "predict --noise cle: a concentration turned negative"
expect_error 2 "upfi: --noise must be additive or cle, got 'poisson' (run 'upfi help')" \
  "$upfi" fit bf.csv --out x --noise poisson
expect_error 2 "upfi: --noise cle needs --volume and --degradation (run 'upfi help')" \
  "$upfi" fit bf.csv --out x --noise cle --volume 16
expect_error 2 "upfi: --volume, --degradation and --learn-degradation apply to --noise cle (run 'upfi help')" \
  "$upfi" fit bf.csv --out x --volume 16
expect_error 2 "upfi: --diffusion applies to --noise additive (cle: D follows from --volume) (run 'upfi help')" \
  "$upfi" fit bf.csv --out x $cle --diffusion 0.1
expect_error 2 "upfi: --degradation needs positive rates like 1 or 1,2,0.5, got '1,-2' (run 'upfi help')" \
  "$upfi" fit bf.csv --out x --noise cle --volume 16 --degradation 1,-2
expect_error 2 "upfi: --volume must be > 0, got '0' (run 'upfi help')" \
  "$upfi" fit bf.csv --out x --noise cle --volume 0 --degradation 1
# calibrate with --noise cle chooses the volume: the grid holds V, each row is evaluate's mean at that --volume
"$upfi" calibrate bf.csv --out clecal $small --noise cle --degradation 10 --max-cells 40 --grid 8,32 >clecal.txt
[ "$(head -n 1 clecal/calibration.csv)" = "volume,energy,w1" ] || fail "calibrate --noise cle: calibration.csv header"
best=$(sed -n 's/^  "best_volume": \(.*\),$/\1/p' clecal/calibration.json)
lowest=$(awk -F, 'NR > 1 && (NR == 2 || $2 < e) { e = $2; d = $1 } END { print d }' clecal/calibration.csv)
[ -n "$best" ] && [ "$best" = "$lowest" ] || fail "calibrate --noise cle: best_volume '$best' is not the lowest's V"
grep -q '"noise": "chemical-langevin",' clecal/calibration.json || fail "calibration.json: noise"
grep -q "^best V = .* by energy distance .* by W1 -> clecal$" clecal.txt || fail "calibrate --noise cle: no 'best V'"
"$upfi" evaluate bf.csv --out cleeval $small --max-cells 40 --noise cle --degradation 10 --volume 32 >/dev/null
awk -F, 'NR == FNR { if (FNR > 1) { s += $7; n++ } next } FNR > 1 && $1 == 32 { e = $2 }
         END { r = (s / n - e) / e; exit !(n > 0 && e > 0 && r < 1e-6 && r > -1e-6) }' cleeval/evaluate.csv \
  clecal/calibration.csv || fail "calibrate --noise cle: the V = 32 row is not evaluate's mean at --volume 32"
expect_error 2 "upfi: calibrate chooses the volume: give the candidates with --grid (run 'upfi help')" \
  "$upfi" calibrate bf.csv --out x $cle
expect_error 2 "upfi: --noise cle needs --degradation (run 'upfi help')" \
  "$upfi" calibrate bf.csv --out x --noise cle
expect_error 1 "upfi: upfi::infer::fit_snapshots: chemical-Langevin noise needs a finite volume > 0 and 1 or 7 finite \
degradation rates > 0, and no diffusion (D follows from the drift); got volume = 16, 2 rates, diffusion = 0" \
  "$upfi" fit bf.csv --out x --noise cle --volume 16 --degradation 1,2 --quiet
[ -z "$(ls -A x 2>/dev/null || true)" ] || fail "a failed fit left output: $(ls -A x)"
echo "cli: chemical-Langevin noise checked"

if [ -n "$h5ad" ]; then
  "$upfi" fit "$h5ad" --out h5 --time-key day --components 2 $small --no-plots >/dev/null
  grep -q '"cells": 36' h5/fit.json || fail "h5ad: 36 cells expected"
  grep -q "^meta dimension 2" h5/model.upfi || fail "h5ad: --components 2"
  "$upfi" plot "$h5ad" --out h5plot --time-key time
  [ -s h5plot/snapshots.svg ] || fail "h5ad plot"
  expect_error 1 "upfi: $h5ad: time category 'early' of obs/bad is not a number" \
    "$upfi" fit "$h5ad" --out h5bad --time-key bad
  echo "cli: AnnData input checked"
fi
echo "cli: all checks passed"
