"""One-off timing (session 11): fine-tuning on the example codebook in float32 and under bfloat16 autocast.

Trains the pipeline's default fine-tune (MNRL, 3 passes, 43 steps) on the
shipped codebook, alternately in float32 and in bfloat16 (as
``embedding.backend: torch_bf16`` does), twice each, and prints the training
seconds of each (loading the model is not timed). On a CPU without native
bfloat16 instructions the bfloat16 runs are slower.

Usage: .venv/bin/python benchmarks/experiments/bf16_finetune_speed.py
Its output is summarised in BENCHMARKS.md ("Encoding speed").
"""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from pipeline.codebook import load_codebook  # noqa: E402
from pipeline.model_files import verified_model_files  # noqa: E402
from pipeline.finetune import FINETUNE_DEFAULTS, codebook_training, fine_tune  # noqa: E402
from pipeline.suggest import code_texts  # noqa: E402

texts, labels, negatives = codebook_training(code_texts(load_codebook(REPO / "codebook" / "codebook.yaml")))
base = verified_model_files({}, REPO)[0]
for bf16 in (False, True, False, True):
    _model, seconds, steps = fine_tune(texts, labels, negatives, base=base, per_text=FINETUNE_DEFAULTS["passes"],
                                       bf16=bf16)
    print(f"{'bfloat16' if bf16 else 'float32 '}: {seconds:.1f} s, {steps} steps", flush=True)
