"""One-off timing (session 5): ONNX Runtime's transformer graph optimiser on the exported model.

The packaged model's export (made by the pipeline, ``data/processed/cache/onnx/<key>``
of any project that embedded with it) is optimised with
``onnxruntime.transformers.optimizer.optimize_model`` (model type "bert"); the
fused operators are printed, and the same 600 synthetic segments
(``benchmarks/scale.py``'s generator, seed 3) are encoded twice with each
model in turn, with the largest difference between their vectors.

Usage: .venv/bin/python benchmarks/experiments/onnx_graph_optimiser.py EXPORT_FOLDER
Its output is summarised in BENCHMARKS.md ("Encoding speed"). Committed as it
ran, except that the folders are an argument and a temporary folder.
"""
import random, shutil, sys, tempfile, time
from pathlib import Path
import numpy as np
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO)); sys.path.insert(0, str(REPO / "benchmarks"))
import scale
from pipeline import embed, onnx_encoder
from onnxruntime.transformers.optimizer import optimize_model
src = Path(sys.argv[1])
dst = Path(tempfile.mkdtemp()) / "optimised"; shutil.copytree(src, dst)
t = time.time()
m = optimize_model(str(src / "model.onnx"), model_type="bert", num_heads=0, hidden_size=0, opt_level=1)
print(m.get_fused_operator_statistics())
m.save_model_to_file(str(dst / "model.onnx")); print("optimised in", round(time.time()-t, 1), "s")
maker = scale.TextMaker(random.Random(3)); texts = [maker.segment() for _ in range(600)]
for folder in [src, dst, src, dst]:
    loaded = embed.LoadedModel(folder, "", "", onnx_encoder.OnnxEncoder(folder), "onnx")
    loaded.encode_batch(texts[:64])
    t = time.time(); c = time.process_time(); v = embed.encode(loaded, texts, 64)
    print(folder.name, round(time.time()-t, 2), "cpu", round(time.process_time()-c, 2))
    if folder == src: ref = v
    else: print("largest difference", np.abs(v-ref).max())
shutil.rmtree(dst.parent)
