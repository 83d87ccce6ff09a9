#!/bin/sh
# make_facile_model.sh - reproduces the committed FACILE model data/models/facile from
# scratch: generates training samples, dumps features + truth through the validation
# module, trains with scripts/train_facile.py. Deterministic (fixed seeds); about
# 5 minutes on 2 cores.
#
#   sh scripts/make_facile_model.sh [BUILD] [OUT_MODEL_DIR]
#
# Samples (pileup, process, events, seed) cover the energy range and pileup around the
# Run 3 value: ttbar/qcd/singlepion hard scatters at pileup 60, and ttbar at 40 and 80.
# One channel in 10 is kept (dumpPrescale, a hash of event and channel), and every channel
# with at least 5 GeV of true energy (dumpKeepAbove: the rare ones the network must learn).
# One stream, so the rows come in event order and the training is reproducible.
set -eu
BUILD=${1:-build}
OUT=${2:-data/models/facile}
MINIHLT="$BUILD/bin/minihlt"
WORK="$BUILD/train"
mkdir -p "$WORK"
rm -f "$WORK/all.f32"
for spec in "ttbar 60 150 101" "qcd 60 100 102" "singlepion 60 60 103" "minbias 60 40 104" \
            "ttbar 40 40 105" "ttbar 80 40 106"; do
    set -- $spec
    sample="$WORK/$1_pu$2_s$4.mhe"
    [ -f "$sample" ] || nice -n 10 "$MINIHLT" gen -n "$3" --pileup "$2" --process "$1" \
        --seed "$4" --threads 2 -o "$sample" >/dev/null
    nice -n 10 "$MINIHLT" run configs/examples/facile_dump.yaml --input "$sample" --quiet \
        --threads 1 --streams 1 --set modules.validation.dump="$WORK/part.f32" \
        --set modules.validation.dumpPrescale=10 --set modules.validation.dumpKeepAbove=5 >/dev/null
    cat "$WORK/part.f32" >> "$WORK/all.f32"
done
rm -f "$WORK/part.f32"
nice -n 10 /usr/bin/python3 scripts/train_facile.py --raw "$WORK/all.f32" --epochs 20 \
    --batch 512 --lr 2e-3 --lr-final 0.05 --seed 1 --out "$OUT"
