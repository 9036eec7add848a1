"""The README's example of a user training command (search-spaces/command-example.yaml)."""
import json, math, sys, time

params = json.load(sys.stdin)                 # {"act": ..., "layers": ..., "lr": ...}
lr, layers = params["lr"], params["layers"]
epochs = int(sys.argv[sys.argv.index("--epochs") + 1])
loss = 2.0
for epoch in range(1, epochs + 1):
    loss = loss * (1 - min(lr * 10, 0.5)) + 0.01 * layers + abs(math.log10(lr) + 2.5) * 0.01
    print(f"epoch {epoch}: loss {loss:.4f}")                           # a log line
    print(json.dumps({"step": epoch, "value": loss}), flush=True)     # one report per epoch
print(json.dumps({"value": loss}))                                     # the trial's result
