"""A PyTorch trial that continues where an interrupted attempt stopped: it saves a checkpoint in
SWEEP_CHECKPOINT_DIR after every epoch and loads it when present (search-spaces/command-resume.yaml).
The data is synthetic (10 classes, 64 features), so the example needs torch only."""
import json, os, sys

import torch

params = json.load(sys.stdin)                                   # {"lr": ..., "width": ...}
seed, epochs = int(os.environ["SWEEP_SEED32"]), int(os.environ["SWEEP_MAX_EPOCHS"])
torch.set_num_threads(1)
data = torch.Generator().manual_seed(0)
centers = torch.randn(10, 64, generator=data)
y = torch.randint(0, 10, (7000,), generator=data)
x = centers[y] + 2.5 * torch.randn(7000, 64, generator=data)
(xt, yt), (xv, yv) = (x[:6000], y[:6000]), (x[6000:], y[6000:])

torch.manual_seed(seed)
model = torch.nn.Sequential(torch.nn.Linear(64, params["width"]), torch.nn.ReLU(), torch.nn.Linear(params["width"], 10))
opt = torch.optim.Adam(model.parameters(), lr=params["lr"])
path = os.path.join(os.environ["SWEEP_CHECKPOINT_DIR"], "last.pt")
start, curve = 0, []
if os.path.exists(path):                                        # an earlier attempt's last epoch
    ck = torch.load(path)
    model.load_state_dict(ck["model"]); opt.load_state_dict(ck["opt"])
    start, curve = ck["epoch"], ck["curve"]
    print(json.dumps({"resumed_from_epoch": start}))
    for step, value in enumerate(curve, 1):                     # the stored epochs again
        print(json.dumps({"step": step, "value": value}))
for epoch in range(start + 1, epochs + 1):
    order = torch.randperm(len(xt), generator=torch.Generator().manual_seed(seed * 1000 + epoch))
    model.train()
    for i in range(0, len(xt), 32):
        batch = order[i:i + 32]
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(xt[batch]), yt[batch]).backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        value = (model(xv).argmax(1) == yv).float().mean().item()
    curve.append(value)
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "epoch": epoch, "curve": curve}, path + ".tmp")
    os.replace(path + ".tmp", path)                             # atomic: never half a checkpoint
    print(json.dumps({"step": epoch, "value": value}), flush=True)
print(json.dumps({"value": curve[-1]}))
