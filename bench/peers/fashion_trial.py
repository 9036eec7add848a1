"""One Fashion-MNIST MLP trial as a command: the same trial for Sweep's command studies
(bench/spaces/fashion-mo-command.yaml) and for the Optuna peer (bench/peers/optuna_fashion_mo.py).

Reads the parameters as JSON on stdin ({"layers": 1|2, "units0": N, "units1": N, "lr": X,
"quantize": "none"|"int8"}), trains with `sweep train --json` (SWEEP_TRAIN_BIN, default
.build/release/sweep; data in SWEEP_DATA_DIR, default ../shared/datasets; seed SWEEP_SEED32, else
0) and speaks Sweep's line protocol: per epoch {"step": N, "value": val_accuracy}, then
{"values": {"val_accuracy": ..., "model_bytes": ...}, "test_accuracy": ...} where test_accuracy
is the exported model's (the int8 model's when quantized).
"""
import json, os, subprocess, sys, tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EPOCHS = int(os.environ.get("SWEEP_MAX_EPOCHS", "3"))


def model_yaml(p):
    units = [p["units0"]] + ([p["units1"]] if p["layers"] == 2 else [])
    layers = "\n".join(f"    - {{type: dense, units: {u}, activation: relu}}" for u in units)
    return f"""name: fashion-trial
dataset: {{name: fashion-mnist, scaling: unit, validation: 0.1}}
model:
  layers:
{layers}
training: {{epochs: {EPOCHS}, batch_size: 128, optimizer: adam, learning_rate: {p["lr"]}}}
compression: {{quantize: {p["quantize"]}}}
"""


def run(p, seed):
    """Trains one trial; yields its protocol lines."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        f.write(model_yaml(p))
    try:
        binary = os.environ.get("SWEEP_TRAIN_BIN", os.path.join(REPO, ".build/release/sweep"))
        data = os.environ.get("SWEEP_DATA_DIR", os.path.join(REPO, "../shared/datasets"))
        out = subprocess.run([binary, "train", f.name, "--json", "--seed", str(seed), "--data-dir", data],
                             check=True, capture_output=True, text=True).stdout
    finally:
        os.unlink(f.name)
    lines = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    epochs, final = lines[:-1], lines[-1]
    for e in epochs:
        yield {"step": e["epoch"], "value": e["val_accuracy"]}
    test = final.get("int8_test_accuracy", final["test_accuracy"])
    yield {"values": {"val_accuracy": epochs[-1]["val_accuracy"], "model_bytes": final["model_bytes"]}, "test_accuracy": test}


if __name__ == "__main__":
    params = json.load(sys.stdin)
    for line in run(params, int(os.environ.get("SWEEP_SEED32", "0"))):
        print(json.dumps(line), flush=True)
