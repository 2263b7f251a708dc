#!/usr/bin/env bash
# Collect the source recordings that a *shipped* neural model may learn from: public domain, CC0 and
# CC BY only (no NC, no SA, no research-only, no unknown licence), from ../shared/data/sources.
# Usage: scripts/make_training_sources.sh [SHARED_SOURCES_DIR] OUT_DIR
#   OUT_DIR/train/...  training sources      OUT_DIR/val/...  held-out sources (other speakers/files)
#   OUT_DIR/LICENCES.txt  one line per file: path, licence, origin (copied into the model card)
# Files are copied (not linked) so that OUT_DIR can travel to another machine. Nothing here is committed.
set -euo pipefail
if [ $# -eq 1 ]; then SRC="$(dirname "$0")/../../shared/data/sources"; OUT="$1"; else SRC="$1"; OUT="$2"; fi
[ -d "$SRC" ] || { echo "no sources folder at $SRC" >&2; exit 2; }
rm -rf "$OUT"; mkdir -p "$OUT/train" "$OUT/val"
LIC="$OUT/LICENCES.txt"; : > "$LIC"

# add SPLIT LICENCE FILE...   (paths relative to $SRC)
add() {
  local split="$1" lic="$2"; shift 2
  for f in "$@"; do
    [ -f "$SRC/$f" ] || { echo "missing $SRC/$f" >&2; exit 1; }
    local dst="$OUT/$split/${f//\//__}"
    cp "$SRC/$f" "$dst"
    printf '%s\t%s\t%s\n' "$split/$(basename "$dst")" "$lic" "$f" >> "$LIC"
  done
}
# files PATTERN...: files under $SRC matching the (quoted) glob patterns, sorted
files() { (cd "$SRC" && for p in "$@"; do compgen -G "$p" || true; done | sort); }

# Speech. EmoDB (CC0): speakers 03,08,09,10,11,12,13,14 train; 15,16 held out.
add train "CC0-1.0 (EmoDB, Burkhardt et al. 2005)" $(files "github_emodb/*/0[389]*.flac" "github_emodb/*/1[01234]*.flac")
add val   "CC0-1.0 (EmoDB, Burkhardt et al. 2005)" $(files "github_emodb/*/1[56]*.flac")
# VCTK via VoiceBank clean (CC BY 4.0): p232 train, p257 held out.
add train "CC BY 4.0 (VCTK / VoiceBank, Valentini-Botinhao et al.)" $(files "github_siplabiith_voicebank-clean/p232_*.wav")
add val   "CC BY 4.0 (VCTK / VoiceBank, Valentini-Botinhao et al.)" $(files "github_siplabiith_voicebank-clean/p257_*.wav")
# LibriSpeech (CC BY 4.0): two readers train, one held out.
add train "CC BY 4.0 (LibriSpeech, Panayotov et al.)" github_librosa-data/198-209-0000.hq.ogg github_librosa-data/3436-172162-0000.hq.ogg
add val   "CC BY 4.0 (LibriSpeech, Panayotov et al.)" github_librosa-data/5703-47212-0000.hq.ogg
# Asterisk prompts, Russian and Italian voices (CC BY 3.0; the en/es/fr voices are CC BY-SA and left out).
add train "CC BY 3.0 (Asterisk core sounds, Carlo Flora)" $(files "debian_asterisk-core-sounds-g722/it_IT_m_Carlo/*.flac")
add val   "CC BY 3.0 (Asterisk core sounds, ivrvoice.ru)" debian_asterisk-core-sounds-g722/ru_RU_f_IvrvoiceRU/demo-congrats.flac
# Short speech: xmas (CC0), LibriVox "Flatland" excerpt (public domain).
add train "CC0-1.0 (Freesound 136777, davidbain)" github_spatialaudio_selected-topics/xmas.wav
add train "public domain (LibriVox)" github_spatialaudio_selected-topics/result.wav
# Music and sounds. Sonic Pi samples (CC0), every 6th file held out.
i=0
for f in $(files "debian_sonic-pi-samples/*.flac"); do
  if [ $((i % 6)) -eq 5 ]; then s=val; else s=train; fi
  add "$s" "CC0-1.0 (Sonic Pi samples, Freesound)" "$f"; i=$((i + 1))
done
add train "CC0-1.0 (EBU SQAM castanets, re-programmed)" github_spatialaudio_selected-topics/castanets_dry.wav
add train "CC BY 4.0 (vocadito, Bittner et al. 2021)" github_mirdata_testresources/vocadito/vocadito_1.flac
add train "CC BY 3.0 (Freesound 77711, Mihai Sorohan)" github_librosa-data/sorohanro_-_solo-trumpet-06.hq.ogg
add train "CC BY 3.0 (Freesound 456440, InspectorJ)" github_librosa-data/456440__inspectorj__bird-whistling-robin-single-13.hq.ogg
add train "public domain (US NPS)" github_librosa-data/glacier-bay-humpback.hq.ogg
# (Stationary background noise, e.g. Speech Commands' CC BY 4.0 recordings, is left out: the scenes
# add sensor noise of their own, and a diffuse noise bed is not a localisable source.)

echo "train: $(ls "$OUT/train" | wc -l) files, val: $(ls "$OUT/val" | wc -l) files, $(du -sh "$OUT" | cut -f1) in $OUT"
