"""Loads a model exported by `sweep train --save-model STEM` into PyTorch and checks that it
predicts what Sweep predicted on the reference batch in STEM.predictions.json.

usage: check_export.py STEM
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts"))
from sweep_torch import load, to_layout  # noqa: E402

stem = sys.argv[1]
model, arch = load(stem)
ref = json.load(open(stem + ".predictions.json"))
x = to_layout(np.array(ref["inputs"], dtype=np.float32), arch)
with torch.no_grad():
    y = model(x).numpy()
expected = np.array(ref["outputs"], dtype=np.float32)
diff = float(np.abs(y - expected).max())
print(f"{len(expected)} samples, max abs difference {diff:.3g}")
same_class = (y.argmax(1) == expected.argmax(1)).all() if expected.shape[1] > 1 else True
# An int8 model's inputs are rounded to a grid: a float layer before it that differs from Sweep's
# in the last bit may move a value across a rounding boundary, one grid step.
int8 = arch.get("compression", {}).get("quantize") == "int8"
if diff > (1e-2 if int8 else 1e-4) * max(1.0, float(np.abs(expected).max())) or not same_class:
    raise SystemExit("PyTorch's predictions differ from Sweep's")
