"""Time the full effects run (every lever x target, default bootstrap and permutations) on the embedded panel.

    python bench/bench_effects.py            # prints the wall time and the table
"""

import time
import warnings

warnings.filterwarnings("ignore")

if __name__ == "__main__":
    started = time.perf_counter()
    import hallyu_forecast as hf

    panel = hf.load_panel()
    res = hf.effects(panel=panel, seed=0)
    total = time.perf_counter() - started
    cols = ["lever", "target", "estimate", "ci_lo", "ci_hi", "n_treated", "pretrend_p", "placebo_p", "verdict"]
    print(res.table[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"\neffects(): {res.seconds:.1f} s ({len(res.table)} lever x target rows); with imports and panel load "
          f"{total:.1f} s (goal < 120 s on 2 cores)")
