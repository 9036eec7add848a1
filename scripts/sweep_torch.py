"""Use a model Sweep exported (`sweep replay`, `sweep predict`, `sweep train --save-model`) in PyTorch,
with the preprocessing that turns raw data into its inputs.

usage: python3 scripts/sweep_torch.py STEM INPUT > predictions.csv

STEM is the exported model without its extension, e.g. results/<study>/trial-<n>/model (the files
STEM.json and STEM.safetensors). INPUT is a CSV with the training columns (the label column may be
left out) or, for an image data set, an IDX image file (gzip or raw). Prints a CSV with a
`prediction` column, as `sweep predict` does.

As a module:
    model, arch = load(STEM)                  # torch.nn.Sequential in eval mode, model.json
    x = prepare(INPUT, arch["preprocessing"])  # float32 tensor, the model's input layout
    names = predict(model, arch, x)            # class names (or values), one per row

A quantized model (`compression: {quantize: int8}`) stores each linear and conv weight as int8
(safetensors dtype I8, PyTorch's layout) with `<i>.weight_scale` (float32, one per output channel)
and `<i>.input_scale` (float32, shape [1]). `load` builds such a layer as `Int8Linear` or
`Int8Conv2d`, which compute what Sweep's int8 kernels compute: the input rounded to
clamp(round(x / input_scale), -127, 127), multiplied by the int8 weights (sums of whole numbers,
exact in float32 below 2**24), times input_scale * weight_scale, plus the float bias.
`load(STEM, dequantize=True)` instead gives plain nn.Linear / nn.Conv2d layers with the weights
int8 * weight_scale and float inputs (for fine-tuning or re-export).

Needs numpy and torch only.
"""
import csv
import gzip
import json
import struct
import sys

import numpy as np
import torch
from torch import nn

MISSING = {"", "?", "na", "n/a", "nan", "null"}


def read_safetensors(path):
    """name -> numpy array (Sweep writes F32 tensors, and I8 weights for a quantized model)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = {"F32": "<f4", "I8": "i1"}[meta["dtype"]]
        a, b = meta["data_offsets"]
        out[name] = np.frombuffer(data[a:b], dtype=dtype).reshape(meta["shape"])
    return out


class Padded(nn.Module):
    """A convolution after zero padding (Sweep's `same` padding may be uneven)."""

    def __init__(self, pad, conv):
        super().__init__()
        self.pad = nn.ZeroPad2d(tuple(pad))
        self.conv = conv

    def forward(self, x):
        return self.conv(self.pad(x))


class Int8Layer(nn.Module):
    """A linear or conv layer with int8 weights (per output channel scales) and int8 inputs
    (one scale), as Sweep runs it: out = (round-clamped x) * w_int8 * input_scale * weight_scale + bias."""

    def __init__(self, op, weight, weight_scale, input_scale, bias):
        super().__init__()
        self.op = op  # torch.nn.functional.linear or a conv2d call
        self.register_buffer("weight", weight)  # int8
        self.register_buffer("input_scale", input_scale)
        shape = (1, -1) if weight.dim() == 2 else (1, -1, 1, 1)
        self.register_buffer("scale", (input_scale * weight_scale).reshape(shape))  # float32, as Sweep's product
        self.register_buffer("bias", bias.reshape(shape))

    def forward(self, x):
        q = torch.clamp(torch.round(x / self.input_scale), -127, 127)
        return self.op(q, self.weight.float()) * self.scale + self.bias


def Int8Linear(weight, weight_scale, input_scale, bias):
    return Int8Layer(torch.nn.functional.linear, weight, weight_scale, input_scale, bias)


def Int8Conv2d(weight, weight_scale, input_scale, bias, stride):
    return Int8Layer(lambda x, w: torch.nn.functional.conv2d(x, w, stride=stride), weight, weight_scale, input_scale, bias)


def build_layer(i, spec, tensors, dequantize=False):
    """Layer i of model.json's `layers` as a torch module, with its tensors `<i>.weight`, ..."""
    t = spec["type"]

    def tensor(name):
        return torch.from_numpy(tensors[f"{i}.{name}"].copy())

    int8 = f"{i}.weight_scale" in tensors
    if t in ("linear", "conv2d") and int8:
        w, ws = tensor("weight"), tensor("weight_scale")
        if dequantize:
            tensors = dict(tensors)
            tensors[f"{i}.weight"] = (w.float() * ws.reshape((-1,) + (1,) * (w.dim() - 1))).numpy()
            int8 = False
    if t == "linear":
        if int8:
            return Int8Linear(tensor("weight"), tensor("weight_scale"), tensor("input_scale"), tensor("bias"))
        m = nn.Linear(spec["in_features"], spec["out_features"])
        m.weight.data, m.bias.data = tensor("weight"), tensor("bias")
        return m
    if t == "conv2d":
        if int8:
            m = Int8Conv2d(tensor("weight"), tensor("weight_scale"), tensor("input_scale"), tensor("bias"), spec["stride"])
            return Padded(spec["pad"], m)
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
    raise SystemExit(f"unknown layer type {t!r}")


def load(stem, dequantize=False):
    arch = json.load(open(stem + ".json"))
    tensors = read_safetensors(stem + ".safetensors")
    model = nn.Sequential(*[build_layer(i, s, tensors, dequantize) for i, s in enumerate(arch["layers"])]).eval()
    return model, arch


def to_layout(x, arch):
    """Channels-last samples (N, features) to the model's input: (N, C, H, W) for images."""
    x = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if arch["input_layout"] == "NCHW":
        c, h, w = arch["input_shape"]
        x = x.reshape(-1, h, w, c).permute(0, 3, 1, 2).contiguous()
    return x


def encode_csv(path, tab):
    """The CSV's rows as features, exactly as Sweep encoded the training file (`tabular`)."""
    with open(path, newline="") as f:
        rows = [[v.strip(" \t") for v in r] for r in csv.reader(f) if r and any(v.strip(" \t") for v in r)]
    if tab["header"]:
        names, rows = rows[0], rows[1:]
    else:
        names = [str(i) for i in range(len(rows[0]))]
        if len(names) == len(tab["file_columns"]) - 1:
            names = [c for c in tab["file_columns"] if c != tab["label"]]
    for col in tab["columns"]:
        if col["name"] not in names:
            raise SystemExit(f"{path}: no column {col['name']!r}; the model was trained on: {', '.join(tab['file_columns'])}")
    fill = tab["missing"] == "mean"
    out = []
    for line, row in enumerate(rows, start=2 if tab["header"] else 1):
        x = []
        for col in tab["columns"]:
            v = row[names.index(col["name"])]
            missing = v.lower() in MISSING
            if missing and not fill:
                raise SystemExit(f"{path}:{line}: '{col['name']}': missing value {v!r}")
            cats = col.get("categories")
            if cats is not None:
                if not missing and v not in cats and not fill:
                    raise SystemExit(f"{path}:{line}: '{col['name']}': category {v!r} was not in the training data")
                x += [1.0 if v == c else 0.0 for c in cats]
            else:
                x.append(col["mean"] if missing else float(v))
        out.append(x)
    return np.array(out, dtype=np.float32).reshape(len(out), -1)


def read_idx_images(path):
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    assert magic == 0x803, f"{path} is not an IDX image file"
    return np.frombuffer(data[16:16 + n * h * w], dtype=np.uint8).astype(np.float32).reshape(n, h * w)


def prepare(path, prep):
    """Raw rows of a CSV or IDX file -> scaled features (N, D), channels last, as Sweep prepares them."""
    x = encode_csv(path, prep["tabular"]) if prep.get("tabular") else read_idx_images(path)
    offset = np.array(prep["scaler"]["offset"], dtype=np.float32)
    scale = np.array(prep["scaler"]["scale"], dtype=np.float32)
    return (x - offset) * scale


def predict(model, arch, x):
    with torch.no_grad():
        y = model(to_layout(x, arch)).numpy()
    classes = arch["preprocessing"].get("classes")
    if classes:
        return [classes[k] for k in y.argmax(1)]
    return [float(v) for v in y[:, 0]]


def main():
    if len(sys.argv) != 3:
        raise SystemExit(__doc__.split("\n\n")[1])
    model, arch = load(sys.argv[1])
    names = predict(model, arch, prepare(sys.argv[2], arch["preprocessing"]))
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["prediction"])
    for p in names:
        out.writerow([p])


if __name__ == "__main__":
    main()
