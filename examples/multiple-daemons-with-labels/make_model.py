"""The detector's build step: writes the model (here, a brightness threshold) it loads."""
import json

with open("model.json", "w") as f:
    json.dump({"threshold": 60}, f)
print("model.json written (threshold 60)")
