#!/usr/bin/env python3
"""Turns the Kubernetes JSON schemas bundled in the PyPI package kubernetes-validate into
kubeconform's standalone schema files (one self-contained file per kind, no network).

usage: gen-schemas.py KUBERNETES_VALIDATE_PKG_DIR VERSION OUT_DIR
  e.g. gen-schemas.py .../kubernetes_validate v1.37.0 .../v1.37.0-standalone-strict

kubernetes-validate ships <version>-local-strict/: files named like kubeconform's
(deployment-apps-v1.json) whose $refs point into a shared _definitions.json. Each output file
gets exactly the definitions it reaches, under its own $defs, with the $refs made local.
"""
import json
import os
import sys

PREFIX = "/api/_definitions.json#/$defs/"


def refs(node, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.add(v)
            else:
                refs(v, out)
    elif isinstance(node, list):
        for v in node:
            refs(v, out)


def localise(node):
    if isinstance(node, dict):
        return {k: (("#/$defs/" + v[len(PREFIX):]) if k == "$ref" and isinstance(v, str) and v.startswith(PREFIX)
                    else localise(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [localise(v) for v in node]
    return node


def name_of(ref):
    for p in (PREFIX, "#/$defs/"):
        if ref.startswith(p):
            return ref[len(p):]
    raise SystemExit("gen-schemas: unexpected $ref %r" % ref)


def main():
    pkg, version, out = sys.argv[1:4]
    src = os.path.join(pkg, "kubernetes-json-schema", version + "-local-strict")
    with open(os.path.join(src, "_definitions.json")) as f:
        defs = json.load(f)["$defs"]
    os.makedirs(out, exist_ok=True)
    n = 0
    for fn in sorted(os.listdir(src)):
        if not fn.endswith(".json") or fn == "_definitions.json":
            continue
        with open(os.path.join(src, fn)) as f:
            schema = json.load(f)
        need, todo = set(), set()
        refs(schema, todo)
        while todo:
            name = name_of(todo.pop())
            if name in need:
                continue
            need.add(name)
            refs(defs[name], todo)
        schema = localise(schema)
        schema.pop("$id", None)
        if need:
            schema["$defs"] = {k: localise(defs[k]) for k in sorted(need)}
        with open(os.path.join(out, fn), "w") as f:
            json.dump(schema, f, separators=(",", ":"), sort_keys=True)
        n += 1
    if n < 100:
        raise SystemExit("gen-schemas: only %d schemas in %s" % (n, src))
    print("gen-schemas: %d schemas in %s" % (n, out), file=sys.stderr)


if __name__ == "__main__":
    main()
