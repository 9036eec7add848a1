"""Loads a model exported by `sweep train --save-model STEM` into PyTorch and checks that it
predicts what Sweep predicted on the reference batch in STEM.predictions.json.

usage: check_export.py STEM
"""
import json
import sys

import numpy as np
import torch
from torch import nn
from safetensors_reader import read_safetensors

stem = sys.argv[1]
arch = json.load(open(stem + ".json"))
tensors = read_safetensors(stem + ".safetensors")
ref = json.load(open(stem + ".predictions.json"))


class Padded(nn.Module):
    def __init__(self, pad, conv):
        super().__init__()
        self.pad = nn.ZeroPad2d(tuple(pad))
        self.conv = conv

    def forward(self, x):
        return self.conv(self.pad(x))


def build(i, spec):
    t = spec["type"]
    def tensor(name):
        return torch.from_numpy(tensors[f"{i}.{name}"].copy())
    if t == "linear":
        m = nn.Linear(spec["in_features"], spec["out_features"])
        m.weight.data, m.bias.data = tensor("weight"), tensor("bias")
        return m
    if t == "conv2d":
        m = nn.Conv2d(spec["in_channels"], spec["out_channels"], spec["kernel_size"], stride=spec["stride"])
        m.weight.data, m.bias.data = tensor("weight"), tensor("bias")
        return Padded(spec["pad"], m)
    if t in ("batchnorm1d", "batchnorm2d"):
        cls = nn.BatchNorm1d if t == "batchnorm1d" else nn.BatchNorm2d
        m = cls(spec["num_features"], eps=spec["eps"], momentum=spec["momentum"])
        m.weight.data, m.bias.data = tensor("weight"), tensor("bias")
        m.running_mean.data, m.running_var.data = tensor("running_mean"), tensor("running_var")
        return m
    if t == "maxpool2d":
        return nn.MaxPool2d(spec["kernel_size"], spec["stride"])
    if t == "avgpool2d":
        return nn.AvgPool2d(spec["kernel_size"], spec["stride"])
    if t == "global_avgpool":
        return nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
    if t == "flatten":
        return nn.Flatten()
    if t == "dropout":
        return nn.Dropout(spec["p"])
    simple = {"relu": nn.ReLU(), "leaky_relu": nn.LeakyReLU(0.01), "gelu": nn.GELU(), "tanh": nn.Tanh(),
              "sigmoid": nn.Sigmoid(), "linear": nn.Identity()}
    if t in simple:
        return simple[t]
    raise SystemExit(f"unknown layer type {t!r} in {stem}.json")


model = nn.Sequential(*[build(i, s) for i, s in enumerate(arch["layers"])]).eval()
x = torch.tensor(ref["inputs"], dtype=torch.float32)
if arch["input_layout"] == "NCHW":
    c, h, w = arch["input_shape"]
    x = x.reshape(-1, h, w, c).permute(0, 3, 1, 2).contiguous()
with torch.no_grad():
    y = model(x).numpy()
expected = np.array(ref["outputs"], dtype=np.float32)
diff = float(np.abs(y - expected).max())
print(f"{len(expected)} samples, max abs difference {diff:.3g}")
same_class = (y.argmax(1) == expected.argmax(1)).all() if expected.shape[1] > 1 else True
if diff > 1e-4 * max(1.0, float(np.abs(expected).max())) or not same_class:
    raise SystemExit("PyTorch's predictions differ from Sweep's")
