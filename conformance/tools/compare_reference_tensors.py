#!/usr/bin/env python3
"""Compares two reference tensor files (tensors.safetensors of two case folders), tensor by tensor.

Prints, for every tensor, the max absolute difference and the relative error ||a - b|| / ||b|| (b = the second file,
the one taken as the reference), then the worst of each. Exits with status 1 when a tensor is missing from one file,
has another shape, or exceeds --max-abs. Needs only numpy and safetensors (no torch).

    python3 conformance/tools/compare_reference_tensors.py NEW/tensors.safetensors conformance/cases/tiny/tensors.safetensors
"""

import argparse
import sys

import numpy as np
from safetensors.numpy import load_file


def compare(new_path, ref_path, max_abs, quiet=False):
    new = load_file(new_path)
    ref = load_file(ref_path)
    problems = []
    for name in sorted(set(ref) - set(new)):
        problems.append(f"missing in {new_path}: {name}")
    for name in sorted(set(new) - set(ref)):
        problems.append(f"not in the reference {ref_path}: {name}")

    worst_abs = (0.0, None)
    worst_rel = (0.0, None)
    for name in sorted(set(new) & set(ref)):
        a = new[name].astype(np.float64)
        b = ref[name].astype(np.float64)
        if a.shape != b.shape:
            problems.append(f"{name}: shape {list(a.shape)} != reference {list(b.shape)}")
            continue
        abs_err = float(np.max(np.abs(a - b))) if a.size else 0.0
        norm = float(np.linalg.norm(b))
        rel_err = float(np.linalg.norm(a - b)) / norm if norm > 0 else float(np.linalg.norm(a))
        if not quiet:
            print(f"{name:45s} {str(list(a.shape)):22s} max_abs {abs_err:.3e}  rel {rel_err:.3e}")
        if abs_err >= worst_abs[0]:
            worst_abs = (abs_err, name)
        if rel_err >= worst_rel[0]:
            worst_rel = (rel_err, name)
        if not abs_err <= max_abs:
            problems.append(f"{name}: max abs difference {abs_err:.3e} > {max_abs:.1e}")

    print(f"compared {len(set(new) & set(ref))} tensors; worst max_abs {worst_abs[0]:.3e} ({worst_abs[1]}), "
          f"worst rel {worst_rel[0]:.3e} ({worst_rel[1]})")
    for p in problems:
        print("PROBLEM:", p)
    return not problems


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("new", help="tensors.safetensors to check")
    p.add_argument("reference", help="tensors.safetensors taken as the reference")
    p.add_argument("--max-abs", type=float, default=1e-4, help="largest accepted absolute difference per element")
    p.add_argument("--quiet", action="store_true", help="print only the summary and problems")
    args = p.parse_args(argv)
    return 0 if compare(args.new, args.reference, args.max_abs, args.quiet) else 1


if __name__ == "__main__":
    sys.exit(main())
