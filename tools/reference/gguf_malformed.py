#!/usr/bin/env python3
"""Generates the bad-input corpus fixtures/gguf/malformed/ (Python stdlib only).

Each file breaks exactly one rule of the GGUF format (ggml docs/gguf.md, llama.cpp gguf.cpp);
CheckpointsTests/GGUFTests asserts the specific CheckpointError for each.
Run: python3 tools/reference/gguf_malformed.py
"""
import os
import struct

OUT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "fixtures", "gguf", "malformed"))

UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
F32, F16, Q4_0 = 0, 1, 2


def string(s):
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def kv(key, vtype, payload):
    return string(key) + struct.pack("<I", vtype) + payload


def tensor(name, dims, ggml_type, offset):
    return string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ggml_type, offset)


ARCH = kv("general.architecture", STRING, string("llama"))


def gguf(kvs=(ARCH,), tensors=(), data=b"", magic=b"GGUF", version=3, n_tensors=None, n_kv=None, alignment=32, pad=True):
    head = magic + struct.pack("<IQQ", version, len(tensors) if n_tensors is None else n_tensors, len(kvs) if n_kv is None else n_kv)
    body = head + b"".join(kvs) + b"".join(tensors)
    if pad:
        body += b"\0" * (-len(body) % alignment)
    return body + data


A = tensor("a", [8], F32, 0)
DATA = struct.pack("<8f", *range(8))
VALID = gguf(tensors=[A], data=DATA)


def nested(depth):
    """An array nested `depth` levels deep, innermost one uint8."""
    payload = struct.pack("<IQ", UINT8, 1) + b"\x07"
    for _ in range(depth - 1):
        payload = struct.pack("<IQ", ARRAY, 1) + payload
    return payload


FILES = {
    # framing
    "empty.gguf": b"",
    "bad_magic.gguf": gguf(magic=b"GGML", tensors=[A], data=DATA),
    "unsupported_version.gguf": gguf(version=1, tensors=[A], data=DATA),
    "truncated_header.gguf": VALID[:10],
    "truncated_tensor_info.gguf": VALID[:len(gguf(pad=False)) + 20],
    # counts and lengths that cannot fit
    "tensor_count_overflow.gguf": gguf(n_tensors=2**63, tensors=[A], data=DATA),
    "kv_count_overflow.gguf": gguf(n_kv=2**40, tensors=[A], data=DATA),
    "key_past_end.gguf": gguf(kvs=[struct.pack("<Q", 1000) + b"general.name"], pad=False),
    "string_past_end.gguf": gguf(kvs=[kv("general.name", STRING, struct.pack("<Q", 2**62) + b"tiny")], pad=False),
    "array_past_end.gguf": gguf(kvs=[kv("tokenizer.ggml.scores", ARRAY, struct.pack("<IQ", FLOAT32, 2**40) + b"\0" * 16)], pad=False),
    "padding_past_end.gguf": gguf(tensors=[tensor("a", [0], F32, 0)], pad=False),
    # metadata
    "duplicate_key.gguf": gguf(kvs=[ARCH, ARCH], tensors=[A], data=DATA),
    "empty_key.gguf": gguf(kvs=[kv("", UINT8, b"\1")]),
    "non_utf8_key.gguf": gguf(kvs=[kv(b"general.\xff", UINT8, b"\1")]),
    "unknown_value_type.gguf": gguf(kvs=[kv("general.x", 13, b"\0" * 8)]),
    "unknown_array_type.gguf": gguf(kvs=[kv("general.x", ARRAY, struct.pack("<IQ", 99, 1) + b"\0" * 8)]),
    "bad_bool.gguf": gguf(kvs=[kv("general.flag", BOOL, b"\x02")]),
    "nested_too_deep.gguf": gguf(kvs=[kv("general.deep", ARRAY, nested(9))]),
    "alignment_not_power_of_two.gguf": gguf(kvs=[ARCH, kv("general.alignment", UINT32, struct.pack("<I", 48))], tensors=[A], data=DATA, alignment=48),
    "alignment_zero.gguf": gguf(kvs=[kv("general.alignment", UINT32, struct.pack("<I", 0))]),
    "alignment_wrong_type.gguf": gguf(kvs=[kv("general.alignment", UINT64, struct.pack("<Q", 32))]),
    # tensor infos
    "duplicate_tensor_name.gguf": gguf(tensors=[A, tensor("a", [8], F32, 32)], data=DATA * 2),
    "name_too_long.gguf": gguf(tensors=[tensor("w" * 64, [8], F32, 0)], data=DATA),
    "unknown_type.gguf": gguf(tensors=[tensor("a", [32], 4, 0)], data=b"\0" * 32),
    "too_many_dims.gguf": gguf(tensors=[tensor("a", [1, 1, 1, 1, 8], F32, 0)], data=DATA),
    "shape_overflow.gguf": gguf(tensors=[tensor("a", [2**32, 2**32], F32, 0)], data=DATA),
    "row_not_whole_blocks.gguf": gguf(tensors=[tensor("a", [33, 2], Q4_0, 0)], data=b"\0" * 64),
    # data section
    "misaligned_offset.gguf": gguf(tensors=[tensor("a", [8], F32, 4)], data=DATA + b"\0" * 4),
    "data_past_end.gguf": gguf(tensors=[tensor("a", [16], F32, 0)], data=DATA),
    "offset_past_end.gguf": gguf(tensors=[A, tensor("b", [8], F32, 2**62)], data=DATA),
    "overlapping_tensors.gguf": gguf(tensors=[tensor("a", [16], F32, 0), tensor("b", [8], F32, 32)], data=DATA * 2),
}


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    for name, data in FILES.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
        print(f"{name}: {len(data)} bytes")
