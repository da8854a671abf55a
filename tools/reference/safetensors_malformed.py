#!/usr/bin/env python3
"""Generates the bad-input corpus fixtures/safetensors/malformed/ (Python stdlib only).

Each file breaks exactly one rule of the safetensors format; CheckpointsTests/MalformedCorpusTests
asserts the specific CheckpointError for each. The folders shard_* are checkpoint folders whose
shard index is wrong. Run: python3 tools/reference/safetensors_malformed.py
"""
import json
import os
import shutil
import struct

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "safetensors", "malformed"))


def header_bytes(header):
    if isinstance(header, (dict, list)):
        header = json.dumps(header, separators=(",", ":"))
    if isinstance(header, str):
        header = header.encode("utf-8")
    return header


def safetensors(header, data=b"", length=None):
    h = header_bytes(header)
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def entry(dtype, shape, begin, end):
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


F32x2 = struct.pack("<2f", 1.0, 2.0)

FILES = {
    # framing
    "empty.safetensors": b"",
    "too_small.safetensors": b"\x08\x00\x00",
    "header_past_eof.safetensors": safetensors({"a": entry("F32", [2], 0, 8)}, F32x2, length=4096),
    "absurd_header_length.safetensors": safetensors("{}", length=2**63 + 7),
    "truncated_header.safetensors": safetensors({"a": entry("F32", [2], 0, 8)}, F32x2)[:30],
    "truncated_data.safetensors": safetensors({"a": entry("F32", [2], 0, 8)}, F32x2)[:-3],
    # header JSON
    "invalid_json.safetensors": safetensors('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]'),
    "invalid_number.safetensors": safetensors('{"a":{"dtype":"F32","shape":[-],"data_offsets":[0,0]}}'),
    "trailing_json.safetensors": safetensors('{} {}'),
    "deep_nesting.safetensors": safetensors('{"__metadata__":' + "[" * 200 + "]" * 200 + "}"),
    "non_object_json.safetensors": safetensors('[1, 2, 3]'),
    "non_utf8_header.safetensors": safetensors(b'{"a\xff\xfe":' + json.dumps(entry("F32", [2], 0, 8)).encode() + b"}", F32x2),
    "duplicate_names.safetensors": safetensors('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                               '"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', F32x2),
    "duplicate_field.safetensors": safetensors('{"a":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}', F32x2),
    # entries
    "entry_not_object.safetensors": safetensors({"a": [0, 8]}, F32x2),
    "entry_missing_offsets.safetensors": safetensors({"a": {"dtype": "F32", "shape": [2]}}, F32x2),
    "entry_unknown_field.safetensors": safetensors({"a": {**entry("F32", [2], 0, 8), "strides": [1]}}, F32x2),
    "metadata_not_strings.safetensors": safetensors({"__metadata__": {"epochs": 3}, "a": entry("F32", [2], 0, 8)}, F32x2),
    "unknown_dtype.safetensors": safetensors({"a": entry("F128", [2], 0, 8)}, F32x2),
    "negative_shape.safetensors": safetensors({"a": entry("F32", [-2], 0, 8)}, F32x2),
    "fractional_shape.safetensors": safetensors('{"a":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}}', F32x2),
    "overflowing_shape.safetensors": safetensors({"a": entry("F32", [2**32, 2**32], 0, 8)}, F32x2),
    "overflowing_bytes.safetensors": safetensors({"a": entry("F64", [2**31, 2**31], 0, 8)}, F32x2),
    "length_dtype_mismatch.safetensors": safetensors({"a": entry("F16", [2], 0, 8)}, F32x2),
    "reversed_offsets.safetensors": safetensors({"a": entry("F32", [0], 8, 4)}, F32x2),
    # data layout
    "out_of_bounds.safetensors": safetensors({"a": entry("F32", [2], 0, 8), "b": entry("F32", [2], 8, 16)}, F32x2),
    "overlapping.safetensors": safetensors({"a": entry("F32", [2], 0, 8), "b": entry("F32", [1], 4, 8)}, F32x2),
    "gapped_offsets.safetensors": safetensors({"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 8, 12)}, F32x2 + F32x2[:4]),
    "gap_at_start.safetensors": safetensors({"a": entry("F32", [1], 4, 8)}, F32x2),
    "trailing_bytes.safetensors": safetensors({"a": entry("F32", [1], 0, 4)}, F32x2),
}

GOOD_SHARD = safetensors({"a": entry("F32", [2], 0, 8)}, F32x2)
CONFIG = {"model_type": "llama", "architectures": ["LlamaForCausalLM"]}
FOLDERS = {
    "shard_missing_file": {"model-00001-of-00002.safetensors": GOOD_SHARD,
                           "index": {"a": "model-00001-of-00002.safetensors", "b": "model-00002-of-00002.safetensors"}},
    "shard_missing_tensor": {"model-00001-of-00001.safetensors": GOOD_SHARD,
                             "index": {"a": "model-00001-of-00001.safetensors", "b": "model-00001-of-00001.safetensors"}},
    "shard_unlisted_tensor": {"model-00001-of-00001.safetensors": safetensors(
        {"a": entry("F32", [1], 0, 4), "b": entry("F32", [1], 4, 8)}, F32x2),
                              "index": {"a": "model-00001-of-00001.safetensors"}},
    "shard_outside_folder": {"index": {"a": "../truncated_data.safetensors"}},
    "shard_index_not_object": {"index_text": "[]"},
    "shard_bad_inside": {"model-00001-of-00001.safetensors": safetensors({"a": entry("BF8", [2], 0, 8)}, F32x2),
                         "index": {"a": "model-00001-of-00001.safetensors"}},
}


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    for name, data in FILES.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    for folder, spec in FOLDERS.items():
        path = os.path.join(OUT, folder)
        os.makedirs(path)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(CONFIG, f)
        with open(os.path.join(path, "model.safetensors.index.json"), "w") as f:
            f.write(spec.pop("index_text", None) or json.dumps({"metadata": {"total_size": 8}, "weight_map": spec.pop("index")}, indent=1))
        for shard, data in spec.items():
            with open(os.path.join(path, shard), "wb") as f:
                f.write(data)
    print(f"wrote {len(FILES)} files and {len(FOLDERS)} folders to {OUT}")


if __name__ == "__main__":
    main()
