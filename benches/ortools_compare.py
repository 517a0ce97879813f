#!/usr/bin/env python3
"""Side by side: xcert's proctor assignment against Google OR-Tools on the same instances.

Generates the two benchmark instances of issue 4 with the crate's own generator
(`cargo run --release -p xcert-proctor --example proctor_instance -- small|medium`), then
solves each with

  * OR-Tools min-cost flow (SimpleMinCostFlow, max flow with min cost): the explicit network
    source -> proctor -> (proctor, slot) -> room ext/open seats -> sink, with convex costs on
    the source -> proctor arcs (the j-th room of a proctor costs j) so loads are balanced;
  * OR-Tools CP-SAT: a boolean per eligible (proctor, room), exactly k per room, at least m
    external, one room per proctor per slot, max_rooms, minimise the largest load;
  * `xcert proctors assign --json` (the whole CLI process: start-up, JSON parsing,
    validation, solve, output).

and prints the times and the ratios (also for two tight variants with fewer proctors), and checks that CP-SAT's optimal largest load equals
xcert's (xcert claims an optimally balanced assignment). The generated slots never overlap,
so "one room per proctor per slot" is the whole overlap rule here.

Run from the workspace root:  python3 benches/ortools_compare.py
Needs `pip install ortools`. XCERT_BIN overrides the binary (default target/release/xcert,
then $CARGO_TARGET_DIR/release/xcert)."""
import json
import os
import subprocess
import sys
import tempfile
import time

from ortools.graph.python import min_cost_flow
from ortools.sat.python import cp_model

TARGET = os.environ.get("CARGO_TARGET_DIR", "target")


def binary():
    for path in (os.environ.get("XCERT_BIN"), "target/release/xcert", os.path.join(TARGET, "release/xcert")):
        if path and os.path.exists(path):
            return path
    sys.exit("build first: cargo build --release -p xcert")


def generate(shape, proctors=None):
    extra = [str(proctors)] if proctors else []
    out = subprocess.run(
        ["cargo", "run", "--quiet", "--release", "-p", "xcert-proctor", "--example", "proctor_instance", "--", shape, "1"] + extra,
        check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def eligible_pairs(inst):
    """(proctor index, room index, external) for every pair the rules allow, loads aside."""
    slots = {s["id"]: s for s in inst["slots"]}
    cands = {c["id"]: c for c in inst["candidates"]}
    school_avoid = inst["policy"].get("avoidance", "taught") == "school"
    pairs = []
    for r, room in enumerate(inst["rooms"]):
        day = slots[room["slot"]]["start"][:10]
        members = [cands[c] for c in room["candidates"]]
        ids = {c["id"] for c in members}
        classes = {c.get("class") for c in members}
        schools = {c["school"] for c in members}
        for p, t in enumerate(inst["proctors"]):
            if t.get("available") is not None and room["slot"] not in t["available"]:
                continue
            if t.get("qualified_until") and t["qualified_until"] < day:
                continue
            if ids.intersection(t.get("students", [])) or classes.intersection(t.get("classes", [])):
                continue
            if school_avoid and t["school"] in schools:
                continue
            pairs.append((p, r, t["school"] != room["site"]))
    return pairs


def solve_min_cost_flow(inst, pairs):
    k = inst["policy"]["proctors_per_room"]
    m = inst["policy"].get("min_external", 0)
    P, R = len(inst["proctors"]), len(inst["rooms"])
    slot_index = {s["id"]: i for i, s in enumerate(inst["slots"])}
    S = len(slot_index)
    source, sink = 0, 1
    proctor = lambda p: 2 + p
    unit = lambda p, s: 2 + P + p * S + s
    seat = lambda r, ext: 2 + P + P * S + 2 * r + (0 if ext else 1)
    t0 = time.perf_counter()
    f = min_cost_flow.SimpleMinCostFlow()
    tails, heads, caps, costs = [], [], [], []

    def arc(a, b, cap, cost):
        tails.append(a); heads.append(b); caps.append(cap); costs.append(cost)

    for p, t in enumerate(inst["proctors"]):
        limit = min(t.get("max_rooms") or S, S)
        for j in range(1, limit + 1):
            arc(source, proctor(p), 1, j)  # convex: the j-th room costs j
        for s in range(S):
            arc(proctor(p), unit(p, s), 1, 0)
    for p, r, ext in pairs:
        s = slot_index[inst["rooms"][r]["slot"]]
        arc(unit(p, s), seat(r, False), 1, 0)
        if ext:
            arc(unit(p, s), seat(r, True), 1, 0)
    first_sink_arc = len(tails)
    for r in range(R):
        arc(seat(r, True), sink, m, 0)
        arc(seat(r, False), sink, k - m, 0)
    f.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    f.set_node_supply(source, k * R)
    f.set_node_supply(sink, -k * R)
    built = time.perf_counter()
    status = f.solve_max_flow_with_min_cost()
    done = time.perf_counter()
    assert status == f.OPTIMAL, status
    flow = sum(f.flow(i) for i in range(first_sink_arc, len(tails)))
    return {"build": built - t0, "solve": done - built, "flow": flow, "demand": k * R, "arcs": len(tails)}


def solve_cp_sat(inst, pairs):
    k = inst["policy"]["proctors_per_room"]
    m = inst["policy"].get("min_external", 0)
    t0 = time.perf_counter()
    model = cp_model.CpModel()
    x = {(p, r): model.new_bool_var(f"x{p}_{r}") for p, r, _ in pairs}
    by_room, by_proctor, by_proctor_slot = {}, {}, {}
    for p, r, ext in pairs:
        by_room.setdefault(r, []).append((x[p, r], ext))
        by_proctor.setdefault(p, []).append(x[p, r])
        by_proctor_slot.setdefault((p, inst["rooms"][r]["slot"]), []).append(x[p, r])
    for r in range(len(inst["rooms"])):
        row = by_room.get(r, [])
        model.add(sum(v for v, _ in row) == k)
        model.add(sum(v for v, ext in row if ext) >= m)
    for vs in by_proctor_slot.values():
        model.add_at_most_one(vs)
    top = model.new_int_var(0, len(inst["slots"]), "max_load")
    for p, vs in by_proctor.items():
        cap = inst["proctors"][p].get("max_rooms")
        if cap is not None:
            model.add(sum(vs) <= cap)
        model.add(sum(vs) <= top)
    model.minimize(top)
    built = time.perf_counter()
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = 120
    solver.parameters.num_workers = 2
    status = solver.solve(model)
    done = time.perf_counter()
    return {"build": built - t0, "solve": done - built, "status": solver.status_name(status),
            "max_load": int(solver.objective_value) if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) else None}


def run_xcert(path, runs=5):
    times, out = [], None
    for seed in range(1, runs + 1):
        t0 = time.perf_counter()
        p = subprocess.run([binary(), "proctors", "assign", "--input", path, "--seed", str(seed), "--json"],
                           capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
    return {"wall": sorted(times)[len(times) // 2], "max_load": out["load"]["max"]}


def main():
    print(f"{'instance':12} {'arcs':>8} | {'xcert CLI':>9} | {'MCF solve':>9} {'MCF all':>8} | {'CP-SAT solve':>12} {'CP-SAT all':>10} | "
          f"{'MCF/xcert':>9} {'SAT/xcert':>9} | max load xcert / CP-SAT")
    # The two instances of issue 4, then tight variants with so few proctors that loads of 3
    # are needed, to cross-check the balance against CP-SAT's proven optimum.
    for shape, proctors in (("small", None), ("medium", None), ("small", 45), ("medium", 110)):
        inst = generate(shape, proctors)
        name = shape if proctors is None else f"{shape}/{proctors}p"
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump(inst, fh)
        t0 = time.perf_counter()
        pairs = eligible_pairs(inst)
        elig = time.perf_counter() - t0
        x = run_xcert(fh.name)
        mcf = solve_min_cost_flow(inst, pairs)
        sat = solve_cp_sat(inst, pairs)
        os.unlink(fh.name)
        assert mcf["flow"] == mcf["demand"], "min-cost flow found the instance infeasible"
        mcf_all = elig + mcf["build"] + mcf["solve"]
        sat_all = elig + sat["build"] + sat["solve"]
        print(f"{name:12} {mcf['arcs']:>8} | {x['wall'] * 1e3:7.1f}ms | {mcf['solve'] * 1e3:7.1f}ms {mcf_all * 1e3:6.0f}ms | "
              f"{sat['solve'] * 1e3:10.1f}ms {sat_all * 1e3:8.0f}ms | {mcf['solve'] / x['wall']:9.2f} {sat['solve'] / x['wall']:9.2f} | "
              f"{x['max_load']} / {sat['max_load']} ({sat['status']})")
        if sat["max_load"] is not None and sat["status"] == "OPTIMAL" and sat["max_load"] != x["max_load"]:
            print(f"  MISMATCH: xcert's largest load {x['max_load']} is not CP-SAT's optimum {sat['max_load']}")
            sys.exit(1)
    print("ratios are OR-Tools solve time (model already built) / xcert whole CLI process (median of 5 seeds)")


if __name__ == "__main__":
    main()
