#!/usr/bin/python3
"""Writes a synthetic YOLOv5-layout ONNX model whose output is a known table.

    make_synthetic_yolo.py SIZE MODEL.onnx ROWS.json

The model has input `images` [1, 3, SIZE, SIZE] and output `output`
[1, N, 85] with N = 3 * ((SIZE/8)^2 + (SIZE/16)^2 + (SIZE/32)^2), the layout
of Ultralytics' exported yolov5s.onnx (25200 rows at 640). Every output row
is zero except the handful in ROWS below, so a test knows exactly what the
network says and can check decode, thresholds, NMS and the letterbox mapping
to the last bit.

OpenCV's importer folds constant subgraphs, and a graph whose output does not
depend on its input is refused or folded away. So the output is
    table + Reshape(Resize_nearest(ReduceMean(GlobalAveragePool(images)) * 0))
where Resize (with explicit `sizes`) broadcasts the 1x1x1x1 zero to
[1, 1, N, 85]: OpenCV 4.6 runs Add with a constant only when the constant is
no larger than the computed operand, and it has no Tile.

The rows are written to ROWS.json (values for the SIZE input: coordinates
below are for 320 and are scaled by SIZE/320, which is exact in float). The
JSON holds only finite numbers; non-finite values are the strings "nan",
"inf" and "-inf".

Deterministic: the same arguments give byte-identical files.
"""

import json
import math
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

COLS = 85
OPSET = 13
IR_VERSION = 7  # onnx 1.8..1.10; OpenCV 4.6 reads it

# Classes (COCO-80 ids) used below.
PERSON, BICYCLE, CAR, MOTORCYCLE, TRAFFIC_LIGHT = 0, 1, 2, 3, 9
BIRD, CAT, DOG, CUP, CHAIR, DINING_TABLE, TOOTHBRUSH = 14, 15, 16, 41, 56, 60, 79
NAN, INF = float("nan"), float("inf")

# (name, row index or "last", [cx, cy, w, h] in 320-input pixels, obj,
#  {class id: probability}). Names say what the row is for; the tests refer
# to rows by name.
ROWS = [
    # NMS within one class: B overlaps A with IoU 5400/10000 = 0.54 (> 0.45,
    # suppressed); C lies inside A with IoU 4500/10000 = 0.45 exactly (not
    # more than the threshold, so kept). At iou 0.6 B survives and then
    # suppresses C (IoU 4500/5400).
    ("A_person", 0, [160, 120, 100, 100], 0.95, {PERSON: 0.9}),
    ("B_person_iou054", 17, [160, 120, 90, 60], 0.9, {PERSON: 0.9}),
    ("C_person_iou045", 100, [160, 120, 90, 50], 0.8, {PERSON: 0.9}),
    # Same box as A, other class: class-aware NMS keeps both.
    ("D_dog_same_box_as_A", 1234, [160, 120, 100, 100], 0.9, {DOG: 0.7}),
    # Thresholds: obj below 0.25; obj high but obj * p = 0.18; exactly 0.25.
    ("E_low_obj", 2500, [50, 50, 20, 20], 0.2, {CAR: 1.0}),
    ("F_low_score", 4799, [250, 250, 30, 30], 0.9, {5: 0.2}),
    ("G_score_exactly_025", 4800, [280, 40, 40, 40], 0.5, {TRAFFIC_LIGHT: 0.5}),
    # y in [5, 25]: wholly in the top padding of a landscape image.
    ("H_bird_top_strip", 5000, [100, 15, 40, 20], 0.7, {BIRD: 0.8}),
    # x in [-10, 20]: leaves the input on the left; wholly in the left
    # padding of a portrait image.
    ("I_cup_left_strip", 400, [5, 160, 30, 30], 0.6, {CUP: 0.8}),
    # x in [270, 330]: crosses the right edge of the input, so it is clipped.
    ("J_chair_right_edge", 300, [300, 160, 60, 40], 0.6, {CHAIR: 0.9}),
    # Equal confidence 0.6: ordered by class id, then x, then y.
    ("K_car_tie", 6000, [60, 260, 20, 20], 1.0, {CAR: 0.6}),
    ("L_bicycle_tie_x250", 6100, [260, 200, 20, 20], 1.0, {BICYCLE: 0.6}),
    ("M_bicycle_tie_x210_y270", 6200, [220, 280, 20, 20], 1.0, {BICYCLE: 0.6}),
    ("N_bicycle_tie_x210_y230", 6250, [220, 240, 20, 20], 1.0, {BICYCLE: 0.6}),
    # Equal confidence and overlapping (IoU 3300/3900), same class: the
    # earlier row wins.
    ("O_table_first", 500, [80, 250, 60, 60], 1.0, {DINING_TABLE: 0.4}),
    ("P_table_second", 501, [85, 250, 60, 60], 1.0, {DINING_TABLE: 0.4}),
    # Two classes share the best probability: the lower id wins.
    ("Q_class_tie", 600, [200, 60, 30, 30], 0.8, {MOTORCYCLE: 0.8, 7: 0.8}),
    # Rows a decoder must skip: non-finite values, empty boxes, no class.
    ("R_nan_obj", 700, [100, 100, 20, 20], NAN, {PERSON: 0.9}),
    ("S_inf_cx", 701, [INF, 100, 20, 20], 0.9, {PERSON: 0.9}),
    ("T_negative_w", 702, [100, 100, -10, 20], 0.9, {PERSON: 0.9}),
    ("U_zero_h", 703, [100, 100, 20, 0], 0.9, {PERSON: 0.9}),
    ("V_nan_h", 704, [100, 100, 20, NAN], 0.9, {PERSON: 0.9}),
    ("W_no_class", 705, [100, 100, 20, 20], 0.9, {}),
    ("X_inf_class_prob", 706, [100, 100, 20, 20], 0.9, {PERSON: 0.5, CAR: INF}),
    ("Y_nan_class_prob", 707, [100, 100, 20, 20], 0.9, {PERSON: 0.5, CAR: NAN}),
    # The very last row of the output.
    ("Z_toothbrush_last_row", "last", [240, 300, 40, 20], 0.9, {TOOTHBRUSH: 0.5}),
]


def rows_total(size):
    return 3 * sum((size // s) ** 2 for s in (8, 16, 32))


def json_number(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def build(size):
    n = rows_total(size)
    k = size / 320
    table = np.zeros((1, n, COLS), np.float32)
    described = []
    seen = set()
    for name, index, box, obj, probs in ROWS:
        i = n - 1 if index == "last" else index
        assert 0 <= i < n and i not in seen, name
        seen.add(i)
        values = [v * k for v in box] + [obj] + [0.0] * (COLS - 5)
        for c, p in probs.items():
            values[5 + c] = p
        table[0, i] = np.array(values, np.float32)
        described.append({
            "name": name,
            "index": i,
            # Only the non-zero columns, as written to the table.
            "values": {str(c): json_number(float(np.float32(v)))
                       for c, v in enumerate(values) if v != 0 or math.isnan(v)},
        })

    def const(array, name):
        return numpy_helper.from_array(array, name)

    nodes = [
        helper.make_node("GlobalAveragePool", ["images"], ["pooled"]),               # 1x3x1x1
        helper.make_node("ReduceMean", ["pooled"], ["mean"], axes=[1], keepdims=1),  # 1x1x1x1
        helper.make_node("Mul", ["mean", "zero"], ["zeroed"]),
        helper.make_node("Resize", ["zeroed", "", "", "sizes"], ["spread"], mode="nearest"),
        helper.make_node("Reshape", ["spread", "shape"], ["zeros"]),                 # 1xNx85
        helper.make_node("Add", ["zeros", "table"], ["output"]),
    ]
    initializers = [
        const(np.zeros((1, 1, 1, 1), np.float32), "zero"),
        const(np.array([1, 1, n, COLS], np.int64), "sizes"),
        const(np.array([1, n, COLS], np.int64), "shape"),
        const(table, "table"),
    ]
    graph = helper.make_graph(
        nodes, f"synthetic_yolov5_{size}",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, n, COLS])],
        initializers)
    model = helper.make_model(graph, producer_name="veil-synthetic-yolo",
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    sidecar = {
        "format": "veil-synthetic-yolo-rows/1",
        "input": size,
        "rows": n,
        "cols": COLS,
        "table": described,
    }
    return model, sidecar


def main(argv):
    if len(argv) != 4 or argv[1] not in ("320", "640"):
        sys.exit(f"usage: {argv[0]} 320|640 MODEL.onnx ROWS.json")
    model, sidecar = build(int(argv[1]))
    with open(argv[2], "wb") as f:
        f.write(model.SerializeToString())
    with open(argv[3], "w", encoding="utf-8") as f:
        json.dump(sidecar, f, indent=1, sort_keys=True, allow_nan=False)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv)
