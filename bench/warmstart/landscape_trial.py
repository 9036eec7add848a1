"""A command trial that looks its value up in a recorded landscape (sweep-bench
record-landscape): reads the trial's parameters (SWEEP_PARAMS, external values) and prints the
recorded val_loss as its final value. LANDSCAPE names the table; the space's parameter names are
the table's columns with '.' written as '_'."""
import json
import os
import sys

table = json.load(open(os.environ["LANDSCAPE"]))
params = json.loads(os.environ["SWEEP_PARAMS"])
columns = [c for c in table["columns"] if c not in ("val_loss", "val_accuracy", "test_accuracy")]
key = [params[c.replace(".", "_")] for c in columns]
for row in table["rows"]:
    if row[:len(columns)] == key:
        loss = row[table["columns"].index("val_loss")]
        print(json.dumps({"value": loss if loss is not None else 1e9}))
        sys.exit(0)
print(f"no row for {key}", file=sys.stderr)
sys.exit(3)
